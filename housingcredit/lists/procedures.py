"""The joint-punishment procedure (失信联合惩戒程序, HB 六; SPEC §7): opening with its risk notice (催告),
publicity (公示), listing (列入名单), grounds attached while it is open, and its end.

The list engine (`lists.engine`) owns the schedule: from the procedure's facts — its opening, the grounds attached
to it, the steps taken (procedure_steps), the ends written, the household's records and the objections
(`common.objection_facts`) — it gives each procedure's state, its next step and that step's earliest date, pauses
included. This module only appends facts (steps, ends, attached grounds) and writes the cached columns of
`procedures` from the engine's answer (`procedure_schedule`, the one adapter: the services, `flask credit verify`
and `flask credit rebuild` all use it).

Choice (SPEC §7, documented in the README): the clock steps happen automatically on their earliest date — the
daily job moves a procedure to publicity and to listed on the dates the engine gives (a clock stopped by a pending
objection moves them) — an automatic step is dated the day it is taken, never back-dated. A caseworker may act
later than the earliest date, never earlier. The end is dated as the engine dates it (the day after the term, the
day the last standing ground fell).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Iterable

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload, selectinload

from ..accounts import gate
from ..accounts.models import User
from ..archives.models import Household
from ..audit import service as audit
from ..clock import get_clock, working_days_warning
from ..errors import Conflict, InvalidInput, NotFound
from ..extensions import db
from ..records.models import Evidence, Record
from ..scoring import service as scoring
from ..validation import load
from . import common
from .common import (
    _household,
    END_REASON_LABELS,
    ENDED,
    LISTED,
    NEXT_STEP,
    OPENED,
    PUBLICITY,
    ROUTE_LABELS,
    STEP_LABELS,
    _gated,
    _notice,
    _push,
    _readable,
    _rules,
    _today,
)
from .engine import (
    STATEMENT,
    STATEMENT_CONTINUED,
    EndFact,
    ObjectionFact,
    OpeningFact,
    ProcedureFacts,
    ProcedureState,
    StepFact,
    procedure_clock,
)
from .engine import procedure_schedule as engine_schedule
from .models import Procedure, ProcedureGround, ProcedureStep
from .schemas import ProcedureIn, StepIn

# ---- facts for the engine ----------------------------------------------------------------------------------------

STEP_FACTS = (PUBLICITY, LISTED, STATEMENT, STATEMENT_CONTINUED)  # the steps the engine reads as StepFact
SCHEDULE_FIELDS = ("state", "next_date", "window_end", "listed_date", "listed_through")


def opening_fact(p) -> OpeningFact:
    """The procedure's opening (anything with id, opened_date, route, record_id, order_id)."""
    return OpeningFact(date=p.opened_date, route=p.route, record_id=p.record_id, id=p.id, order_id=p.order_id)


def ground_facts(grounds: Iterable) -> tuple[OpeningFact, ...]:
    """The grounds attached to a procedure (SPEC §7 one at a time), as the openings they would have been."""
    return tuple(OpeningFact(date=g.attached_date, route=g.route, record_id=g.record_id, id=f"ground {g.id}",
                             order_id=g.order_id) for g in grounds)


def _step_facts(procedure_id, steps: Iterable) -> tuple[list[StepFact], list[EndFact]]:
    taken, ends = [], []
    for s in steps:
        if s.step == ENDED:
            ends.append(EndFact(procedure_id=procedure_id, date=s.step_date, reason=s.reason or ""))
        elif s.step in STEP_FACTS:
            taken.append(StepFact(procedure_id=procedure_id, step=s.step, date=s.step_date))
    return taken, ends


def facts_of(procedures: Iterable[Procedure], objections: Iterable[ObjectionFact] = ()) -> ProcedureFacts:
    """The engine's procedure facts of these procedures (their steps and attached grounds loaded)."""
    openings, steps, ends = [], [], []
    for p in procedures:
        openings.append(opening_fact(p))
        openings.extend(ground_facts(p.attached))
        taken, ended = _step_facts(p.id, p.steps)
        steps += taken
        ends += ended
    return ProcedureFacts(openings=tuple(openings), steps=tuple(steps), ends=tuple(ends),
                          objections=tuple(objections))


def procedures_of(household_ids, *, joined: bool = False) -> dict[int, list[Procedure]]:
    """The households' procedures, oldest first, with their steps and attached grounds: three SELECTs, or with
    `joined` one (steps and grounds joined in — for one household, whose few rows multiply cheaply)."""
    out: dict[int, list[Procedure]] = {hid: [] for hid in household_ids}
    if out:
        load = joinedload if joined else selectinload
        result = db.session.scalars(sa.select(Procedure).where(Procedure.household_id.in_(list(out)))
                                    .options(load(Procedure.steps), load(Procedure.attached))
                                    .order_by(Procedure.id))
        for p in (result.unique() if joined else result):
            out[p.household_id].append(p)
    return out


def procedure_facts(household_id: int, objections: Iterable[ObjectionFact] | None = None) -> ProcedureFacts:
    """Everything known of the household's procedures, for the engine (`derive_lists`, `measures_on`): openings,
    attached grounds, steps, ends (one SELECT), and the objections (from `common.objection_facts` unless
    given)."""
    if objections is None:
        objections = common.objection_facts(household_id)
    return facts_of(procedures_of([household_id], joined=True)[household_id], objections)


# ---- the engine's answer and the cached columns --------------------------------------------------------------

@dataclass(frozen=True)
class Schedule:
    """The cached columns of a procedure, as the engine gives them from the facts."""

    state: str
    next_date: date | None
    window_end: date | None
    listed_date: date | None
    listed_through: date | None


def engine_state(p, steps: Iterable, rules=None, *, records=(), objections=(), attached=(),
                 as_of: date | None = None) -> ProcedureState:
    """The engine's answer for one stored procedure on `as_of` (today): only the steps actually taken count
    (`automatic_steps=False`: the daily job takes them, on the dates this answer gives)."""
    taken, ends = _step_facts(p.id, steps)
    return engine_schedule(opening_fact(p), rules or _rules(), as_of or _today(), records=records, steps=taken,
                           ends=ends, objections=objections, attached=attached, automatic_steps=False)


def schedule_of(state: ProcedureState) -> Schedule:
    """The cached columns from the engine's answer: the state, the next step's earliest date (None once ended or
    while a pending objection stops the clock), the current window's last day (response, publicity, term)."""
    listed = next((d for step, d in state.taken if step == LISTED), None)
    through = state.listed_through if listed else None
    if state.state == ENDED:
        return Schedule(ENDED, None, None, listed, through)
    if state.state == LISTED:
        return Schedule(LISTED, state.next_date, state.listed_through, listed, through)
    if state.state == PUBLICITY:
        return Schedule(PUBLICITY, state.next_date, state.publicity_end, None, None)
    return Schedule(OPENED, state.next_date, state.response_due, None, None)


def procedure_schedule(p, steps: Iterable, rules=None, *, records=(), objections=(), attached=(),
                       as_of: date | None = None) -> Schedule:
    """The procedure's `state / next_date / window_end / listed_date / listed_through` — the engine's answer from
    its opening, its dated steps (anything with `.step`, `.step_date`, `.reason`), the grounds attached, the
    household's records and objections: taking a step writes this, `flask credit rebuild` rewrites it,
    `flask credit verify` compares with it."""
    return schedule_of(engine_state(p, steps, rules, records=records, objections=objections, attached=attached,
                                     as_of=as_of))


def step_due(state: ProcedureState, today: date) -> str | None:
    """The step the daily job takes on `today` by the engine's answer: the end it gives, else publicity or listed
    once its earliest date has come; None while a pending objection stops the clock or the date is still ahead."""
    if state.end is not None:
        return ENDED
    if state.next_step in (PUBLICITY, LISTED) and state.next_date is not None and state.next_date <= today:
        return state.next_step
    return None


def _write_schedule(p: Procedure, schedule: Schedule) -> None:
    for name in SCHEDULE_FIELDS:
        setattr(p, name, getattr(schedule, name))


def _steps_of(p: Procedure) -> list[ProcedureStep]:
    return db.session.scalars(sa.select(ProcedureStep).where(ProcedureStep.procedure_id == p.id)
                              .order_by(ProcedureStep.id)).all()


def _grounds_of(p: Procedure) -> list[ProcedureGround]:
    return db.session.scalars(sa.select(ProcedureGround).where(ProcedureGround.procedure_id == p.id)
                              .order_by(ProcedureGround.id)).all()


class _Known:
    """The household's record and objection facts, read once per use case."""

    def __init__(self, household_id: int, records=None, objections=None):
        self.household_id = household_id
        self._records, self._objections = records, objections

    @property
    def records(self):
        if self._records is None:
            self._records = scoring.facts_for([self.household_id])[self.household_id]
        return self._records

    @property
    def objections(self):
        if self._objections is None:
            self._objections = tuple(common.objection_facts(self.household_id))
        return self._objections


def _state_of(p: Procedure, known: _Known, today: date) -> ProcedureState:
    return engine_state(p, _steps_of(p), records=known.records, objections=known.objections,
                        attached=ground_facts(_grounds_of(p)), as_of=today)


def refresh(h: Household, p: Procedure, today: date | None = None, known: _Known | None = None) -> ProcedureState:
    """Bring one procedure in line with the engine's answer today: append the end it gives (dated and reasoned by
    the engine) when none is written yet, and write the cached columns from the answer."""
    today = today or _today()
    known = known or _Known(h.id)
    state = _state_of(p, known, today)
    if state.end is not None and p.state != ENDED and not any(s.step == ENDED for s in _steps_of(p)):
        # the engine ends it (its last ground fell, its term is over): a consequence, taken by the system actor
        _take_step(h, p, ENDED, state.end, reason=state.end_reason, known=known, who=gate.SYSTEM)
        return _state_of(p, known, today)
    schedule = schedule_of(state)
    if Schedule(*(getattr(p, f) for f in SCHEDULE_FIELDS)) != schedule:
        _write_schedule(p, schedule)
        db.session.flush()
    return state


def refresh_household(household_id: int, today: date | None = None, known: _Known | None = None) -> None:
    """Every procedure of the household still open in the cache, in line with the engine (the reconciliation
    after a fact changed calls this; so may the appeals work once an objection is filed or decided)."""
    h = _household(household_id)
    known = known or _Known(household_id)
    for p in db.session.scalars(sa.select(Procedure).where(Procedure.household_id == household_id,
                                                           Procedure.state != ENDED).order_by(Procedure.id)):
        refresh(h, p, today, known)


def _open_one(h: Household, today: date, known: _Known) -> Procedure | None:
    """The procedure or listing open today (SPEC §7: at most one), after the ends the engine gives are written."""
    for p in db.session.scalars(sa.select(Procedure).where(Procedure.household_id == h.id,
                                                           Procedure.state != ENDED).order_by(Procedure.id)):
        if refresh(h, p, today, known).open:
            return p
    return None


# ---- opening, attaching, steps -------------------------------------------------------------------------------

def _open(h: Household, route: str, opened: date, *, record_id=None, order_id=None, evidence_id=None,
          basis: str = "", clause: str | None = None, who: "gate.Actor") -> Procedure:
    """Open a procedure on `opened` and issue its risk notice (催告) the same day — or, while one is open (SPEC §7
    one at a time), attach this ground to it: recorded, notified, pushed; no date changes. `who` is the staff
    member or, for what the engine or a job opens, gate.SYSTEM."""
    known = _Known(h.id)
    version = _rules().version_at(opened)
    clause = clause or version.route_clause(route)
    current = _open_one(h, opened, known)
    if current is not None:
        _attach(h, current, route, opened, record_id=record_id, order_id=order_id, evidence_id=evidence_id,
                basis=basis, clause=clause, who=who)
        return current
    p = Procedure(household_id=h.id, region_code=h.region_code, route=route, opened_date=opened,
                  record_id=record_id, order_id=order_id, evidence_id=evidence_id, basis=basis,
                  opened_by_id=who.id, opened_dt=get_clock().now_utc())
    first = ProcedureStep(step=OPENED, step_date=opened, by_id=who.id, dt=get_clock().now_utc())
    db.session.add(p)
    _write_schedule(p, Schedule(OPENED, None, None, None, None))
    db.session.flush()
    first.procedure_id = p.id
    db.session.add(first)
    db.session.flush()
    state = _state_of(p, known, opened)
    _write_schedule(p, schedule_of(state))
    db.session.flush()
    clock = procedure_clock(opened, version)  # the dates with no clock stopped, when an objection stops it
    due = state.response_due or clock.response_due
    publicity = state.publicity_start or clock.publicity_start
    listing = state.listing_effective or clock.listing_effective
    audit.record("procedure.open", "procedure", p.id, household_id=h.id, region_code=h.region_code,
                 after={"route": route, "opened_date": opened.isoformat(), "record_id": record_id,
                        "order_id": order_id, "evidence_id": evidence_id, "clause": clause,
                        "response_due": due.isoformat()},
                 actor=(who.id, who.username))

    def body():
        text = _("A joint-punishment procedure (失信联合惩戒) was opened on %(opened)s for your household (archive "
                 "%(archive)s). Reasons: %(route)s. %(basis)s Legal basis: %(clause)s. Risk: unless the grounds "
                 "fall, the household is publicised from %(publicity)s and listed as a joint-punishment subject "
                 "from %(listing)s for %(years)s years, with the measures of that list. You have the right to "
                 "state your case and to object until %(due)s.",
                 opened=opened.isoformat(), archive=h.archive_no, route=str(ROUTE_LABELS[route]), basis=basis,
                 clause=clause, publicity=publicity.isoformat(), listing=listing.isoformat(),
                 years=version.procedure.listing_years, due=due.isoformat())
        return text + (" " + str(clock.warning) if clock.warning else "")

    _notice(h, "risk_notice", "procedure", p.id, opened, _l("Risk notice before joint-punishment listing"), body)
    _push(h, "punishment_list.opened", {"list": "punishment", "procedure_id": p.id, "status": OPENED,
                                        "route": route, "clause": clause, "opened_date": opened.isoformat(),
                                        "disclose": False})
    return p


def _attach(h: Household, p: Procedure, route: str, on: date, *, record_id, order_id, evidence_id, basis: str,
            clause: str, who: "gate.Actor") -> ProcedureGround:
    """Attach a ground to the open procedure `p` (SPEC §7): a fact, audited, notified and pushed; no date
    changes — the procedure now ends only on the day its last standing ground falls."""
    g = ProcedureGround(procedure_id=p.id, route=route, attached_date=on, record_id=record_id, order_id=order_id,
                        evidence_id=evidence_id, basis=basis, by_id=who.id,
                        dt=get_clock().now_utc())
    db.session.add(g)
    db.session.flush()
    refresh(h, p, on)  # the engine's answer: the same dates (only a pending objection on the ground stops them)
    audit.record("procedure.attach", "procedure", p.id, household_id=h.id, region_code=h.region_code,
                 after={"ground_id": g.id, "route": route, "attached_date": on.isoformat(), "record_id": record_id,
                        "order_id": order_id, "evidence_id": evidence_id, "clause": clause, "state": p.state},
                 actor=(who.id, who.username))
    _notice(h, "procedure_ground_attached", "procedure_ground", g.id, on,
            _l("Notice of a further ground of a joint-punishment procedure"),
            lambda: _("On %(date)s a further ground was attached to the joint-punishment procedure %(id)s of your "
                      "household (archive %(archive)s), which is already open: %(route)s. %(basis)s Legal basis: "
                      "%(clause)s. The procedure's dates do not change; it ends only when its last standing "
                      "ground falls. You may state your case and object (HB 七).", date=on.isoformat(), id=p.id,
                      archive=h.archive_no, route=str(ROUTE_LABELS[route]), basis=basis, clause=clause))
    _push(h, "punishment_list.ground_attached", {
        "list": "punishment", "procedure_id": p.id, "status": p.state, "route": route, "clause": clause,
        "attached_date": on.isoformat(), "record_id": record_id, "order_id": order_id,
        # public only when the procedure it joins is (MOHURD 2(2))
        "disclose": p.state in (PUBLICITY, LISTED)})
    return g


def _take_step(h: Household, p: Procedure, step: str, on: date, *, reason: str | None = None,
               who: "gate.Actor", known: _Known | None = None) -> ProcedureStep:
    """Append one dated step (a fact), write the procedure's cached columns from the engine's answer, and leave
    its audit entry, notice and event."""
    known = known or _Known(h.id)
    before = {"state": p.state, "window_end": p.window_end.isoformat() if p.window_end else None}
    row = ProcedureStep(procedure_id=p.id, step=step, step_date=on, reason=reason, by_id=who.id,
                        dt=get_clock().now_utc())
    db.session.add(row)
    db.session.flush()
    _write_schedule(p, schedule_of(_state_of(p, known, max(on, _today()))))
    db.session.flush()
    audit.record(f"procedure.{step}", "procedure", p.id, household_id=h.id, region_code=h.region_code,
                 before=before, after={"state": p.state, "step_date": on.isoformat(), "reason": reason,
                                       "window_end": p.window_end.isoformat() if p.window_end else None},
                 actor=(who.id, who.username))
    if step == PUBLICITY:
        title = _l("Notice of publicity before joint-punishment listing")
        body = lambda: _("The joint-punishment procedure %(id)s of your household (archive %(archive)s) is "  # noqa: E731
                         "publicised (公示) from %(start)s through %(end)s. Unless the grounds fall, the household "
                         "is listed from %(listing)s. You may object during publicity (HB 七).",
                         id=p.id, archive=h.archive_no, start=on.isoformat(), end=p.window_end.isoformat(),
                         listing=p.next_date.isoformat())
    elif step == LISTED:
        title = _l("Notice of listing as a joint-punishment subject")
        body = lambda: _("From %(start)s your household (archive %(archive)s) is listed as a joint-punishment "  # noqa: E731
                         "subject (失信联合惩戒对象名单) through %(through)s (procedure %(id)s). The measures of the "
                         "list apply and the listing is pushed to the credit platform. You may object or, once the "
                         "conditions are met, apply for credit repair (HB 七).",
                         start=on.isoformat(), archive=h.archive_no, through=p.listed_through.isoformat(), id=p.id)
    else:
        title = _l("Notice of the end of a joint-punishment procedure")
        body = lambda: _("The joint-punishment procedure %(id)s of your household (archive %(archive)s) ended on "  # noqa: E731
                         "%(date)s: %(reason)s.", id=p.id, archive=h.archive_no, date=on.isoformat(),
                         reason=str(END_REASON_LABELS.get(reason, reason or "")))
    _notice(h, f"procedure_{step}", "procedure", p.id, on, title, body)
    _push(h, f"punishment_list.{step}", {
        "list": "punishment", "procedure_id": p.id, "status": step, "route": p.route, "step_date": on.isoformat(),
        "reason": reason, "listed_date": p.listed_date.isoformat() if p.listed_date else None,
        "listed_through": p.listed_through.isoformat() if p.listed_through else None,
        # publicity and listing are public; an end is public only when what it ends was (MOHURD 2(2))
        "disclose": step in (PUBLICITY, LISTED) or before["state"] in (PUBLICITY, LISTED)})
    return row




def _procedure(procedure_id: int) -> Procedure:
    p = db.session.get(Procedure, procedure_id)
    if p is None:
        raise NotFound()
    return p


def advance(procedure_id: int, step: str, who: User) -> ProcedureStep:
    """A caseworker takes the next step today: in order, and never before the engine's earliest date, nor while a
    pending objection stops the clock (409 otherwise)."""
    clean = load(StepIn(), {"step": step})
    p = _procedure(procedure_id)
    h = _gated(p.household_id, "lists.write", who)
    scoring.lock_household(h.id)
    db.session.refresh(p)
    today, known = _today(), _Known(h.id)
    state = _state_of(p, known, today)
    if state.end is not None and p.state != ENDED:  # the term is over or its grounds fell: the end, as dated
        if clean["step"] != ENDED:
            raise Conflict(_l("This procedure has already ended."), field="step")
        return _take_step(h, p, ENDED, state.end, reason=state.end_reason, who=who, known=known)
    expected = NEXT_STEP.get(p.state)
    if clean["step"] != expected:
        raise Conflict(_l("This procedure is at step “%(state)s”; the next step can only be “%(next)s”.",
                          state=STEP_LABELS[p.state], next=STEP_LABELS[expected] if expected else "—"),
                       field="step")
    if state.next_date is None:
        raise Conflict(_l("A pending objection stops this procedure's clock."), field="step")
    if today < state.next_date:
        raise Conflict(_l("Too early: “%(step)s” can happen on %(date)s at the earliest.",
                          step=STEP_LABELS[expected], date=state.next_date.isoformat()), field="step")
    return _take_step(h, p, expected, today, who=who, known=known)


def end_procedure(procedure_id: int, reason: str, who: "gate.Actor") -> ProcedureStep:
    """End a procedure today for `reason` ('objection_upheld', 'statement_accepted', …) — for the appeals work; `who` is
    the staff member, or gate.SYSTEM for a job (never nobody: DESIGN rule 5)."""
    p = _procedure(procedure_id)
    h = _gated(p.household_id, "lists.write", who)
    if p.state == ENDED:
        raise Conflict(_l("This procedure has already ended."))
    return _take_step(h, p, ENDED, _today(), reason=reason, who=who)


def expire_listings(today: date | None = None, each=None, *, who: "gate.Actor") -> dict:
    """Daily: end every listing whose term (L + 3 years) is over, dated the day after its last day."""
    return advance_due_procedures(today, states=(LISTED,), each=each, who=who)


def advance_due_procedures(today: date | None = None, states=(OPENED, PUBLICITY), each=None, *,
                           who: "gate.Actor") -> dict:
    """Daily: take every step whose date, as the engine gives it, has come (publicity, listing; with
    `states=(LISTED,)` the end of the term). A procedure whose clock a pending objection stops has no next date
    in the cache and is asked again each day: the engine's answer (its next date moved by the pause) is written.
    `each` (batches.Batches) may run them in batches."""
    from ..batches import in_turn
    gate.require("lists.write", who)
    today = today or _today()
    taken = {PUBLICITY: 0, LISTED: 0, ENDED: 0, "held": 0}
    due = db.session.scalars(sa.select(Procedure).where(Procedure.state.in_(states),
                                                        sa.or_(Procedure.next_date <= today,
                                                               Procedure.next_date.is_(None)))
                             .order_by(Procedure.next_date, Procedure.id)).all()
    households = {h.id: h for h in db.session.scalars(
        sa.select(Household).where(Household.id.in_({p.household_id for p in due}))
        .options(selectinload(Household.members)))} if due else {}

    def one(p):
        h = households[p.household_id]
        known = _Known(h.id)
        state = _state_of(p, known, today)
        step = step_due(state, today)
        if step is None:  # stopped by a pending objection, or its date moved by a pause
            if schedule_of(state) != Schedule(*(getattr(p, f) for f in SCHEDULE_FIELDS)):
                _write_schedule(p, schedule_of(state))
                db.session.flush()
            taken["held"] += 1
            return
        # an end is dated as the engine dates it (the day after the term); a step the day it is taken
        _take_step(h, p, step, state.end if step == ENDED else today, reason=state.end_reason, known=known, who=who)
        taken[step] += 1

    (each or in_turn)(due, one)
    return taken


def open_procedure(household_id: int, route: str, basis: str, document, who: User, record_id=None) -> Procedure:
    """Open a procedure on a court judgment, criminal or administrative penalty (HB 六), with the document and,
    optionally, the household's record it stands on; while one is open, its ground is attached to that one."""
    from ..records import storage
    h = _gated(household_id, "lists.write", who)
    clean = load(ProcedureIn(), {"route": route, "basis": basis, "record_id": record_id})
    if clean["record_id"] is not None:
        owner = db.session.scalar(sa.select(Record.household_id).where(Record.id == clean["record_id"]))
        if owner != h.id:
            raise InvalidInput(_l("The input is not valid."),
                               errors={"record_id": [_("This record does not belong to the household.")]})
    uploads = storage.check([document] if document else [], field="document")
    if not uploads:
        raise InvalidInput(_l("The input is not valid."),
                           errors={"document": [_("Attach the judgment or penalty decision.")]})
    scoring.lock_household(h.id)
    upload = uploads[0]
    sha = storage.store(upload)
    evidence = Evidence(record_id=None, filename=upload.filename, content_type=upload.content_type,
                        size=upload.size, sha256=sha, uploaded_by_id=who.id, uploaded_dt=get_clock().now_utc())
    db.session.add(evidence)
    db.session.flush()
    p = _open(h, clean["route"], _today(), record_id=clean["record_id"], evidence_id=evidence.id,
              basis=clean["basis"], who=who)
    from .watch import after_facts_changed  # the reconciliation sits above the steps
    after_facts_changed(h.id)  # a procedure opened while watched ends the entry (transferred)
    return p


def procedures_for(household_id: int, who: User) -> list[Procedure]:
    """The household's procedures; a staff read is logged as "procedures.read" (one per request)."""
    gate.log_read("procedures.read", _readable(household_id, who), who)
    return db.session.scalars(sa.select(Procedure).where(Procedure.household_id == household_id)
                              .options(selectinload(Procedure.steps), selectinload(Procedure.attached))
                              .order_by(Procedure.id)).all()


def procedure_view(p: Procedure) -> dict:
    """A procedure with its steps, the grounds attached to it, next step and dates (the cache the engine's answer
    wrote), and the calendar warning when a year is missing."""
    clock = procedure_clock(p.opened_date, _rules().version_at(p.opened_date))
    nxt = NEXT_STEP.get(p.state)
    # the response window while it runs (None while an objection stops the clock); else the unpaused due date
    response_due = p.window_end if p.state == OPENED else clock.response_due
    counted_through = p.next_date if p.state in (OPENED, PUBLICITY) and p.next_date else clock.listing_effective
    return {"id": p.id, "household_id": p.household_id, "route": p.route, "route_label": ROUTE_LABELS[p.route],
            "state": p.state, "state_label": STEP_LABELS[p.state], "opened_date": p.opened_date,
            "record_id": p.record_id, "order_id": p.order_id, "evidence_id": p.evidence_id, "basis": p.basis,
            "next_step": nxt, "next_step_label": STEP_LABELS[nxt] if nxt else None, "next_date": p.next_date,
            "window_end": p.window_end, "response_due": response_due, "listed_date": p.listed_date,
            "listed_through": p.listed_through,
            "steps": [{"step": s.step, "label": STEP_LABELS.get(s.step, s.step), "step_date": s.step_date,
                       "reason": s.reason, "reason_label": END_REASON_LABELS.get(s.reason) if s.reason else None}
                      for s in p.steps],
            "grounds": [{"route": g.route, "route_label": ROUTE_LABELS.get(g.route, g.route),
                         "attached_date": g.attached_date, "record_id": g.record_id, "order_id": g.order_id,
                         "basis": g.basis} for g in p.attached],
            # working days are counted through the listing date; the term after it is in calendar years
            "calendar_warning": _shown(working_days_warning(p.opened_date, max(clock.listing_effective,
                                                                               counted_through)))}


def _shown(text) -> str | None:
    """A lazy text rendered now, in the reader's language."""
    return str(text) if text else None


# ---- the cached schedules, checked and rebuilt from the facts ---------------------------------------------------

_CHUNK = 1000
_COLS = (Procedure.id, Procedure.household_id, Procedure.region_code, Procedure.opened_date, Procedure.route,
         Procedure.record_id, Procedure.order_id)


def _schedules(rules, today: date) -> "Iterable[tuple]":
    """(procedure row, stored Schedule, expected Schedule, engine state) for every procedure, in chunks of ids,
    reading only: the engine's answer today from the steps, attached grounds, records and objections."""
    cols = (*_COLS, *(getattr(Procedure, f) for f in SCHEDULE_FIELDS))
    after = 0
    while True:
        rows = db.session.execute(sa.select(*cols).where(Procedure.id > after).order_by(Procedure.id)
                                  .limit(_CHUNK)).all()
        if not rows:
            return
        steps: dict[int, list] = {r.id: [] for r in rows}
        for s in db.session.execute(sa.select(ProcedureStep.procedure_id, ProcedureStep.step, ProcedureStep.step_date,
                                              ProcedureStep.reason)
                                    .where(ProcedureStep.procedure_id.in_(list(steps)))):
            steps[s.procedure_id].append(s)
        grounds: dict[int, list] = {r.id: [] for r in rows}
        for g in db.session.scalars(sa.select(ProcedureGround).where(ProcedureGround.procedure_id.in_(list(steps)))
                                    .order_by(ProcedureGround.id)):
            grounds[g.procedure_id].append(g)
        households = sorted({r.household_id for r in rows})
        records = scoring.facts_for(households)
        objections = {hid: tuple(common.objection_facts(hid)) for hid in households}
        for r in rows:
            stored = Schedule(*(getattr(r, f) for f in SCHEDULE_FIELDS))
            state = engine_state(r, steps[r.id], rules, records=records[r.household_id],
                                 objections=objections[r.household_id], attached=ground_facts(grounds[r.id]),
                                 as_of=today)
            yield r, stored, schedule_of(state), state
        after = rows[-1].id


def schedule_differences(today: date | None = None):
    """Every procedure whose cached columns differ from the engine's answer today (`flask credit verify`) — an end
    the engine gives and no step records yet shows as a state to be ended."""
    from ..derived import Difference
    for r, stored, expected, _state in _schedules(_rules(), today or _today()):
        for f in SCHEDULE_FIELDS:
            if getattr(stored, f) != getattr(expected, f):
                want = getattr(expected, f)
                if f == "state" and want == ENDED and _state.end_reason:
                    want = f"{ENDED} ({_state.end_reason})"
                yield Difference("procedures", r.household_id, f"procedure {r.id}", f, getattr(stored, f), want)


def rebuild_schedules(echo=None) -> dict:
    """Rewrite every procedure's cached columns from the engine's answer where they differ, each correction
    audited — an end the engine gives and no step records is appended as the end step (with its notice and
    event); commits (`flask credit rebuild`)."""
    echo = echo or (lambda _msg: None)
    today = _today()
    wrong = [(r.id, expected) for r, stored, expected, _state in _schedules(_rules(), today) if stored != expected]
    for pid, expected in wrong:
        p = db.session.get(Procedure, pid)
        before = {f: _iso(getattr(p, f)) for f in SCHEDULE_FIELDS}
        h = _household(p.household_id)
        if expected.state == ENDED and not any(s.step == ENDED for s in _steps_of(p)):
            refresh(h, p, today)
            continue
        _write_schedule(p, expected)
        audit.record("procedure.rebuild", "procedure", p.id, household_id=p.household_id,
                     region_code=p.region_code, before=before,
                     after={f: _iso(getattr(p, f)) for f in SCHEDULE_FIELDS})
    db.session.commit()
    echo(f"procedures: {len(wrong)} schedule(s) rewritten from their steps")
    return {"corrected": len(wrong)}


def _iso(value):
    return value.isoformat() if isinstance(value, date) else value
