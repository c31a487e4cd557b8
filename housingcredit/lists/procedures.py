"""The joint-punishment procedure (失信联合惩戒程序, HB 六; SPEC §7): opening with its risk notice (催告),
publicity (公示), listing (列入名单) and its end.

Choice (SPEC §7, documented in the README): the clock steps happen automatically on their earliest date — the
daily job moves a procedure to publicity on O + 6 working days and to listed on the working day after publicity
ends — unless a clock stopper (a pending objection, registered by the appeals work) holds it. A caseworker may act
later than the earliest date, never earlier; an automatic step is dated the day it is taken, never back-dated.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterable

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from ..accounts.models import User
from ..archives.models import Household
from ..audit import service as audit
from ..clock import add_working_days, add_years, get_clock, is_working_day, working_days_warning
from ..errors import Conflict, InvalidInput, NotFound
from ..extensions import db
from ..records.models import Evidence
from ..scoring import service as scoring
from ..validation import load
from .common import (
    END_REASON_LABELS,
    ENDED,
    LISTED,
    NEXT_STEP,
    OPENED,
    PUBLICITY,
    ROUTE_CLAUSES,
    ROUTE_LABELS,
    STEP_LABELS,
    _gated,
    _household,
    _notice,
    _push,
    _readable,
    _rules,
    _today,
    clock_stoppers,
)
from .engine import procedure_clock
from .models import Procedure, ProcedureStep
from .schemas import ProcedureIn, StepIn

# ---- the procedure -------------------------------------------------------------------------------------------

def _procedure_rules(p: Procedure, rules=None):
    return (rules or _rules()).version_at(p.opened_date).procedure


def _publicity_window(p: Procedure, start: date, rules=None) -> tuple[date, date]:
    """(last day of publicity, earliest listing date) for publicity begun on `start`: N working days of publicity,
    the first being `start` (or the next working day when `start` is not one)."""
    first = start if is_working_day(start) else add_working_days(start, 1)
    end = add_working_days(first, _procedure_rules(p, rules).publicity_working_days - 1)
    return end, add_working_days(end, 1)


STEP_ORDER = {OPENED: 0, PUBLICITY: 1, LISTED: 2, ENDED: 3}
SCHEDULE_FIELDS = ("state", "next_date", "window_end", "listed_date", "listed_through")


@dataclass(frozen=True)
class Schedule:
    """The cached columns of a procedure, as its steps (the facts) make them."""

    state: str
    next_date: date | None
    window_end: date | None
    listed_date: date | None
    listed_through: date | None


def procedure_schedule(p: Procedure, steps: Iterable, rules=None) -> Schedule:
    """The procedure's `state / next_date / window_end / listed_date / listed_through` from its opening date, its
    dated steps (anything with `.step` and `.step_date`) and the rules — the one place they are computed: taking a
    step writes this, `flask credit rebuild` rewrites it, `flask credit verify` compares with it."""
    rules = rules or _rules()
    clock = procedure_clock(p.opened_date, rules.version_at(p.opened_date))
    state, next_date, window_end = OPENED, clock.publicity_start, clock.response_due
    listed_date = listed_through = None
    for s in sorted(steps, key=lambda s: STEP_ORDER[s.step]):
        if s.step == PUBLICITY:
            window_end, next_date = _publicity_window(p, s.step_date, rules)
        elif s.step == LISTED:
            listed_date, listed_through = s.step_date, add_years(s.step_date, _procedure_rules(p, rules).listing_years)
            window_end, next_date = listed_through, listed_through + timedelta(days=1)
        elif s.step == ENDED:
            window_end = next_date = None
        state = s.step
    return Schedule(state, next_date, window_end, listed_date, listed_through)


def _write_schedule(p: Procedure, schedule: Schedule) -> None:
    for name in SCHEDULE_FIELDS:
        setattr(p, name, getattr(schedule, name))


def _open(h: Household, route: str, opened: date, *, record_id=None, order_id=None, evidence_id=None,
          basis: str = "", clause: str | None = None, who: User | None = None) -> Procedure:
    """Open a procedure on `opened` and issue its risk notice (催告) the same day."""
    clock = procedure_clock(opened, _rules().version_at(opened))
    p = Procedure(household_id=h.id, region_code=h.region_code, route=route, opened_date=opened,
                  record_id=record_id, order_id=order_id, evidence_id=evidence_id, basis=basis,
                  opened_by_id=who.id if who else None, opened_dt=get_clock().now_utc())
    first = ProcedureStep(step=OPENED, step_date=opened, by_id=who.id if who else None, dt=get_clock().now_utc())
    _write_schedule(p, procedure_schedule(p, [first]))
    db.session.add(p)
    db.session.flush()
    first.procedure_id = p.id
    db.session.add(first)
    db.session.flush()
    clause = clause or ROUTE_CLAUSES.get(route, "HB 六")
    audit.record("procedure.open", "procedure", p.id, household_id=h.id, region_code=h.region_code,
                 after={"route": route, "opened_date": opened.isoformat(), "record_id": record_id,
                        "order_id": order_id, "evidence_id": evidence_id, "clause": clause,
                        "response_due": clock.response_due.isoformat()},
                 actor=(who.id, who.username) if who else None)

    def body():
        text = _("A joint-punishment procedure (失信联合惩戒) was opened on %(opened)s for your household (archive "
                 "%(archive)s). Reasons: %(route)s. %(basis)s Legal basis: %(clause)s. Risk: unless the grounds "
                 "fall, the household is publicised from %(publicity)s and listed as a joint-punishment subject "
                 "from %(listing)s for %(years)s years, with the measures of that list. You have the right to "
                 "state your case and to object until %(due)s.",
                 opened=opened.isoformat(), archive=h.archive_no, route=str(ROUTE_LABELS[route]), basis=basis,
                 clause=clause, publicity=clock.publicity_start.isoformat(),
                 listing=clock.listing_effective.isoformat(), years=_procedure_rules(p).listing_years,
                 due=clock.response_due.isoformat())
        return text + (" " + str(clock.warning) if clock.warning else "")

    _notice(h, "risk_notice", "procedure", p.id, opened, _l("Risk notice before joint-punishment listing"), body)
    _push(h, "punishment_list.opened", {"list": "punishment", "procedure_id": p.id, "status": OPENED,
                                        "route": route, "clause": clause, "opened_date": opened.isoformat(),
                                        "disclose": False})
    return p


def _take_step(h: Household, p: Procedure, step: str, on: date, *, reason: str | None = None,
               who: User | None = None) -> ProcedureStep:
    """Write one dated step, update the procedure's cached state, and leave its audit entry, notice and event."""
    before = {"state": p.state, "window_end": p.window_end.isoformat() if p.window_end else None}
    row = ProcedureStep(procedure_id=p.id, step=step, step_date=on, reason=reason, by_id=who.id if who else None,
                        dt=get_clock().now_utc())
    db.session.add(row)
    db.session.flush()
    steps = db.session.scalars(sa.select(ProcedureStep).where(ProcedureStep.procedure_id == p.id)).all()
    _write_schedule(p, procedure_schedule(p, steps))
    db.session.flush()
    audit.record(f"procedure.{step}", "procedure", p.id, household_id=h.id, region_code=h.region_code,
                 before=before, after={"state": p.state, "step_date": on.isoformat(), "reason": reason,
                                       "window_end": p.window_end.isoformat() if p.window_end else None},
                 actor=(who.id, who.username) if who else None)
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


def _clock_stopped(p: Procedure) -> bool:
    return any(stop(p) for stop in clock_stoppers)


def _procedure(procedure_id: int) -> Procedure:
    p = db.session.get(Procedure, procedure_id)
    if p is None:
        raise NotFound()
    return p


def advance(procedure_id: int, step: str, who: User) -> ProcedureStep:
    """A caseworker takes the next step today: in order, and never before the clock allows (409 otherwise)."""
    clean = load(StepIn(), {"step": step})
    p = _procedure(procedure_id)
    h = _gated(p.household_id, "lists.write", who)
    scoring.lock_household(h.id)
    db.session.refresh(p)
    today = _today()
    expected = NEXT_STEP.get(p.state)
    if clean["step"] != expected:
        raise Conflict(_l("This procedure is at step “%(state)s”; the next step can only be “%(next)s”.",
                          state=STEP_LABELS[p.state], next=STEP_LABELS[expected] if expected else "—"),
                       field="step")
    if today < p.next_date:
        raise Conflict(_l("Too early: “%(step)s” can happen on %(date)s at the earliest.",
                          step=STEP_LABELS[expected], date=p.next_date.isoformat()), field="step")
    if _clock_stopped(p):
        raise Conflict(_l("A pending objection stops this procedure's clock."), field="step")
    reason = "term_expired" if expected == ENDED else None
    on = p.listed_through + timedelta(days=1) if expected == ENDED else today
    return _take_step(h, p, expected, on, reason=reason, who=who)


def end_procedure(procedure_id: int, reason: str, who: User | None = None) -> ProcedureStep:
    """End a procedure today for `reason` ('objection_upheld', 'repaired', …) — for the appeals work."""
    p = _procedure(procedure_id)
    h = _gated(p.household_id, "lists.write", who) if who else _household(p.household_id)
    if p.state == ENDED:
        raise Conflict(_l("This procedure has already ended."))
    return _take_step(h, p, ENDED, _today(), reason=reason, who=who)


def expire_listings(today: date | None = None, each=None) -> dict:
    """Daily: end every listing whose term (L + 3 years) is over, dated the day after its last day."""
    return advance_due_procedures(today, states=(LISTED,), each=each)


def advance_due_procedures(today: date | None = None, states=(OPENED, PUBLICITY), each=None) -> dict:
    """Daily: take every time-driven step whose earliest date has come (publicity, listing; with
    `states=(LISTED,)` the end of the term). `each` (batches.Batches) may run them in batches."""
    from ..batches import in_turn
    today = today or _today()
    taken = {PUBLICITY: 0, LISTED: 0, ENDED: 0, "held": 0}
    due = db.session.scalars(sa.select(Procedure).where(Procedure.state.in_(states),
                                                        Procedure.next_date <= today)
                             .order_by(Procedure.next_date, Procedure.id)).all()
    households = {h.id: h for h in db.session.scalars(
        sa.select(Household).where(Household.id.in_({p.household_id for p in due}))
        .options(selectinload(Household.members)))} if due else {}

    def one(p):
        step = NEXT_STEP[p.state]
        if step != ENDED and _clock_stopped(p):
            taken["held"] += 1
            return
        if step == ENDED:  # the term is a lapse of time: it ends the day after listed_through, whenever we look
            _take_step(households[p.household_id], p, ENDED, p.listed_through + timedelta(days=1),
                       reason="term_expired")
        else:
            _take_step(households[p.household_id], p, step, today)
        taken[step] += 1

    (each or in_turn)(due, one)
    return taken


def open_procedure(household_id: int, route: str, basis: str, document, who: User) -> Procedure:
    """Open a procedure on a court judgment, criminal or administrative penalty (HB 六), with the document."""
    from ..records import storage
    h = _gated(household_id, "lists.write", who)
    clean = load(ProcedureIn(), {"route": route, "basis": basis})
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
    p = _open(h, clean["route"], _today(), evidence_id=evidence.id, basis=clean["basis"], who=who)
    from .watch import after_facts_changed  # the reconciliation sits above the steps
    after_facts_changed(h.id)  # a procedure opened while watched ends the entry (transferred)
    return p


def procedures_for(household_id: int, who: User) -> list[Procedure]:
    _readable(household_id, who)
    return db.session.scalars(sa.select(Procedure).where(Procedure.household_id == household_id)
                              .options(selectinload(Procedure.steps)).order_by(Procedure.id)).all()


def procedure_view(p: Procedure) -> dict:
    """A procedure with its steps, next step and dates, and the calendar warning when a year is missing."""
    clock = procedure_clock(p.opened_date, _rules().version_at(p.opened_date))
    nxt = NEXT_STEP.get(p.state)
    return {"id": p.id, "household_id": p.household_id, "route": p.route, "route_label": ROUTE_LABELS[p.route],
            "state": p.state, "state_label": STEP_LABELS[p.state], "opened_date": p.opened_date,
            "record_id": p.record_id, "order_id": p.order_id, "evidence_id": p.evidence_id, "basis": p.basis,
            "next_step": nxt, "next_step_label": STEP_LABELS[nxt] if nxt else None, "next_date": p.next_date,
            "window_end": p.window_end, "response_due": clock.response_due, "listed_date": p.listed_date,
            "listed_through": p.listed_through,
            "steps": [{"step": s.step, "label": STEP_LABELS[s.step], "step_date": s.step_date, "reason": s.reason,
                       "reason_label": END_REASON_LABELS.get(s.reason) if s.reason else None} for s in p.steps],
            # working days are counted through the listing date; the term after it is in calendar years
            "calendar_warning": _shown(working_days_warning(p.opened_date, max(
                clock.listing_effective, p.next_date if p.state in (OPENED, PUBLICITY) else clock.listing_effective)))}


def _shown(text) -> str | None:
    """A lazy text rendered now, in the reader's language."""
    return str(text) if text else None


# ---- the cached schedules, checked and rebuilt from the steps ---------------------------------------------------

_CHUNK = 1000


def _schedules(rules) -> "Iterable[tuple]":
    """(procedure row, stored Schedule, expected Schedule) for every procedure, in chunks of ids, reading only."""
    cols = (Procedure.id, Procedure.household_id, Procedure.opened_date, *(getattr(Procedure, f)
                                                                           for f in SCHEDULE_FIELDS))
    after = 0
    while True:
        rows = db.session.execute(sa.select(*cols).where(Procedure.id > after).order_by(Procedure.id)
                                  .limit(_CHUNK)).all()
        if not rows:
            return
        steps: dict[int, list] = {r.id: [] for r in rows}
        for s in db.session.execute(sa.select(ProcedureStep.procedure_id, ProcedureStep.step, ProcedureStep.step_date)
                                    .where(ProcedureStep.procedure_id.in_(list(steps)))):
            steps[s.procedure_id].append(s)
        for r in rows:
            stored = Schedule(*(getattr(r, f) for f in SCHEDULE_FIELDS))
            yield r, stored, procedure_schedule(r, steps[r.id], rules)
        after = rows[-1].id


def schedule_differences(today: date | None = None):
    """Every procedure whose cached columns differ from what its steps give (`flask credit verify`)."""
    from ..derived import Difference
    for r, stored, expected in _schedules(_rules()):
        for f in SCHEDULE_FIELDS:
            if getattr(stored, f) != getattr(expected, f):
                yield Difference("procedures", r.household_id, f"procedure {r.id}", f, getattr(stored, f),
                                 getattr(expected, f))


def rebuild_schedules(echo=None) -> dict:
    """Rewrite every procedure's cached columns from its steps where they differ, each correction audited;
    commits (`flask credit rebuild`)."""
    echo = echo or (lambda _msg: None)
    wrong = [(r.id, expected) for r, stored, expected in _schedules(_rules()) if stored != expected]
    for pid, expected in wrong:
        p = db.session.get(Procedure, pid)
        before = {f: _iso(getattr(p, f)) for f in SCHEDULE_FIELDS}
        _write_schedule(p, expected)
        audit.record("procedure.rebuild", "procedure", p.id, household_id=p.household_id,
                     region_code=p.region_code, before=before,
                     after={f: _iso(getattr(p, f)) for f in SCHEDULE_FIELDS})
    db.session.commit()
    echo(f"procedures: {len(wrong)} schedule(s) rewritten from their steps")
    return {"corrected": len(wrong)}


def _iso(value):
    return value.isoformat() if isinstance(value, date) else value
