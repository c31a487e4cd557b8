"""Credit repair use cases (信用修复, HB 七; LN 第十–十三条; SPEC §9): the conditions checked before submission, the
application (the household, or staff at the counter), the one handler who accepts alone (or sends the one notice of
what is missing), the extension once, the decision with two people, and its effect — each one transaction with its
audit entry.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, gettext as _, lazy_gettext as _l
from sqlalchemy.orm import selectinload

from .. import decisions
from ..accounts import gate
from ..accounts.models import Role, User
from ..archives.models import Household
from ..audit import service as audit
from ..clock import get_clock
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..extensions import db
from ..records import service as records, storage
from ..records.models import Decision, Determination, Record
from ..rules.loader import RulesError
from ..scoring import service as scoring
from ..validation import load
from .clocks import repair_clock, repairable_from
from .models import RepairApplication, RepairMaterial, RepairProposal, RepairReview, RepairStep
from .schemas import ObjectionDecisionIn, RepairIn, RepairIncompleteIn, RepairProposalIn
from .service import _household, _item_open

SUBMITTED, INCOMPLETE, ACCEPTED, PROPOSED, GRANTED, REFUSED = (
    "submitted", "incomplete", "accepted", "proposed", "granted", "refused")


# ---- reading the facts ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RepairView:
    status: str
    received: date | None  # R: the filing date, or the day the materials were made complete
    accepted: date | None
    acceptance_due: date | None
    decision_due: date | None
    extended: bool
    decided: date | None
    outcome: str | None


def _step(a: RepairApplication, kind: str) -> RepairStep | None:
    return next((s for s in a.steps if s.kind == kind), None)


def decision_of(a: RepairApplication) -> tuple[str | None, date | None, RepairProposal | None]:
    for p in a.proposals:
        if p.review is not None and p.review.confirmed:
            return p.outcome, p.review.decided_date, p
    return None, None, None


def view_of(a: RepairApplication) -> RepairView:
    outcome, decided, _p = decision_of(a)
    incomplete, completed = _step(a, "incomplete"), _step(a, "completed")
    accepted, extended = _step(a, "accepted"), _step(a, "extended")
    received = completed.on if completed else (None if incomplete else a.filed_date)
    version = scoring.rules_book().version_at(a.filed_date)
    clock = repair_clock(received, accepted.on if accepted else None, version) if received else None
    decision_due = None
    if clock and accepted:
        decision_due = clock.decision_due_extended if extended else clock.decision_due
    if outcome:
        status = outcome
    elif any(p.review is None for p in a.proposals):
        status = PROPOSED
    elif accepted:
        status = ACCEPTED
    elif incomplete and not completed:
        status = INCOMPLETE
    else:
        status = SUBMITTED
    return RepairView(status=status, received=received, accepted=accepted.on if accepted else None,
                      acceptance_due=clock.acceptance_due if clock and not accepted else None,
                      decision_due=decision_due, extended=extended is not None, decided=decided, outcome=outcome)


def due_of(a: RepairApplication) -> date | None:
    """The next deadline of an open application: acceptance while not accepted, then the decision."""
    v = view_of(a)
    return v.decision_due or v.acceptance_due


def _options():
    return [selectinload(RepairApplication.materials), selectinload(RepairApplication.steps),
            selectinload(RepairApplication.proposals).selectinload(RepairProposal.review)]


def _load(application_id: int) -> RepairApplication:
    a = db.session.get(RepairApplication, application_id, options=_options())
    if a is None:
        raise NotFound()
    return a


def _refresh(a: RepairApplication) -> RepairApplication:
    db.session.flush()
    db.session.refresh(a, ["materials", "steps", "proposals"])
    return a


def get_repair(application_id: int, who: User) -> RepairApplication:
    """An application, for its own household or staff of the region; a staff read is logged (SPEC §1)."""
    a = _load(application_id)
    gate.read_household(db.session.get(Household, a.household_id), "credit.read", who, "repair.read", "repair",
                        a.id)
    return a


def repairs_for(household_id: int, who: User) -> list[RepairApplication]:
    h = _household(household_id, who)
    gate.log_read("repairs.read", h, who)  # a staff read of the household's file (SPEC §1)
    return list(db.session.scalars(sa.select(RepairApplication).where(RepairApplication.household_id == h.id)
                                   .order_by(RepairApplication.id.desc()).options(*_options())))


def _undecided():
    return ~sa.exists().where(RepairProposal.application_id == RepairApplication.id,
                              RepairReview.proposal_id == RepairProposal.id, RepairReview.confirmed)


def open_repairs(who: User, region_code: str | None = None) -> list[RepairApplication]:
    """Undecided applications in the user's region, the earliest due first (so the overdue ones lead)."""
    gate.require("lists.read", who)
    rows = list(db.session.scalars(sa.select(RepairApplication)
                                   .where(_undecided(), gate.region_clause(RepairApplication.region_code, who))
                                   .options(*_options())))
    return sorted(rows, key=lambda a: (due_of(a) or date.max, a.id))


def get_material(material_id: int, who: User):
    """A repair application's uploaded file (materials or the signed commitment) and where its bytes are: for the
    household itself and staff of its region; a staff download is logged as a read (`materials.read`)."""
    m = db.session.get(RepairMaterial, material_id)
    if m is None:
        raise NotFound()
    a = db.session.get(RepairApplication, m.application_id)
    gate.read_household(db.session.get(Household, a.household_id), "credit.read", who, "materials.read", "repair",
                        a.id)
    return m, storage.path_for(m.sha256)


# ---- the conditions (LN 第十一条, 第十二条), checked before submission -----------------------------------------

def _behaviour(r: Record):
    det = db.session.scalar(sa.select(Determination).where(Determination.record_id == r.id))
    try:
        return scoring.rules_book().behaviour_on(r.code, r.region_code, det.determination_date), det
    except RulesError:
        return None, det


def _conditions(h: Household, clean: dict, uploads: list, commitment_uploads: list, today: date,
                on: date) -> tuple[dict[str, list[str]], date | None, Record | None]:
    """Everything missing for an application on `on` (the received date), as {field: [messages]}; the first day
    the minimum period is met; the record. A record marked not repairable is a Conflict (refused, with why)."""
    missing: dict[str, list[str]] = {}
    record = None
    first = None
    if clean.get("record_id") is None:
        missing["record_id"] = [_("Choose the record you apply to have repaired.")]
    else:
        record = db.session.get(Record, clean["record_id"])
        decision, revoked, repaired = records._standing_state(record.id) if record else (None, False, False)
        if record is None or record.household_id != h.id or decision != Decision.confirmed:
            raise InvalidInput(_l("The input is not valid."), errors={"record_id": [_("No such record.")]})
        if revoked or repaired or not _item_open(h, record, None, today):
            raise Conflict(_l("This record has been revoked or repaired, or no longer counts and grounds nothing "
                              "in force: there is nothing to repair."), field="record_id")
        b, det = _behaviour(record)
        if b is None or not b.repairable:
            raise Conflict(_l("This behaviour is marked not repairable in the catalogue (LN 第十条): credit repair "
                              "cannot be granted for it."), field="record_id")
        first = repairable_from(b, det.determination_date)
        if on < det.determination_date:
            missing["received_date"] = [_("The application cannot have been received before the determination.")]
        elif on < first and not (clean.get("non_intentional") or "").strip():
            missing["record_id"] = [_("The minimum publicity period (LN 第十一条) is met only from %(date)s: apply "
                                      "from that day, or explain why the behaviour was not intentional (HB 七).",
                                      date=first.isoformat())]
    if not (clean.get("declaration") or "").strip():
        missing["declaration"] = [_("Declare how the behaviour has been corrected and the obligations fulfilled "
                                    "(LN 第十一条).")]
    if not clean.get("commitment_signed") and not commitment_uploads:
        missing["commitment"] = [_("Sign the credit commitment (信用承诺书): tick the box or upload the signed "
                                   "commitment.")]
    if not uploads:
        missing["materials"] = [_("Add the materials proving the correction and the fulfilment (LN 第十二条).")]
    return missing, first, record


def _uploads(files, commitment_files, errors: dict):
    uploads, commitment = [], []
    try:
        uploads = storage.check(files, field="materials")
    except InvalidInput as err:
        errors["materials"] = [m for v in err.errors.values() for m in v]
    try:
        commitment = storage.check(commitment_files or [], field="commitment")
    except InvalidInput as err:
        errors["commitment"] = [m for v in err.errors.values() for m in v]
    return uploads, commitment


def check_conditions(household_id: int, data: dict, files, commitment_files, who: User) -> dict:
    """What an application would lack if submitted now — nothing is written."""
    h = _household(household_id, who, "record.create")
    clean = load(RepairIn(), data or {})
    errors: dict = {}
    uploads, commitment = _uploads(files, commitment_files, errors)
    today = get_clock().today()
    missing, first, _r = _conditions(h, clean, uploads, commitment, today, clean.get("received_date") or today)
    missing.update(errors)
    return {"ok": not missing, "missing": missing, "repairable_from": first}


# ---- filing --------------------------------------------------------------------------------------------------

def _pick_handler(h: Household, recorder_id: int | None) -> User | None:
    from .service import pick_handler
    return pick_handler(h, recorder_id, RepairApplication.handler_id, _undecided())


def _store(a: RepairApplication, uploads, kind: str, who: User) -> None:
    now = get_clock().now_utc()
    for u in uploads:
        db.session.add(RepairMaterial(application_id=a.id, kind=kind, filename=u.filename,
                                      content_type=u.content_type, size=u.size, sha256=storage.store(u),
                                      uploaded_by_id=who.id, uploaded_dt=now))


def apply(household_id: int, data: dict, files, commitment_files, who: User) -> RepairApplication:
    """Apply for the repair of a confirmed record (the household, or staff at the counter with the date the paper
    application was received). Refused, naming every missing condition, unless all are met; one open application
    per record."""
    at_counter = who.role != Role.household
    h = _household(household_id, who, "record.create")
    clean = load(RepairIn(), data or {})
    today = get_clock().today()
    errors: dict[str, list[str]] = {}
    filed = today
    if at_counter:
        received = clean.get("received_date")
        if received is None:
            errors["received_date"] = [_("Give the date the application was received at the counter.")]
        elif received > today:
            errors["received_date"] = [_("The date may not be in the future.")]
        else:
            filed = received
    uploads, commitment = _uploads(files, commitment_files, errors)
    scoring.lock_household(h.id)
    missing, _first, record = _conditions(h, clean, uploads, commitment, today, filed)
    errors = {**missing, **errors}
    if errors:
        raise InvalidInput(_l("The application is not complete."), errors=errors)
    if db.session.scalar(sa.select(RepairApplication.id).where(RepairApplication.record_id == record.id,
                                                               _undecided()).limit(1)):
        raise Conflict(_l("An application to repair this record is already open."), field="record_id")
    handler = _pick_handler(h, record.recorded_by_id)
    clock = get_clock()
    a = RepairApplication(household_id=h.id, region_code=h.region_code, record_id=record.id, filed_date=filed,
                          declaration=clean["declaration"], commitment_signed=bool(clean["commitment_signed"]),
                          non_intentional=clean["non_intentional"], at_counter=at_counter, filed_by_id=who.id,
                          filed_dt=clock.now_utc(), handler_id=handler.id if handler else None)
    db.session.add(a)
    db.session.flush()
    _store(a, uploads, "materials", who)
    _store(a, commitment, "commitment", who)
    _refresh(a)
    audit.record("repair.apply", "repair", a.id, household_id=h.id, region_code=h.region_code,
                 after={"record_id": record.id, "filed_date": filed.isoformat(), "at_counter": at_counter,
                        "handler_id": a.handler_id, "non_intentional": bool(a.non_intentional.strip()),
                        "materials": [m.sha256 for m in a.materials]}, actor=(who.id, who.username))
    return a


def assign_handler(application_id: int, who: User) -> RepairApplication:
    """A caseworker of the region takes an application that found no handler; once set it is locked."""
    a = _load(application_id)
    h = _household(a.household_id, who, "record.create", household_may=False)
    if who.role != Role.caseworker:
        raise Forbidden()
    if a.handler_id is not None:
        raise Conflict(_l("This application already has its handler."))
    if db.session.get(Record, a.record_id).recorded_by_id == who.id:
        raise Forbidden(_l("You recorded the behaviour: another caseworker must handle the application."))
    a.handler_id = who.id
    audit.record("repair.assign", "repair", a.id, household_id=h.id, region_code=h.region_code,
                 after={"handler_id": who.id}, actor=(who.id, who.username))
    return a


# ---- the handler alone: incomplete (one notice), accepted, extended once -------------------------------------

def _as_handler(application_id: int, who: User) -> tuple[RepairApplication, Household]:
    a = _load(application_id)
    h = _household(a.household_id, who, "record.create", household_may=False)
    if a.handler_id != who.id:
        raise Forbidden(_l("Only the application's handler may do this."))
    scoring.lock_household(h.id)
    if decision_of(a)[0] is not None:
        raise Conflict(_l("This application has already been decided."))
    return a, h


def _add_step(a: RepairApplication, h: Household, kind: str, note: str, who: User) -> RepairStep:
    clock = get_clock()
    s = RepairStep(application_id=a.id, kind=kind, on=clock.today(), note=note, by_id=who.id, dt=clock.now_utc())
    db.session.add(s)
    _refresh(a)
    audit.record(f"repair.{kind}", "repair", a.id, household_id=h.id, region_code=h.region_code,
                 after={"on": s.on.isoformat()}, actor=(who.id, who.username))
    return s


def _notice(h: Household, kind: str, a: RepairApplication, title: str, body: str, on: date) -> None:
    from ..notices import service as notices
    notices.issue(h.id, kind, "repair", a.id, title, body, issued_date=on, region_code=h.region_code)


def mark_incomplete(application_id: int, data: dict, who: User) -> RepairApplication:
    """The handler finds the materials incomplete: ONE notice listing everything missing (LN 第十二条); a second
    is refused. The received date becomes the day the materials are complete."""
    a, h = _as_handler(application_id, who)  # the gate first: outside the region, 404 whatever the input
    clean = load(RepairIncompleteIn(), data or {})
    if _step(a, "accepted"):
        raise Conflict(_l("This application has already been accepted."))
    if _step(a, "incomplete"):
        raise Conflict(_l("The notice of what is missing has already been sent: an application gets one notice "
                          "listing everything missing (LN 第十二条)."))
    s = _add_step(a, h, "incomplete", clean["missing"], who)
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        title = _("Notice: your credit repair application is incomplete")
        body = _("Your credit repair application filed on %(filed)s is not complete. Everything still missing: "
                 "%(missing)s. Once you add it, the application counts as received on the day it is complete.",
                 filed=a.filed_date.isoformat(), missing=s.note)
    _notice(h, "repair_incomplete", a, title, body, s.on)
    return a


def complete(application_id: int, data: dict, files, commitment_files, who: User) -> RepairApplication:
    """The household (or staff at the counter) adds what the notice listed: R becomes today."""
    a = _load(application_id)
    h = _household(a.household_id, who, "record.create")
    errors: dict = {}
    uploads, commitment = _uploads(files, commitment_files, errors)
    if errors:
        raise InvalidInput(_l("The input is not valid."), errors=errors)
    if not uploads and not commitment:
        raise InvalidInput(_l("The input is not valid."), errors={"materials": [_("Choose at least one file.")]})
    scoring.lock_household(h.id)
    if view_of(a).status != INCOMPLETE:
        raise Conflict(_l("Materials can be added only after the notice of what is missing."))
    _store(a, uploads, "materials", who)
    _store(a, commitment, "commitment", who)
    _add_step(a, h, "completed", "", who)
    return a


def accept(application_id: int, who: User) -> RepairApplication:
    """The handler accepts the application alone (LN 第十三条): the 7 working days of the decision run from today."""
    a, h = _as_handler(application_id, who)
    if _step(a, "accepted"):
        raise Conflict(_l("This application has already been accepted."))
    if view_of(a).status == INCOMPLETE:
        raise Conflict(_l("The materials listed in the notice are still missing."))
    s = _add_step(a, h, "accepted", "", who)
    db.session.flush()
    db.session.refresh(a, ["steps"])
    due = view_of(a).decision_due
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):  # the written acceptance (SPEC §12)
        title = _("Notice of acceptance of your credit repair application")
        body = _("Your credit repair application filed on %(filed)s was accepted on %(date)s. The decision on "
                 "whether your credit is repaired is made by %(due)s (LN 第十三条; extendable once by 10 working "
                 "days, with notice).", filed=a.filed_date.isoformat(), date=s.on.isoformat(),
                 due=due.isoformat() if due else "")
    _notice(h, "repair_acceptance", a, title, body, s.on)
    return a


def extend(application_id: int, data: dict, who: User) -> RepairApplication:
    """The handler extends the decision deadline by 10 working days — once (LN 第十三条)."""
    a, h = _as_handler(application_id, who)  # the gate first: outside the region, 404 whatever the input
    note = str((data or {}).get("reason") or "").strip()
    if not note:
        raise InvalidInput(_l("The input is not valid."), errors={"reason": [_("Say why more time is needed.")]})
    if not _step(a, "accepted"):
        raise Conflict(_l("Only an accepted application's decision deadline can be extended."))
    if _step(a, "extended"):
        raise Conflict(_l("The decision deadline has already been extended once: it cannot be extended again "
                          "(LN 第十三条)."))
    _add_step(a, h, "extended", note, who)
    return a


# ---- the decision with two people ----------------------------------------------------------------------------

def propose(application_id: int, data: dict, who: User) -> RepairProposal:
    """The handler proposes granted or refused; a refusal always with its reason; a grant before the minimum period
    only on the non-intentional path (HB 七), with the handler's stated reason."""
    a, h = _as_handler(application_id, who)  # the gate first: outside the region, 404 whatever the input
    clean = load(RepairProposalIn(), data or {})
    reasons = clean["reasons"].strip()
    if clean["outcome"] == REFUSED and not reasons:
        raise InvalidInput(_l("The input is not valid."), errors={"reasons": [_("A refusal always states its "
                                                                               "reason.")]})
    if not _step(a, "accepted"):
        raise Conflict(_l("Accept the application before proposing its decision."))
    if any(p.review is None for p in a.proposals):
        raise Conflict(_l("A proposal on this application is already awaiting review."))
    today = get_clock().today()
    if clean["outcome"] == GRANTED:
        record = db.session.get(Record, a.record_id)
        b, det = _behaviour(record)
        if b is None or not b.repairable:
            raise Conflict(_l("This behaviour is marked not repairable in the catalogue (LN 第十条): credit repair "
                              "cannot be granted for it."), field="record_id")
        first = repairable_from(b, det.determination_date)
        if today < first:
            if not clean["non_intentional"]:
                raise Conflict(_l("The minimum publicity period is met only from %(date)s; before then repair is "
                                  "granted only for behaviour judged not intentional (HB 七).",
                                  date=first.isoformat()), field="non_intentional")
            if not reasons:
                raise InvalidInput(_l("The input is not valid."), errors={"reasons": [
                    _("State why the behaviour was not intentional (HB 七).")]})
    return decisions.propose(
        h, who, lambda _today, now: RepairProposal(application_id=a.id, outcome=clean["outcome"], reasons=reasons,
                                                   non_intentional=bool(clean["non_intentional"]), by_id=who.id,
                                                   proposed_date=today, dt=now),
        action="repair.propose", object_type="repair", object_id=a.id,
        after=lambda p: {"proposal": p.id, "outcome": p.outcome, "non_intentional": p.non_intentional})


def decide(application_id: int, data: dict, who: User) -> RepairReview:
    """A reviewer other than the handler and the record's recorder confirms the proposal (decided that day) or
    sends it back. Granted: the record is repaired that day (records.repair_effect). The household gets the
    written decision either way."""
    a = _load(application_id)
    h = _household(a.household_id, who, "record.determine", household_may=False)
    clean = load(ObjectionDecisionIn(), data or {})
    record = db.session.get(Record, a.record_id)
    confirmed = clean["decision"] == "confirmed"
    review, proposal = decisions.decide(
        h, who, excluded=(a.handler_id, record.recorded_by_id),
        forbidden=_l("You handle this application or recorded the behaviour: another reviewer must decide it (two "
                     "people, SPEC §4)."),
        decided=lambda: decision_of(a)[0] is not None,
        decided_message=_l("This application has already been decided."),
        proposal=lambda: next((p for p in a.proposals if p.review is None), None),
        awaiting_message=_l("The handler has not proposed a decision yet."),
        make=lambda p, today, now: RepairReview(proposal_id=p.id, confirmed=confirmed, note=clean["note"],
                                                by_id=who.id, decided_date=today, dt=now),
        relation="review", action="repair.decide", object_type="repair", object_id=a.id,
        after=lambda row, p: {"proposal": p.id, "confirmed": confirmed, "outcome": p.outcome if confirmed else None,
                              "decided_date": row.decided_date.isoformat()})
    today = review.decided_date
    if not confirmed:
        return review
    if proposal.outcome == GRANTED:
        _decision, revoked, repaired = records._standing_state(record.id)
        if revoked or repaired:
            raise Conflict(_l("This record has been revoked or repaired meanwhile."))
        records.repair_effect(record, h, proposal.reasons or _("Credit repair granted."), who)
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        title = _("Written decision on your credit repair application")
        if proposal.outcome == GRANTED:
            body = _("Your credit repair application filed on %(filed)s was granted on %(date)s. From that day the "
                     "record of %(occurred)s stays in your archive marked repaired: it no longer counts in your "
                     "score, grounds no list and is no longer published; the provincial credit platform is "
                     "informed.", filed=a.filed_date.isoformat(), date=today.isoformat(),
                     occurred=record.occurred_date.isoformat())
        else:
            body = _("Your credit repair application filed on %(filed)s was refused on %(date)s. Reason: "
                     "%(reasons)s.", filed=a.filed_date.isoformat(), date=today.isoformat(),
                     reasons=proposal.reasons)
    _notice(h, "repair_result", a, title, body, today)
    return review


__all__ = ["accept", "apply", "check_conditions", "complete", "decide", "extend", "get_repair", "mark_incomplete",
           "open_repairs", "propose", "repairs_for", "view_of"]
