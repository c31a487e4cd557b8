"""List use cases (名单, HB 六; SPEC §6–§8): the watch list (重点关注名单), rectification orders (责令限期改正),
the joint-punishment procedure (失信联合惩戒程序), measures (惩戒措施清单) and the credit check (信用查询).

Facts are records (with their determination, revocation and repair), orders with their compliance, procedures
with their dated steps. List membership is derived by the one engine (`lists.engine.watch_history`); the
`watch_entries` rows and the `procedures.state…` columns are caches written in the same transaction as the fact
that changed them. The daily jobs (`housingcredit.jobs`) only advance what time alone moves: watch expiry,
overdue orders, the procedure clock and the end of a listing term — each idempotent.

Choice (SPEC §7, documented in the README): the clock steps happen automatically on their earliest date — the
daily job moves a procedure to publicity on O + 6 working days and to listed on the working day after publicity
ends — unless a clock stopper (a pending objection, registered by the appeals work) holds it. A caseworker may act
later than the earliest date, never earlier; an automatic step is dated the day it is taken, never back-dated.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Callable

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, gettext as _, lazy_gettext as _l
from sqlalchemy.orm import selectinload

from ..accounts import gate, idnumbers, regions
from ..accounts.models import Role, User
from ..archives.models import Household, Member, Relation
from ..audit import service as audit
from ..clock import add_working_days, add_years, get_clock, is_working_day, working_days_warning
from ..disclosure.masking import mask_id_number, mask_name
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..extensions import db
from ..i18n import title_of
from ..notices import service as notices
from ..platform import service as platform
from ..records.models import Evidence, Record
from ..scoring import service as scoring
from ..scoring.engine import compute_credit
from ..validation import load
from .engine import WATCH_TRANSFER, procedure_clock, watch_history
from .models import CreditCheck, OrderCompliance, Procedure, ProcedureStep, RectificationOrder, WatchEntry
from .schemas import (BUSINESSES, MANUAL_ROUTES, ComplianceIn, CreditCheckIn, OrderIn, ProcedureIn, StepIn,
                      WatchListQuery, deadline_problem)

OPENED, PUBLICITY, LISTED, ENDED = "opened", "publicity", "listed", "ended"
NEXT_STEP = {OPENED: PUBLICITY, PUBLICITY: LISTED, LISTED: ENDED}
OVERDUE_ORDER = "overdue_order"

ROUTE_LABELS = {
    WATCH_TRANSFER: _l("Transfer from the watch list"),
    OVERDUE_ORDER: _l("Rectification order not complied with by its deadline"),
    "court_judgment": _l("Court judgment"),
    "criminal_penalty": _l("Criminal penalty"),
    "administrative_penalty": _l("Administrative penalty"),
}
# The clause each route stands on (HB 六); an overdue order takes its ground's clause from the rules data.
ROUTE_CLAUSES = {
    WATCH_TRANSFER: "HB 六 (重点关注期限内发生中度以上失信行为的，应及时转入)",
    "court_judgment": "HB 六 (根据法院判决…认定为失信联合惩戒对象)",
    "criminal_penalty": "HB 六 (根据刑事处罚…认定为失信联合惩戒对象)",
    "administrative_penalty": "HB 六 (根据行政处罚…认定为失信联合惩戒对象)",
}
STEP_LABELS = {OPENED: _l("Opened, risk notice issued"), PUBLICITY: _l("Publicity"), LISTED: _l("Listed"),
               ENDED: _l("Ended")}
END_REASON_LABELS = {"term_expired": _l("listing term expired"), "revoked": _l("grounding record revoked"),
                     "repaired": _l("grounding record repaired"), "objection_upheld": _l("objection upheld")}
WATCH_REASON_LABELS = {"expired": _l("period expired"), "transferred": _l("transferred to a procedure"),
                       "grounds_fell": _l("grounds fell")}
BUSINESS_LABELS = {"application": _l("Application"), "allocation": _l("Allocation"), "renewal": _l("Renewal"),
                   "swap": _l("Unit swap"), "subsidy": _l("Rental subsidy"), "exit": _l("Exit"),
                   "other": _l("Other")}
ORDER_STATUS_LABELS = {"open": _l("open"), "complied": _l("complied"), "overdue": _l("overdue"),
                       "procedure": _l("procedure opened")}
assert set(BUSINESS_LABELS) == set(BUSINESSES)

# Hooks for the appeals work (objections, HB 七: 在信息核实期间暂不执行联合惩戒措施).
# A suspension provider gets (household_id, basis) — basis "tier", "watch" or "procedure:<id>" — and returns the
# references (e.g. "objection:12") suspending the measures on that basis; empty when none.
suspension_providers: list[Callable[[int, str], list[str]]] = []
# A clock stopper gets a Procedure and returns True while a pending objection on its ground stops its clock.
clock_stoppers: list[Callable[[Procedure], bool]] = []


def _today() -> date:
    return get_clock().today()


def _rules():
    return scoring.rules_book()


def _household(household_id: int) -> Household:
    h = db.session.get(Household, household_id)
    if h is None:
        raise NotFound()
    return h


def _gated(household_id: int, permission: str, who: User) -> Household:
    return gate.check_household(db.session.get(Household, household_id), permission, who)


def _readable(household_id: int, who: User) -> Household:
    """Staff with lists.read in their region; a household its own lists only."""
    return _gated(household_id, "own.read" if who.role == Role.household else "lists.read", who)


def _subject(h: Household) -> dict:
    head = h.head
    return {"name": head.name if head else "", "id_number": head.id_number if head else ""}


def _push(h: Household, kind: str, payload: dict) -> None:
    """Queue a list change for the provincial platform (SPEC §10), subject as in the records' payloads."""
    body = {"archive_no": h.archive_no, "region_code": h.region_code, "subject": _subject(h)}
    body.update(payload)
    platform.enqueue(h.id, kind, body)


def _stored(text_fn: Callable[[], str]) -> str:
    """Text kept in the database or sent to the household: in the default language (Chinese first)."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        return str(text_fn())


def _notice(h: Household, kind: str, ref_type: str, ref_id, on: date, title, body_fn: Callable[[], str]) -> None:
    """A written notice in the household's language (Chinese first), issued once per (kind, ref)."""
    text_title, text_body = _stored(lambda: str(title)), _stored(body_fn)
    notices.issue(h.id, kind, ref_type, ref_id, text_title, text_body, issued_date=on, region_code=h.region_code)


# ---- the watch list: one engine, a cache reconciled ----------------------------------------------------------

def after_facts_changed(household_id: int) -> None:
    """Recompute the household's lists from facts, in the caller's transaction (the records service calls this
    after every determination, revocation and repair; the daily job after a watch period ends).

    Reconciles the cached watch entries with the engine's history up to today, opens the procedure of each
    watch transfer once, ends the procedures whose grounding record fell, and leaves for every transition its
    audit entry, notice and platform event — none of them twice.
    """
    scoring.lock_household(household_id)
    h = _household(household_id)
    today = _today()
    facts = scoring.facts_for([household_id])[household_id]
    procedures = db.session.scalars(sa.select(Procedure).where(Procedure.household_id == household_id)
                                    .order_by(Procedure.id)).all()
    others = [p.opened_date for p in procedures if p.route != WATCH_TRANSFER]
    history = watch_history(facts, _rules(), today, other_procedures=others)
    _reconcile_watch(h, history.entries)
    transferred = {p.record_id for p in procedures if p.route == WATCH_TRANSFER}
    for opening in history.procedures_opened:
        if opening.route == WATCH_TRANSFER and opening.record_id not in transferred:
            transferred.add(opening.record_id)
            procedures.append(_open(h, WATCH_TRANSFER, opening.date, record_id=opening.record_id,
                                    basis=_stored(lambda: _("Moderate or severe behaviour (record %(id)s) during "
                                                            "the watch period.", id=opening.record_id))))
    fell = {}
    for f in facts:
        dates = [(d, reason) for d, reason in ((f.revoked, "revoked"), (f.repaired, "repaired")) if d and d <= today]
        if dates:
            fell[f.id] = min(dates)
    for p in procedures:
        if p.state != ENDED and p.record_id in fell:
            on, reason = fell[p.record_id]
            _take_step(h, p, ENDED, max(on, p.opened_date), reason=reason)


def _entry_snapshot(e) -> dict:
    return {"start": e.start_date.isoformat(), "until": e.until_date.isoformat(),
            "end": e.end_date.isoformat() if e.end_date else None, "reason": e.reason, "grounds": list(e.grounds)}


def _reconcile_watch(h: Household, entries) -> None:
    rows = {r.start_date: r for r in db.session.scalars(sa.select(WatchEntry)
                                                        .where(WatchEntry.household_id == h.id))}
    for e in entries:
        row = rows.pop(e.start, None)
        if row is None:
            row = WatchEntry(household_id=h.id, region_code=h.region_code, start_date=e.start, until_date=e.until,
                             end_date=None, reason=None, grounds=list(e.grounds))
            db.session.add(row)
            db.session.flush()
            audit.record("watch.enter", "watch_entry", row.id, household_id=h.id, region_code=h.region_code,
                         after=_entry_snapshot(row))
            _watch_warning(h, row)
            _push(h, "watch_list.entered", {"list": "watch", "status": "entered", "start": e.start.isoformat(),
                                            "until": e.until.isoformat(), "grounds": list(e.grounds),
                                            "disclose": True})
        if (row.until_date, row.end_date, row.reason, list(row.grounds)) == (e.until, e.end, e.reason,
                                                                               list(e.grounds)):
            continue
        before = _entry_snapshot(row)
        ending = row.end_date is None and e.end is not None
        row.until_date, row.end_date, row.reason, row.grounds = e.until, e.end, e.reason, list(e.grounds)
        db.session.flush()
        audit.record("watch.end" if ending else "watch.update", "watch_entry", row.id, household_id=h.id,
                     region_code=h.region_code, before=before, after=_entry_snapshot(row))
        _push(h, "watch_list.ended" if ending else "watch_list.changed",
              {"list": "watch", "status": "ended" if row.end_date else "entered", "start": row.start_date.isoformat(),
               "until": row.until_date.isoformat(), "end": row.end_date.isoformat() if row.end_date else None,
               "reason": row.reason, "disclose": True})
    for row in rows.values():  # a cached entry the facts no longer make: the cache is corrected, with its trace
        audit.record("watch.remove", "watch_entry", row.id, household_id=h.id, region_code=h.region_code,
                     before=_entry_snapshot(row))
        _push(h, "watch_list.removed", {"list": "watch", "status": "removed", "start": row.start_date.isoformat(),
                                        "disclose": True})
        db.session.delete(row)
    db.session.flush()


def _watch_warning(h: Household, row: WatchEntry) -> None:
    """The warning (警示) stating the watch period: both dates (HB 六: 发出警示并提示重点关注期限)."""
    _notice(h, "watch_warning", "watch_entry", f"{h.id}:{row.start_date.isoformat()}", row.start_date,
            _l("Warning: your household is on the watch list"),
            lambda: _("Your household (archive %(archive)s) is on the watch list (重点关注名单) from %(start)s "
                      "through %(until)s. A moderate or severe dishonest behaviour confirmed during this period "
                      "transfers the household to the joint-punishment procedure (HB 六). If you disagree, you may "
                      "file an objection (HB 七).", archive=h.archive_no, start=row.start_date.isoformat(),
                      until=row.until_date.isoformat()))


def expire_watch(today: date | None = None) -> dict:
    """Daily: reconcile every household whose watch period ended before today (off the list the day after)."""
    today = today or _today()
    ids = db.session.scalars(sa.select(WatchEntry.household_id).where(WatchEntry.end_date.is_(None),
                                                                      WatchEntry.until_date < today)
                             .distinct().order_by(WatchEntry.household_id)).all()
    for hid in ids:
        after_facts_changed(hid)
    return {"households": len(ids)}


# ---- the procedure -------------------------------------------------------------------------------------------

def _procedure_rules(p: Procedure):
    return _rules().version_at(p.opened_date).procedure


def _publicity_window(p: Procedure, start: date) -> tuple[date, date]:
    """(last day of publicity, earliest listing date) for publicity begun on `start`: N working days of publicity,
    the first being `start` (or the next working day when `start` is not one)."""
    first = start if is_working_day(start) else add_working_days(start, 1)
    end = add_working_days(first, _procedure_rules(p).publicity_working_days - 1)
    return end, add_working_days(end, 1)


def _open(h: Household, route: str, opened: date, *, record_id=None, order_id=None, evidence_id=None,
          basis: str = "", clause: str | None = None, who: User | None = None) -> Procedure:
    """Open a procedure on `opened` and issue its risk notice (催告) the same day."""
    clock = procedure_clock(opened, _rules().version_at(opened))
    p = Procedure(household_id=h.id, region_code=h.region_code, route=route, opened_date=opened,
                  record_id=record_id, order_id=order_id, evidence_id=evidence_id, basis=basis,
                  opened_by_id=who.id if who else None, opened_dt=get_clock().now_utc(), state=OPENED,
                  next_date=clock.publicity_start, window_end=clock.response_due)
    db.session.add(p)
    db.session.flush()
    db.session.add(ProcedureStep(procedure_id=p.id, step=OPENED, step_date=opened, by_id=who.id if who else None,
                                 dt=get_clock().now_utc()))
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
        return text + (" " + clock.warning if clock.warning else "")

    _notice(h, "risk_notice", "procedure", p.id, opened, _l("Risk notice before joint-punishment listing"), body)
    _push(h, "punishment_list.opened", {"list": "punishment", "procedure_id": p.id, "status": OPENED,
                                        "route": route, "clause": clause, "opened_date": opened.isoformat(),
                                        "disclose": False})
    return p


def _take_step(h: Household, p: Procedure, step: str, on: date, *, reason: str | None = None,
               who: User | None = None) -> ProcedureStep:
    """Write one dated step, update the procedure's cached state, and leave its audit entry, notice and event."""
    before = {"state": p.state, "window_end": p.window_end.isoformat() if p.window_end else None}
    if step == PUBLICITY:
        end, listing = _publicity_window(p, on)
        p.state, p.window_end, p.next_date = PUBLICITY, end, listing
    elif step == LISTED:
        through = add_years(on, _procedure_rules(p).listing_years)
        p.state, p.listed_date, p.listed_through = LISTED, on, through
        p.window_end, p.next_date = through, through + timedelta(days=1)
    elif step == ENDED:
        p.state, p.window_end, p.next_date = ENDED, None, None
    row = ProcedureStep(procedure_id=p.id, step=step, step_date=on, reason=reason, by_id=who.id if who else None,
                        dt=get_clock().now_utc())
    db.session.add(row)
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


def expire_listings(today: date | None = None) -> dict:
    """Daily: end every listing whose term (L + 3 years) is over, dated the day after its last day."""
    return advance_due_procedures(today, states=(LISTED,))


def advance_due_procedures(today: date | None = None, states=(OPENED, PUBLICITY)) -> dict:
    """Daily: take every time-driven step whose earliest date has come (publicity, listing; with
    `states=(LISTED,)` the end of the term)."""
    today = today or _today()
    taken = {PUBLICITY: 0, LISTED: 0, ENDED: 0, "held": 0}
    due = db.session.scalars(sa.select(Procedure).where(Procedure.state.in_(states),
                                                        Procedure.next_date <= today)
                             .order_by(Procedure.next_date, Procedure.id)).all()
    households = {h.id: h for h in db.session.scalars(
        sa.select(Household).where(Household.id.in_({p.household_id for p in due}))
        .options(selectinload(Household.members)))} if due else {}
    for p in due:
        step = NEXT_STEP[p.state]
        if step != ENDED and _clock_stopped(p):
            taken["held"] += 1
            continue
        if step == ENDED:  # the term is a lapse of time: it ends the day after listed_through, whenever we look
            _take_step(households[p.household_id], p, ENDED, p.listed_through + timedelta(days=1),
                       reason="term_expired")
        else:
            _take_step(households[p.household_id], p, step, today)
        taken[step] += 1
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
            "calendar_warning": working_days_warning(p.opened_date, max(
                clock.listing_effective, p.next_date if p.state in (OPENED, PUBLICITY) else clock.listing_effective))}


# ---- rectification orders ------------------------------------------------------------------------------------

def _ground(code: str, on: date):
    for item in _rules().version_at(on).rectification:
        if item.code == code:
            return item
    return None


def issue_order(household_id: int, ground: str, deadline, requirement: str, record_id, who: User
                ) -> RectificationOrder:
    """Order the household to correct by a deadline (责令限期改正/退回/补缴, HB 六 (一)–(四))."""
    h = _gated(household_id, "lists.write", who)
    clean = load(OrderIn(), {"ground": ground, "deadline": deadline, "requirement": requirement,
                             "record_id": record_id})
    today = _today()
    item = _ground(clean["ground"], today)
    errors = {}
    if item is None:
        errors["ground"] = [_("Choose one of the grounds of HB 六 (一)–(四).")]
    deadline_error = deadline_problem(clean["deadline"], today, _rules().version_at(today))
    if deadline_error:
        errors["deadline"] = [deadline_error]
    if clean["record_id"] is not None:
        owner = db.session.scalar(sa.select(Record.household_id).where(Record.id == clean["record_id"]))
        if owner != h.id:
            errors["record_id"] = [_("This record does not belong to the household.")]
    if errors:
        raise InvalidInput(_l("The input is not valid."), errors=errors)
    order = RectificationOrder(household_id=h.id, region_code=h.region_code, ground=item.code,
                               record_id=clean["record_id"], issued_date=today, deadline=clean["deadline"],
                               requirement=clean["requirement"], issued_by_id=who.id,
                               issued_dt=get_clock().now_utc())
    db.session.add(order)
    db.session.flush()
    audit.record("order.issue", "rectification_order", order.id, household_id=h.id, region_code=h.region_code,
                 after={"ground": item.code, "clause": item.clause, "deadline": order.deadline.isoformat(),
                        "record_id": order.record_id}, actor=(who.id, who.username))
    _notice(h, "rectification_order", "rectification_order", order.id, today,
            _l("Order to rectify by a deadline"),
            lambda: _("Your household (archive %(archive)s) is ordered to: %(requirement)s — by %(deadline)s "
                      "(%(ground)s, %(clause)s). If the order is not complied with by that day, a joint-punishment "
                      "procedure opens the day after (HB 六).", archive=h.archive_no,
                      requirement=order.requirement, deadline=order.deadline.isoformat(), ground=item.title_zh,
                      clause=item.clause))
    return order


def _order(order_id: int) -> RectificationOrder:
    order = db.session.get(RectificationOrder, order_id)
    if order is None:
        raise NotFound()
    return order


def _procedure_of_order(order_id: int) -> Procedure | None:
    return db.session.scalar(sa.select(Procedure).where(Procedure.order_id == order_id))


def record_compliance(order_id: int, complied_date, note: str, who: User) -> OrderCompliance:
    """Record that the order was complied with on a date — on or before the deadline, before any procedure."""
    order = _order(order_id)
    h = _gated(order.household_id, "lists.write", who)
    clean = load(ComplianceIn(), {"complied_date": complied_date, "note": note or ""})
    scoring.lock_household(h.id)
    if db.session.scalar(sa.select(OrderCompliance.id).where(OrderCompliance.order_id == order.id)):
        raise Conflict(_l("Compliance with this order is already recorded."))
    opened = _procedure_of_order(order.id)
    if opened is not None:
        raise Conflict(_l("The deadline passed without compliance and procedure %(id)s opened on %(date)s; "
                          "compliance can no longer be recorded on this order.", id=opened.id,
                          date=opened.opened_date.isoformat()))
    today, done = _today(), clean["complied_date"]
    if done > today:
        raise InvalidInput(_l("The date may not be in the future."), field="complied_date")
    if done < order.issued_date:
        raise InvalidInput(_l("The order was issued on %(date)s; compliance cannot be earlier.",
                              date=order.issued_date.isoformat()), field="complied_date")
    if done > order.deadline:
        raise Conflict(_l("The deadline %(date)s had passed: compliance after it does not stop the procedure.",
                          date=order.deadline.isoformat()), field="complied_date")
    row = OrderCompliance(order_id=order.id, complied_date=done, note=clean["note"], by_id=who.id,
                          dt=get_clock().now_utc())
    db.session.add(row)
    db.session.flush()
    audit.record("order.comply", "rectification_order", order.id, household_id=h.id, region_code=h.region_code,
                 after={"complied_date": done.isoformat()}, actor=(who.id, who.username))
    return row


def open_overdue_orders(today: date | None = None) -> dict:
    """Daily: every order past its deadline without compliance opens its procedure (route overdue_order).

    Opened the day the job runs — the day after the deadline when it runs daily; never twice (unique order_id).
    """
    today = today or _today()
    overdue = db.session.scalars(_overdue_select(today).order_by(RectificationOrder.id)).all()
    for order in overdue:
        scoring.lock_household(order.household_id)
        if _procedure_of_order(order.id) is not None:  # opened meanwhile by another transaction
            continue
        h = _household(order.household_id)
        item = _ground(order.ground, order.issued_date)
        _open(h, OVERDUE_ORDER, today, record_id=order.record_id,
              order_id=order.id, clause=item.clause if item else None,
              basis=_stored(lambda: _("Order %(id)s (%(ground)s) was not complied with by its deadline "
                                      "%(deadline)s.", id=order.id, ground=item.title_zh if item else order.ground,
                                      deadline=order.deadline.isoformat())))
        after_facts_changed(h.id)
    return {"opened": len(overdue)}


def _overdue_select(today: date):
    return (sa.select(RectificationOrder)
            .where(RectificationOrder.deadline < today,
                   ~sa.exists().where(OrderCompliance.order_id == RectificationOrder.id),
                   ~sa.exists().where(Procedure.order_id == RectificationOrder.id)))


def _order_status(order: RectificationOrder, compliance, procedure_id, today: date) -> str:
    if compliance is not None:
        return "complied"
    if procedure_id is not None:
        return "procedure"
    return "overdue" if order.deadline < today else "open"


def orders_for(household_id: int, who: User) -> list[dict]:
    _readable(household_id, who)
    today = _today()
    rows = db.session.execute(
        sa.select(RectificationOrder, OrderCompliance, Procedure.id)
        .outerjoin(OrderCompliance, OrderCompliance.order_id == RectificationOrder.id)
        .outerjoin(Procedure, Procedure.order_id == RectificationOrder.id)
        .where(RectificationOrder.household_id == household_id).order_by(RectificationOrder.id)).all()
    return [order_view(o, c, pid, today) for o, c, pid in rows]


def order_view(o: RectificationOrder, c: OrderCompliance | None, procedure_id, today: date) -> dict:
    item = _ground(o.ground, o.issued_date)
    status = _order_status(o, c, procedure_id, today)
    return {"id": o.id, "household_id": o.household_id, "ground": o.ground,
            "ground_title": title_of(item) if item else o.ground, "clause": item.clause if item else "",
            "record_id": o.record_id, "issued_date": o.issued_date, "deadline": o.deadline,
            "requirement": o.requirement, "status": status, "status_label": ORDER_STATUS_LABELS[status],
            "compliance": {"complied_date": c.complied_date, "note": c.note} if c else None,
            "procedure_id": procedure_id}


def grounds() -> list:
    return list(_rules().version_at(_today()).rectification)


# ---- status, measures, the credit check ----------------------------------------------------------------------

@dataclass
class Measure:
    code: str
    title: str
    clause: str
    basis: list[str] = field(default_factory=list)
    suspended_by: list[str] = field(default_factory=list)

    @property
    def suspended(self) -> bool:
        return bool(self.suspended_by)


def _watch_in_force(household_id: int, today: date) -> WatchEntry | None:
    """The cached entry in force today; an entry past its period counts as ended even before the job runs."""
    return db.session.scalar(sa.select(WatchEntry).where(
        WatchEntry.household_id == household_id, WatchEntry.start_date <= today, WatchEntry.until_date >= today,
        sa.or_(WatchEntry.end_date.is_(None), WatchEntry.end_date > today)))


def _open_procedures(household_id: int, today: date) -> list[Procedure]:
    return [p for p in db.session.scalars(sa.select(Procedure).where(Procedure.household_id == household_id,
                                                                     Procedure.state != ENDED)
                                          .order_by(Procedure.id))
            if not (p.state == LISTED and p.listed_through < today)]


def measures_for(household_id: int, tier: str, watched: bool, listed_ids: list[int], on: date) -> list[Measure]:
    """The measures that apply (惩戒措施清单, SPEC §8): per household tier and per list, from the rules data."""
    version = _rules().version_at(on)
    out: dict[str, Measure] = {}

    def add(items, basis):
        for item in items:
            m = out.setdefault(item.code, Measure(item.code, title_of(item), item.clause))
            m.basis.append(basis)

    if tier != "good":
        add(version.measures_for_tier(tier), "tier")
    if watched:
        add(version.measures_for_list("watch"), "watch")
    for pid in listed_ids:
        add(version.measures_for_list("punishment"), f"procedure:{pid}")
    for m in out.values():
        # A measure is suspended only when every basis it stands on is suspended (HB 七: 核实期间暂不执行).
        found = [[ref for provider in suspension_providers for ref in provider(household_id, b)] for b in m.basis]
        if found and all(found):
            m.suspended_by = [ref for refs in found for ref in refs]
    return list(out.values())


def status(h: Household, today: date | None = None) -> dict:
    """Tier, score, list memberships and the measures that apply today — read-only, for pages and checks."""
    today = today or _today()
    rules = _rules()
    credit = compute_credit(scoring.facts_for([h.id])[h.id], rules, today)
    watch = _watch_in_force(h.id, today)
    procedures = _open_procedures(h.id, today)
    listed = [p.id for p in procedures if p.state == LISTED]
    measures = measures_for(h.id, credit.tier, watch is not None, listed, today)
    band = rules.version_at(today).tiers[credit.tier]
    return {"as_of": today, "score": credit.score, "tier": credit.tier, "tier_title": title_of(band),
            "watch": watch, "procedures": procedures, "listed": bool(listed), "measures": measures,
            "suspended": any(m.suspended for m in measures)}


@dataclass
class CheckResult:
    check: CreditCheck
    found: bool
    business: str
    id_number_masked: str
    household: Household | None = None
    status: dict | None = None


def credit_check(id_number: str, business: str, purpose: str, who: User) -> CheckResult:
    """The credit check before a housing-security business (HB 六: 在受理或实施住房保障相关业务时，应当查询…).

    Always logged (who, business, purpose, masked ID, tier) with an audit entry, also when no archive answers;
    the caller commits and answers 404 when `found` is False. A household outside the user's region is treated
    as unknown, like the archive.
    """
    gate.require("credit.check", who)
    clean = load(CreditCheckIn(), {"id_number": id_number, "business": business, "purpose": purpose or ""})
    number = idnumbers.validate(clean["id_number"])
    masked = mask_id_number(number)
    h = db.session.scalar(sa.select(Household).join(Member, Member.household_id == Household.id)
                          .where(Member.id_number == number))
    if h is not None and (who.role == Role.household or not regions.covers(who.region_code, h.region_code)):
        h = None
    today = _today()
    answer = status(h, today) if h is not None else None
    row = CreditCheck(dt=get_clock().now_utc(), user_id=who.id, household_id=h.id if h else None,
                      id_number_masked=masked, business=clean["business"], purpose=clean["purpose"],
                      tier=answer["tier"] if answer else None)
    db.session.add(row)
    db.session.flush()
    audit.record("credit.check", "credit_check", row.id, household_id=h.id if h else None,
                 region_code=h.region_code if h else None,
                 after={"business": row.business, "purpose": row.purpose, "id_number": masked, "tier": row.tier,
                        "found": h is not None}, actor=(who.id, who.username))
    return CheckResult(check=row, found=h is not None, business=row.business, id_number_masked=masked,
                       household=h, status=answer)


def check_view(result: CheckResult) -> dict:
    """The check's answer as plain data (API and page)."""
    out = {"check_id": result.check.id, "found": result.found, "as_of": _today(), "business": result.business,
           "id_number": result.id_number_masked, "household_id": None, "archive_no": None, "score": None,
           "tier": None, "tier_title": None, "watch": None, "procedures": [], "listed": False, "measures": [],
           "suspended": False}
    if result.found:
        s = result.status
        out.update(household_id=result.household.id, archive_no=result.household.archive_no, score=s["score"],
                   tier=s["tier"], tier_title=s["tier_title"], listed=s["listed"], suspended=s["suspended"],
                   as_of=s["as_of"],
                   watch={"start_date": s["watch"].start_date, "until_date": s["watch"].until_date}
                   if s["watch"] else None,
                   procedures=[{"id": p.id, "route": p.route, "state": p.state, "opened_date": p.opened_date,
                                "window_end": p.window_end, "listed_date": p.listed_date,
                                "listed_through": p.listed_through} for p in s["procedures"]],
                   measures=[{"code": m.code, "title": m.title, "clause": m.clause, "basis": m.basis,
                              "suspended": m.suspended, "suspended_by": m.suspended_by} for m in s["measures"]])
    return out


# ---- the watch list page and what is due ---------------------------------------------------------------------

def _head_name():
    return (sa.select(Member.name).where(Member.household_id == Household.id, Member.relation == Relation.head)
            .limit(1).scalar_subquery())


def _scope(column, who: User, region: str | None = None):
    """The user's region, narrowed to `region` when given (which must lie inside it)."""
    clauses = [gate.region_clause(column, who)]
    if region:
        if regions.get(region) is None:
            raise InvalidInput(_l("Unknown region code."), field="region")
        if not regions.covers(who.region_code, region):
            raise Forbidden()
        lo, hi = regions.code_range(region)
        clauses.append(column.between(lo, hi))
    return clauses


def watch_list(args: dict, who: User) -> dict:
    """The watch list of the user's region, filterable by region, status (active/ended) and end reason."""
    gate.require("lists.read", who)
    q = load(WatchListQuery(), args)
    today = _today()
    size = current_app.config.get("PAGE_SIZE", 50)
    active = sa.and_(WatchEntry.until_date >= today, sa.or_(WatchEntry.end_date.is_(None),
                                                            WatchEntry.end_date > today))
    stmt = (sa.select(WatchEntry, Household.archive_no, _head_name().label("head"))
            .join(Household, Household.id == WatchEntry.household_id)
            .where(*_scope(WatchEntry.region_code, who, q["region"])))
    if q["status"] == "active":
        stmt = stmt.where(active)
    elif q["status"] == "ended":
        stmt = stmt.where(~active)
    if q["reason"]:
        stmt = stmt.where(WatchEntry.reason == q["reason"])
    rows = db.session.execute(stmt.order_by(WatchEntry.start_date.desc(), WatchEntry.id.desc())
                              .limit(size + 1).offset((q["page"] - 1) * size)).all()
    items = []
    for e, archive_no, head in rows[:size]:
        on = e.until_date >= today and (e.end_date is None or e.end_date > today)
        items.append({"id": e.id, "household_id": e.household_id, "archive_no": archive_no,
                      "head": mask_name(head), "region_code": e.region_code, "start_date": e.start_date,
                      "until_date": e.until_date, "end_date": e.end_date or (None if on else e.until_date
                                                                             + timedelta(days=1)),
                      "reason": e.reason or (None if on else "expired"), "active": on, "grounds": e.grounds})
    return {"items": items, "page": q["page"], "has_more": len(rows) > size, "filters": q}


def due(who: User, today: date | None = None) -> dict:
    """What is due in the user's region: procedure windows ending today, overdue orders and orders due today,
    watch periods ending in the next 7 days."""
    gate.require("lists.read", who)
    today = today or _today()
    limit = current_app.config.get("PAGE_SIZE", 50) * 4
    procs = db.session.execute(
        sa.select(Procedure, Household.archive_no).join(Household, Household.id == Procedure.household_id)
        .where(Procedure.window_end == today, Procedure.state != ENDED, *_scope(Procedure.region_code, who))
        .order_by(Procedure.id).limit(limit)).all()
    overdue = db.session.execute(
        sa.select(RectificationOrder, Household.archive_no, Procedure.id)
        .join(Household, Household.id == RectificationOrder.household_id)
        .outerjoin(Procedure, Procedure.order_id == RectificationOrder.id)
        .where(RectificationOrder.deadline <= today,
               ~sa.exists().where(OrderCompliance.order_id == RectificationOrder.id),
               sa.or_(Procedure.id.is_(None), Procedure.opened_date >= today - timedelta(days=7)),
               *_scope(RectificationOrder.region_code, who))
        .order_by(RectificationOrder.deadline.desc(), RectificationOrder.id).limit(limit)).all()
    watch = db.session.execute(
        sa.select(WatchEntry, Household.archive_no).join(Household, Household.id == WatchEntry.household_id)
        .where(WatchEntry.end_date.is_(None), WatchEntry.until_date.between(today, today + timedelta(days=7)),
               *_scope(WatchEntry.region_code, who))
        .order_by(WatchEntry.until_date, WatchEntry.id).limit(limit)).all()
    return {
        "as_of": today,
        "procedures": [{"id": p.id, "household_id": p.household_id, "archive_no": a, "state": p.state,
                        "state_label": str(STEP_LABELS[p.state]), "window_end": p.window_end.isoformat(),
                        "next_date": p.next_date.isoformat() if p.next_date else None} for p, a in procs],
        "overdue_orders": [{"id": o.id, "household_id": o.household_id, "archive_no": a,
                            "deadline": o.deadline.isoformat(), "ground": o.ground, "procedure_id": pid}
                           for o, a, pid in overdue if o.deadline < today],
        "orders_due_today": [{"id": o.id, "household_id": o.household_id, "archive_no": a,
                              "deadline": o.deadline.isoformat(), "ground": o.ground}
                             for o, a, pid in overdue if o.deadline == today],
        "watch_ending": [{"id": e.id, "household_id": e.household_id, "archive_no": a,
                          "start_date": e.start_date.isoformat(), "until_date": e.until_date.isoformat()}
                         for e, a in watch],
    }


def panel(household: Household, who: User) -> dict:
    """What the archive page shows of the lists: status, watch history, orders, procedures (read-only)."""
    _readable(household.id, who)
    today = _today()
    entries = db.session.scalars(sa.select(WatchEntry).where(WatchEntry.household_id == household.id)
                                 .order_by(WatchEntry.start_date.desc())).all()
    return {"status": status(household, today), "today": today, "watch_entries": entries,
            "orders": orders_for(household.id, who),
            "procedures": [procedure_view(p) for p in procedures_for(household.id, who)],
            "grounds": grounds(), "routes": MANUAL_ROUTES, "route_labels": ROUTE_LABELS,
            "watch_reason_labels": WATCH_REASON_LABELS, "can_write": gate.can("lists.write", who)
            and who.role != Role.household}
