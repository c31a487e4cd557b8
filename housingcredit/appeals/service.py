"""Objection use cases (异议, HB 七; SPEC §9): file (the household, or staff at the counter), the handler's proposal,
the reviewer's decision (two people, SPEC §4), and what follows — revocation, correction or the procedure's end,
restoration (恢复信誉), written results — each one transaction with its audit entry.

`objection_facts(household_id)` is the one place the list engine learns of objections (lists/common.py hook).
"""
from __future__ import annotations

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
from ..lists.engine import ObjectionFact
from ..records import service as records, storage
from ..records.models import Decision, Determination, Record
from ..scoring import service as scoring
from ..scoring.engine import compute_credit
from ..validation import load
from .clocks import objection_due
from .models import Objection, ObjectionMaterial, ObjectionProposal, ObjectionReview, Restoration
from .schemas import ObjectionDecisionIn, ObjectionIn, ObjectionProposalIn

PENDING, PROPOSED, UPHELD, REJECTED = "pending", "proposed", "upheld", "rejected"


# ---- reading the facts ---------------------------------------------------------------------------------------

def decision_of(o: Objection) -> tuple[str | None, date | None, ObjectionProposal | None]:
    """(outcome, decided date, the confirmed proposal) — (None, None, None) while undecided."""
    for p in o.proposals:
        if p.review is not None and p.review.confirmed:
            return p.outcome, p.review.decided_date, p
    return None, None, None


def status_of(o: Objection) -> str:
    """pending (awaiting the handler) | proposed (awaiting the reviewer) | upheld | rejected."""
    outcome, _decided, _p = decision_of(o)
    if outcome:
        return outcome
    return PROPOSED if any(p.review is None for p in o.proposals) else PENDING


def _open_proposal(o: Objection) -> ObjectionProposal | None:
    return next((p for p in o.proposals if p.review is None), None)


def _load(objection_id: int) -> Objection:
    o = db.session.get(Objection, objection_id, options=[
        selectinload(Objection.materials), selectinload(Objection.proposals).selectinload(ObjectionProposal.review)])
    if o is None:
        raise NotFound()
    return o


def _household(household_id: int | None, who: User, permission: str = "credit.read",
               household_may: bool = True) -> Household:
    """The household's own user (where `household_may`), or staff of its region with `permission`; anyone else
    sees nothing (404)."""
    h = db.session.get(Household, household_id) if household_id is not None else None
    if who.role == Role.household:
        if h is None or h.id != who.household_id:
            raise NotFound()
        if not household_may:
            raise Forbidden()
        return h
    return gate.check_household(h, permission, who)


def get_objection(objection_id: int, who: User) -> Objection:
    """An objection, for its own household or staff of the region; a staff read is logged (one gate, SPEC §1)."""
    o = _load(objection_id)
    gate.read_household(db.session.get(Household, o.household_id), "credit.read", who, "objection.read",
                        "objection", o.id)
    return o


def objections_for(household_id: int, who: User) -> list[Objection]:
    h = _household(household_id, who)
    gate.log_read("objections.read", h, who)  # a staff read of the household's file (SPEC §1)
    return list(db.session.scalars(sa.select(Objection).where(Objection.household_id == h.id)
                                   .order_by(Objection.id.desc())
                                   .options(selectinload(Objection.materials),
                                            selectinload(Objection.proposals)
                                            .selectinload(ObjectionProposal.review))))


def _undecided():
    """Objections with no confirmed review."""
    return ~sa.exists().where(ObjectionProposal.objection_id == Objection.id,
                              ObjectionReview.proposal_id == ObjectionProposal.id, ObjectionReview.confirmed)


def open_objections(who: User) -> list[Objection]:
    """Undecided objections in the user's region, the earliest due first (so the overdue ones lead)."""
    gate.require("lists.read", who)
    return list(db.session.scalars(
        sa.select(Objection).where(_undecided(), gate.region_clause(Objection.region_code, who))
        .order_by(Objection.due_date, Objection.id)
        .options(selectinload(Objection.materials),  # the API lists them: never a query per objection
                 selectinload(Objection.proposals).selectinload(ObjectionProposal.review))))


def get_material(material_id: int, who: User):
    """An objection's uploaded file and where its bytes are: for the household itself and staff of its region
    (another household, or staff elsewhere, get 404); a staff download is logged as a read (`materials.read`)."""
    m = db.session.get(ObjectionMaterial, material_id)
    if m is None:
        raise NotFound()
    o = db.session.get(Objection, m.objection_id)
    gate.read_household(db.session.get(Household, o.household_id), "credit.read", who, "materials.read",
                        "objection", o.id)
    return m, storage.path_for(m.sha256)


def objection_facts(household_id: int) -> tuple[ObjectionFact, ...]:
    """Every objection of the household as the list engine's facts (filed, decided, outcome, repeat)."""
    rows = db.session.scalars(sa.select(Objection).where(Objection.household_id == household_id)
                              .order_by(Objection.id)
                              .options(selectinload(Objection.proposals).selectinload(ObjectionProposal.review)))
    out = []
    for o in rows:
        outcome, decided, _p = decision_of(o)
        out.append(ObjectionFact(id=o.id, filed=o.filed_date, record_id=o.record_id, procedure_id=o.procedure_id,
                                 decided=decided, outcome=outcome, repeat=o.repeat))
    return tuple(out)


# ---- filing --------------------------------------------------------------------------------------------------

def _item_open(h: Household, record: Record | None, procedure, today: date) -> bool:
    """May the item still be objected to today (SPEC §9)? A record while it counts in the score or grounds a list
    entry or measure in force — a watch entry in force (a mild record past its use period may still ground a
    mild+mild entry, §6), the open procedure or listing (as its opening record or an attached ground), or the
    application ban outliving a listing; a procedure while it is not ended, or while its application ban is in
    force. Asked of the list engine, the one the measures come from."""
    from ..lists import check as lists_check
    result = lists_check.measures_of(h.id, today)
    if procedure is not None:
        return procedure.state != "ended" or (result.ban is not None and result.ban.id == procedure.id)
    credit = compute_credit(scoring.facts_for([h.id])[h.id], scoring.rules_book(), today)
    if any(i.record_id == record.id for i in credit.items):
        return True
    if result.watch is not None and record.id in result.watch.grounds:
        return True
    return any(p is not None and (record.id == p.record_id or record.id in p.grounds
                                  or any(a.record_id == record.id for a in p.attached))
               for p in (result.procedure, result.listing, result.ban))


def _item_filter(record_id, procedure_id):
    return (Objection.record_id == record_id) if record_id is not None else (Objection.procedure_id == procedure_id)


def pick_handler(h: Household, recorder_id: int | None, handler_column, undecided) -> User | None:
    """A caseworker of the household's region other than the record's recorder, the least loaded first: the one
    rule for assigning an objection's or a repair application's handler (`handler_column` and `undecided` say
    whose open items count as load)."""
    candidates = [u for u in db.session.scalars(sa.select(User).where(User.role == Role.caseworker, User.active)
                                                .order_by(User.id))
                  if gate.reaches(u, h) and u.id != recorder_id]
    if not candidates:
        return None
    load_of = dict(db.session.execute(
        sa.select(handler_column, sa.func.count()).where(undecided, handler_column.in_([u.id for u in candidates]))
        .group_by(handler_column)).all())
    return min(candidates, key=lambda u: (load_of.get(u.id, 0), u.id))


def _pick_handler(h: Household, recorder_id: int | None) -> User | None:
    return pick_handler(h, recorder_id, Objection.handler_id, _undecided())


def file_objection(household_id: int, data: dict, files, who: User) -> Objection:
    """File an objection to a record or a procedure of the household (the household itself, or staff at the
    counter with the date the paper objection was received). One pending objection per item; a repeat after a
    rejection needs new materials and suspends nothing."""
    at_counter = who.role != Role.household
    h = _household(household_id, who, "record.create")
    clean = load(ObjectionIn(), data or {})
    today = get_clock().today()
    errors: dict[str, list[str]] = {}
    if (clean.get("record_id") is None) == (clean.get("procedure_id") is None):
        errors["record_id"] = [_("Choose the record or the list procedure the objection is about.")]
    filed = today
    if at_counter:
        received = clean.get("received_date")
        if received is None:
            errors["received_date"] = [_("Give the date the objection was received at the counter.")]
        elif received > today:
            errors["received_date"] = [_("The date may not be in the future.")]
        else:
            filed = received
    uploads: list[storage.Upload] = []
    try:
        uploads = storage.check(files, field="materials")
    except InvalidInput as err:
        errors.update({"materials": v for v in err.errors.values()})
    if errors:
        raise InvalidInput(_l("The input is not valid."), errors=errors)
    scoring.lock_household(h.id)
    record, procedure, recorder_id = None, None, None
    if clean.get("record_id") is not None:
        record = db.session.get(Record, clean["record_id"])
        if record is None or record.household_id != h.id:
            raise InvalidInput(_l("The input is not valid."), errors={"record_id": [_("No such record.")]})
        decision, revoked, repaired = records._standing_state(record.id)
        if decision != Decision.confirmed:
            raise InvalidInput(_l("The input is not valid."), errors={"record_id": [_("No such record.")]})
        if revoked or repaired or not _item_open(h, record, None, today):
            raise Conflict(_l("This record no longer counts and grounds nothing in force: there is nothing to "
                              "object to."), field="record_id")
        det_date = db.session.scalar(sa.select(Determination.determination_date)
                                     .where(Determination.record_id == record.id))
        if filed < det_date:
            raise InvalidInput(_l("The input is not valid."), errors={
                "received_date": [_("The objection cannot have been received before the determination.")]})
        recorder_id = record.recorded_by_id
    else:
        from ..lists.models import Procedure
        procedure = db.session.get(Procedure, clean["procedure_id"])
        if procedure is None or procedure.household_id != h.id:
            raise InvalidInput(_l("The input is not valid."), errors={"procedure_id": [_("No such procedure.")]})
        if not _item_open(h, None, procedure, today):
            raise Conflict(_l("This procedure has ended: there is nothing to object to."), field="procedure_id")
        if filed < procedure.opened_date:
            raise InvalidInput(_l("The input is not valid."), errors={
                "received_date": [_("The objection cannot have been received before the procedure opened.")]})
        recorder_id = procedure.opened_by_id
    earlier = list(db.session.scalars(sa.select(Objection).where(
        Objection.household_id == h.id, _item_filter(clean.get("record_id"), clean.get("procedure_id")))
        .options(selectinload(Objection.materials),
                 selectinload(Objection.proposals).selectinload(ObjectionProposal.review))))
    if any(decision_of(o)[0] is None for o in earlier):
        raise Conflict(_l("An objection to this item is already pending."), field="record_id")
    repeat = any(decision_of(o)[0] == REJECTED for o in earlier)
    if repeat:
        seen = {m.sha256 for o in earlier for m in o.materials}
        if not [u for u in uploads if u.sha256 not in seen]:
            raise InvalidInput(_l("The input is not valid."), errors={"materials": [
                _("An earlier objection to this item was rejected: a new objection needs new materials.")]})
    handler = _pick_handler(h, recorder_id)
    clock = get_clock()
    o = Objection(household_id=h.id, region_code=h.region_code, record_id=clean.get("record_id"),
                  procedure_id=clean.get("procedure_id"), filed_date=filed,
                  due_date=objection_due(filed, scoring.rules_book().version_at(filed)), reason=clean["reason"],
                  at_counter=at_counter, repeat=repeat, filed_by_id=who.id, filed_dt=clock.now_utc(),
                  handler_id=handler.id if handler else None)
    db.session.add(o)
    db.session.flush()
    for u in uploads:
        db.session.add(ObjectionMaterial(objection_id=o.id, filename=u.filename, content_type=u.content_type,
                                         size=u.size, sha256=storage.store(u), uploaded_by_id=who.id,
                                         uploaded_dt=clock.now_utc()))
    db.session.flush()
    db.session.refresh(o, ["materials"])
    audit.record("objection.file", "objection", o.id, household_id=h.id, region_code=h.region_code,
                 after={"record_id": o.record_id, "procedure_id": o.procedure_id, "filed_date": filed.isoformat(),
                        "due_date": o.due_date.isoformat(), "at_counter": at_counter, "repeat": repeat,
                        "handler_id": o.handler_id, "materials": [m.sha256 for m in o.materials]},
                 actor=(who.id, who.username))
    records._after_change(h)  # suspension starts and a grounded procedure's clock stops from the filing
    return o


def assign_handler(objection_id: int, who: User) -> Objection:
    """A caseworker of the region takes an objection that found no handler at filing; once set it is locked."""
    o = _load(objection_id)
    h = _household(o.household_id, who, "record.create", household_may=False)
    if who.role != Role.caseworker:
        raise Forbidden()
    if o.handler_id is not None:
        raise Conflict(_l("This objection already has its handler."))
    if o.record_id is not None and db.session.get(Record, o.record_id).recorded_by_id == who.id:
        raise Forbidden(_l("You recorded the disputed behaviour: another caseworker must handle the objection."))
    o.handler_id = who.id
    audit.record("objection.assign", "objection", o.id, household_id=h.id, region_code=h.region_code,
                 after={"handler_id": who.id}, actor=(who.id, who.username))
    return o


# ---- the decision with two people ----------------------------------------------------------------------------

#: the fields that carry a correction's facts (SPEC §4): given with any other effect they are refused, not dropped
CORRECTION_FIELDS = ("occurred_date", "facts", "code")


def propose(objection_id: int, data: dict, who: User, files=()) -> ObjectionProposal:
    """The handler proposes upheld or rejected, with reasons. Upheld on a record, the proposal says what follows:
    the record revoked (`effect` "revoke", the default) or its facts corrected (`effect` "correct", with the
    corrected occurrence date, facts and new evidence `files` — judged as any correction's, SPEC §4: facts and
    evidence only, never the behaviour). Bad input is refused with every problem at once, nothing written."""
    o = _load(objection_id)
    h = _household(o.household_id, who, "record.create", household_may=False)
    data = dict(data or {})
    clean = load(ObjectionProposalIn(), data)
    if o.handler_id != who.id:
        raise Forbidden(_l("Only the objection's handler may propose its result."))
    files = [f for f in files or () if f]
    errors: dict[str, list[str]] = {}
    correct = clean["effect"] == "correct"
    if correct and clean["outcome"] != UPHELD:
        errors["effect"] = [_("Only an upheld objection corrects the record.")]
    elif correct and o.record_id is None:
        errors["effect"] = [_("An objection to a list procedure has no record facts to correct: upheld, the "
                              "procedure ends.")]
    elif not correct and (files or any(str(data.get(k) or "").strip() for k in CORRECTION_FIELDS)):
        errors["effect"] = [_("Corrected facts and evidence go only with an upheld objection that corrects the "
                              "record.")]
    scoring.lock_household(h.id)
    if decision_of(o)[0] is not None:
        raise Conflict(_l("This objection has already been decided."))
    if _open_proposal(o) is not None:
        raise Conflict(_l("A proposal on this objection is already awaiting review."))
    correction = None
    if correct and not errors:
        correction = records.propose_correction_for_objection(db.session.get(Record, o.record_id), data, files,
                                                              clean["reasons"], who, errors)
    if errors:
        raise InvalidInput(_l("The input is not valid."), errors=errors)
    return decisions.propose(
        h, who, lambda today, now: ObjectionProposal(objection_id=o.id, outcome=clean["outcome"],
                                                     reasons=clean["reasons"], by_id=who.id, proposed_date=today,
                                                     dt=now, correction_id=correction.id if correction else None),
        action="objection.propose", object_type="objection", object_id=o.id,
        after=lambda p: {"proposal": p.id, "outcome": p.outcome,
                         **({"correction": correction.id, "occurred_date": correction.occurred_date.isoformat(),
                             "evidence": [line.split(" ", 1)[0] for line in correction.evidence.splitlines() if line]}
                            if correction else {})})


def decide(objection_id: int, data: dict, who: User) -> ObjectionReview:
    """A reviewer other than the handler and the record's recorder confirms the handler's proposal (the objection
    is decided that day, J) or sends it back. Upheld on J: the record is revoked (`objection_upheld`), or its facts
    corrected as the proposal says (the correction decided with it, by the same machinery as a correction decision),
    or the procedure ended; everything derived recomputed, and — where a revoked record or ended procedure had
    brought measures — a restoration kept, notified and pushed. Either way the household gets the written result."""
    o = _load(objection_id)
    h = _household(o.household_id, who, "record.determine", household_may=False)
    clean = load(ObjectionDecisionIn(), data or {})
    record = db.session.get(Record, o.record_id) if o.record_id is not None else None
    confirmed = clean["decision"] == "confirmed"
    review, proposal = decisions.decide(
        h, who, excluded=(o.handler_id, record.recorded_by_id if record is not None else None),
        forbidden=_l("You handled this objection or recorded the disputed behaviour: another reviewer must decide "
                     "it (two people, SPEC §4)."),
        decided=lambda: decision_of(o)[0] is not None, decided_message=_l("This objection has already been decided."),
        proposal=lambda: _open_proposal(o), awaiting_message=_l("The handler has not proposed a result yet."),
        make=lambda p, today, now: ObjectionReview(proposal_id=p.id, confirmed=confirmed, note=clean["note"],
                                                   by_id=who.id, decided_date=today, dt=now),
        relation="review", action="objection.decide", object_type="objection", object_id=o.id,
        after=lambda row, p: {"proposal": p.id, "confirmed": confirmed, "outcome": p.outcome if confirmed else None,
                              "decided_date": row.decided_date.isoformat()})
    today = review.decided_date
    if not confirmed:
        if proposal.correction_id is not None:  # sent back: its correction is decided with it, nothing sent
            records.return_correction_for_objection(proposal.correction, clean["note"], who)
        return review
    upheld = proposal.outcome == UPHELD
    if upheld and proposal.correction_id is not None:
        # the record's facts corrected from J, by the correction machinery (recomputes everything derived)
        records.confirm_correction_for_objection(proposal.correction, h, clean["note"], who)
    elif upheld and record is not None:
        records.revoke_for_objection(record, h, proposal.reasons, who)  # recomputes everything derived
    elif upheld:
        # the procedure ends on J, reason `objection_upheld`: the engine derives it from the decided objection and
        # the recomputation writes it (as the system; the decision's author is on `objection.decide`) — the
        # reviewer who confirms need not hold `lists.write`
        records._after_change(h)
    else:
        records._after_change(h)  # suspended measures apply again on J; the clock runs again after J
    _result_notice(o, h, proposal, today)
    # a corrected record still stands: no measure was applied on a record that fell, so nothing to restore
    if upheld and proposal.correction_id is None and _measures_had_applied(o, record):
        _restore(o, h, today, who)
    return review


def _measures_had_applied(o: Objection, record: Record | None) -> bool:
    """A confirmed record brings its tier's measures from its determination; a procedure its steps' measures."""
    if record is None:
        return True
    det = db.session.scalar(sa.select(Determination.determination_date).where(Determination.record_id == record.id))
    return det is not None and det < o.filed_date


def _restore(o: Objection, h: Household, on: date, who: User) -> None:
    """The restoration record (恢复信誉) after an upheld objection, notified and pushed."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        body = _("Your objection filed on %(filed)s was upheld on %(date)s. The measures applied on the disputed "
                 "item are lifted from that day and your credit is restored; the provincial credit platform is "
                 "informed.", filed=o.filed_date.isoformat(), date=on.isoformat())
    restore(h, on, who, body, objection=o)


def restore_after_revocation(rev, r: Record, h: Household, who: User) -> None:
    """A confirmed revocation decision (SPEC §4) of a record that had counted — so measures had been applied on
    it (its tier's from its determination): the restoration record (恢复信誉, SPEC §9), notified and pushed. A
    record revoked on its determination day never counted and needs none."""
    det = db.session.scalar(sa.select(Determination.determination_date).where(Determination.record_id == r.id))
    if det is None or det >= rev.revoked_date:
        return
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        body = _("The record of %(occurred)s in your household credit archive was revoked on %(date)s. The measures "
                 "applied on it are lifted from that day and your credit is restored; the provincial credit "
                 "platform is informed.", occurred=r.occurred_date.isoformat(), date=rev.revoked_date.isoformat())
    restore(h, rev.revoked_date, who, body, revocation=rev, record_id=r.id)


def restore(h: Household, on: date, who: User, body: str, *, objection: Objection | None = None, revocation=None,
            record_id: int | None = None) -> Restoration:
    """The one path writing a restoration (恢复信誉): kept as a fact, audited, notified and pushed (SPEC §9)."""
    from ..lists.common import _push
    from ..notices import service as notices
    row = Restoration(objection_id=objection.id if objection else None,
                      revocation_id=revocation.id if revocation is not None else None, household_id=h.id,
                      restored_date=on, dt=get_clock().now_utc())
    db.session.add(row)
    db.session.flush()
    ref_type, ref_id = ("objection", objection.id) if objection else ("revocation", revocation.id)
    if objection is not None:
        record_id = objection.record_id
    audit.record(f"{ref_type}.restore", ref_type, ref_id, household_id=h.id, region_code=h.region_code,
                 after={"restored_date": on.isoformat(), "restoration": row.id}, actor=(who.id, who.username))
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        title = _("Notice of restoration of credit")
    notices.issue(h.id, "restoration", ref_type, ref_id, title, body, issued_date=on, region_code=h.region_code)
    _push(h, "credit.restored", {"objection_id": objection.id if objection else None,
                                 "revocation_id": revocation.id if revocation is not None else None,
                                 "record_id": record_id,
                                 "procedure_id": objection.procedure_id if objection else None,
                                 "restored_date": on.isoformat(), "disclose": False})
    return row


def _result_notice(o: Objection, h: Household, p: ObjectionProposal, on: date) -> None:
    """The written result of the objection (SPEC §9, §12), in Chinese."""
    from ..notices import service as notices
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        title = _("Written result of your objection")
        if p.outcome == UPHELD and p.correction is not None:
            body = _("Your objection filed on %(filed)s was verified and upheld on %(date)s. Reasons: %(reasons)s. "
                     "The facts of the disputed record are corrected from that day: %(changes)s. The behaviour, its "
                     "deduction and its determination date are unchanged; the earlier version stays viewable.",
                     filed=o.filed_date.isoformat(), date=on.isoformat(), reasons=p.reasons,
                     changes=_("; ").join(records.correction_changes(p.correction)))
        elif p.outcome == UPHELD:
            body = _("Your objection filed on %(filed)s was verified and upheld on %(date)s. Reasons: %(reasons)s. "
                     "The disputed item no longer counts from that day.", filed=o.filed_date.isoformat(),
                     date=on.isoformat(), reasons=p.reasons)
        else:
            body = _("Your objection filed on %(filed)s was verified and rejected on %(date)s. Reasons: "
                     "%(reasons)s. Measures suspended during the verification apply again from that day. A further "
                     "objection to the same item needs new materials.", filed=o.filed_date.isoformat(),
                     date=on.isoformat(), reasons=p.reasons)
    notices.issue(h.id, "objection_result", "objection", o.id, title, body, issued_date=on,
                  region_code=h.region_code)


# ---- hooks for the list engine and the credit check ----------------------------------------------------------

__all__ = ["decide", "file_objection", "get_objection", "objection_facts", "objections_for", "open_objections",
           "propose", "status_of"]
