"""Behaviour-record use cases (失信行为记录, HB 四–五): record with evidence, four-eyes determination (认定),
revocation (撤销), correction, repair (修复) — each one transaction, audited, the credit cache refreshed in it.

Records are facts: nothing here updates or deletes a record; what happens to it is a new row referencing it.
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy.orm import selectinload

from .. import decisions
from ..accounts import gate, regions
from ..accounts.models import User
from ..archives.models import Household
from ..audit import service as audit
from ..clock import add_working_days, get_clock
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..extensions import db
from ..i18n import official
from ..rules.loader import Behaviour, RulesError
from ..scoring import service as scoring
from ..validation import load
from . import storage
from .models import Decision, Determination, Evidence, Record, RecordRepair, Revocation
from .schemas import (REASON_LABELS, CorrectionFactsIn, CorrectionIn, DeterminationIn, RecordIn, RepairIn,
                      RevocationDecisionIn, RevocationIn)



# ---- the catalogue in force ----------------------------------------------------------------------------------

def version_today():
    return scoring.rules_book().version_at(get_clock().today())


def catalogue(region_code: str | None = None, on: date | None = None) -> list[Behaviour]:
    """The recordable behaviours in force on `on` (default today) for a region, local refinements included."""
    if region_code is not None and regions.get(region_code) is None:
        raise InvalidInput(_l("Unknown region code."), field="region")
    return scoring.rules_book().version_at(on or get_clock().today()).catalogue_for(region_code)


def sources():
    """The five collection sources of HB 五, from the rules data."""
    return version_today().sources


# ---- reading -------------------------------------------------------------------------------------------------

def _record(record_id: int) -> Record:
    r = db.session.get(Record, record_id, options=[
        selectinload(Record.evidence), selectinload(Record.determination), selectinload(Record.revocation),
        selectinload(Record.repair)])
    if r is None:
        raise NotFound()
    return r


def _household_of(record: Record) -> Household:
    return db.session.get(Household, record.household_id)


def get_record(record_id: int, who: User) -> Record:
    """A record with its facts, if `who` may see its household; a staff read is logged (SPEC §11)."""
    r = _record(record_id)
    gate.read_household(_household_of(r), "credit.read", who, "record.read", "record", r.id)
    return r


def records_for_household(household_id: int, who: User, evidence: bool = True) -> list[Record]:
    """The household's records, newest first, with their determination, revocation, repair and (unless
    `evidence` is false: a page that lists none) evidence; a staff read is logged as "records.read" (one per
    request)."""
    h = gate.read_household(db.session.get(Household, household_id), "credit.read", who, "records.read")
    options = [selectinload(Record.determination), selectinload(Record.revocation), selectinload(Record.repair)]
    return db.session.scalars(
        sa.select(Record).where(Record.household_id == h.id).order_by(Record.id.desc())
        .options(*options, *([selectinload(Record.evidence)] if evidence else []))).all()


def household_record_states(household_id: int, who: User, today: date | None = None) -> list[dict]:
    """The household's confirmed records as a household sees them (SPEC §4), newest first — never a pending or
    a rejected one. Each with its state: `counting`; `ended` (no longer counting since the day after its use
    period); `objection` (an objection pending); `revoked`; `repaired` — with the date it applies from, the
    behaviour and its clause, and `corrections` (each confirmed one with the earlier version it replaced)."""
    from datetime import timedelta

    from ..appeals.models import CorrectionDecision, CorrectionProposal, Objection, ObjectionProposal, ObjectionReview
    today = today or get_clock().today()
    out = []
    for r in records_for_household(household_id, who):
        det = r.determination
        if det is None or det.decision != Decision.confirmed:
            continue
        try:
            b = scoring.rules_book().behaviour_on(r.code, r.region_code, det.determination_date)
        except RulesError:
            b = None
        if r.revocation is not None:
            state, since = "revoked", r.revocation.revoked_date
        elif r.repair is not None:
            state, since = "repaired", r.repair.repaired_date
        elif b is not None and b.counts_through(det.determination_date) < today:
            state, since = "ended", b.counts_through(det.determination_date) + timedelta(days=1)
        else:
            state, since = "counting", det.determination_date
        if state in ("counting", "ended") and db.session.scalar(sa.select(Objection.id).where(
                Objection.record_id == r.id,
                ~sa.exists().where(ObjectionProposal.objection_id == Objection.id,
                                   ObjectionReview.proposal_id == ObjectionProposal.id,
                                   ObjectionReview.confirmed)).limit(1)):
            state = "objection"
        corrections = list(db.session.scalars(
            sa.select(CorrectionProposal).join(CorrectionDecision,
                                               CorrectionDecision.proposal_id == CorrectionProposal.id)
            .where(CorrectionProposal.record_id == r.id, CorrectionDecision.decision == Decision.confirmed.value)
            .order_by(CorrectionProposal.id)))
        out.append({"record": r, "behaviour": b, "state": state, "since": since,
                    "determined": det.determination_date, "corrections": corrections,
                    "revocation_reason": r.revocation.reason if r.revocation is not None else None})
    return out


def later_changes(household_id: int, as_of: date) -> dict[int, list[dict]]:
    """What decisions dated after `as_of` did to the household's records (SPEC §4): an answer about `as_of` stays
    as it was, and marks each record a later decision changed — {record_id: [{"kind": "revoked" | "corrected" |
    "repaired", "on": date, "reason": code or None}]}, oldest first. The caller has passed the gate."""
    from ..appeals.models import CorrectionDecision, CorrectionProposal
    out: dict[int, list[dict]] = {}
    revoked = (sa.select(sa.literal("revoked").label("kind"), Revocation.record_id,
                         Revocation.revoked_date.label("on"), Revocation.reason)
               .join(Record, Record.id == Revocation.record_id)
               .where(Record.household_id == household_id, Revocation.revoked_date > as_of))
    corrected = (sa.select(sa.literal("corrected"), CorrectionProposal.record_id, CorrectionDecision.decided_date,
                           CorrectionProposal.reason)
                 .join(CorrectionDecision, CorrectionDecision.proposal_id == CorrectionProposal.id)
                 .join(Record, Record.id == CorrectionProposal.record_id)
                 .where(Record.household_id == household_id,
                        CorrectionDecision.decision == Decision.confirmed.value,
                        CorrectionDecision.decided_date > as_of))
    repaired = (sa.select(sa.literal("repaired"), RecordRepair.record_id, RecordRepair.repaired_date,
                          sa.null())
                .join(Record, Record.id == RecordRepair.record_id)
                .where(Record.household_id == household_id, RecordRepair.repaired_date > as_of))
    for kind, rid, on, reason in db.session.execute(sa.union_all(revoked, corrected, repaired)):  # one statement
        out.setdefault(rid, []).append({"kind": kind, "on": on, "reason": reason})
    for changes in out.values():
        changes.sort(key=lambda c: (c["on"], c["kind"]))
    return out


def get_evidence(evidence_id: int, who: User) -> tuple[Evidence, "storage.Path"]:
    """An evidence file and where its bytes are, if `who` may see the household (region-gated): a record's
    evidence for whoever may read the record, a procedure's document (the judgment or penalty decision a manual
    procedure was opened on, `Procedure.evidence_id`) for the staff who may read the procedure."""
    ev = db.session.get(Evidence, evidence_id)
    if ev is None:
        raise NotFound()
    if ev.record_id is not None:
        r = db.session.get(Record, ev.record_id)
        gate.read_household(_household_of(r), "credit.read", who, "evidence.read", "evidence", ev.id)
    else:
        from ..lists.models import Procedure
        household_id = db.session.scalar(sa.select(Procedure.household_id).where(Procedure.evidence_id == ev.id)
                                         .limit(1))
        if household_id is None:
            raise NotFound()
        gate.read_household(db.session.get(Household, household_id), "lists.read", who, "evidence.read",
                            "evidence", ev.id)
    return ev, storage.path_for(ev.sha256)


def _pending_from_facts():
    """Pending as the facts say: no determination and no revocation references the record."""
    return sa.and_(~sa.exists().where(Determination.record_id == Record.id),
                   ~sa.exists().where(Revocation.record_id == Record.id))


def _pending():
    """Pending as stored (`records.pending`, kept in step with the facts; indexed)."""
    return Record.pending  # bare: the partial indexes' own predicate


def _cursor(raw) -> tuple | None:
    """A keyset cursor "ISO-datetime_id" (the last row shown) or None; anything malformed is the first page."""
    from datetime import datetime
    try:
        when, _sep, rid = str(raw or "").rpartition("_")
        return (datetime.fromisoformat(when), int(rid)) if when else None
    except ValueError:
        return None


def review_queue(who: User, limit: int = 50, after=None) -> dict:
    """Pending records in the reviewer's region, oldest first (their own included: the page disables them);
    one page of `limit` after the keyset cursor `after`, with the region's pending count."""
    gate.require("record.determine", who)
    where = [_pending(), gate.region_clause(Record.region_code, who)]
    page = list(where)
    cursor = _cursor(after)
    if cursor:
        page.append(sa.tuple_(Record.recorded_dt, Record.id) > sa.tuple_(*cursor))
    rows = db.session.scalars(sa.select(Record).where(*page).order_by(Record.recorded_dt, Record.id)
                              .limit(limit + 1)
                              .options(selectinload(Record.evidence), selectinload(Record.recorded_by))).all()
    items = rows[:limit]
    last = items[-1] if items else None
    return {"items": items, "total": db.session.scalar(sa.select(sa.func.count()).select_from(Record).where(*where)),
            "next": f"{last.recorded_dt.isoformat()}_{last.id}" if last and len(rows) > limit else None,
            "after": after if cursor else None}


def next_for_review(who: User, after_record_id: int | None = None) -> Record | None:
    """The oldest pending record of the reviewer's region that they may determine (not their own), other than
    `after_record_id`: what the record page offers once a decision is saved."""
    if not gate.can("record.determine", who):
        return None
    stmt = (sa.select(Record).where(_pending(), gate.region_clause(Record.region_code, who),
                                    Record.recorded_by_id != who.id)
            .order_by(Record.recorded_dt, Record.id).limit(1))
    if after_record_id is not None:
        stmt = stmt.where(Record.id != after_record_id)
    return db.session.scalars(stmt).first()


def overview(who: User, after: int | None = None, limit: int = 50) -> dict:
    """A caseworker's counts: their late entries (LN 第九条), their records awaiting review, the region's;
    their late entries newest first, a page of `limit` below the record id `after`."""
    gate.require("record.create", who)
    count = lambda *where: db.session.scalar(sa.select(sa.func.count(Record.id)).where(*where))  # noqa: E731
    mine_late = [Record.recorded_by_id == who.id, Record.late]
    if after:
        mine_late.append(Record.id < after)
    late = db.session.scalars(sa.select(Record).where(*mine_late).order_by(Record.id.desc()).limit(limit + 1)).all()
    return {"late_entries": count(Record.recorded_by_id == who.id, Record.late),
            "my_pending": count(Record.recorded_by_id == who.id, _pending()),
            "region_pending": count(_pending(), gate.region_clause(Record.region_code, who)),
            "region_late": count(Record.late, gate.region_clause(Record.region_code, who)),
            "late_records": late[:limit], "next": late[limit - 1].id if len(late) > limit else None,
            "after": after}


# ---- the stored pending state, checked and rebuilt (for `flask credit verify`) ------------------------------

def pending_state_drift(limit: int | None = None) -> list[int]:
    """Ids of records whose stored `pending` differs from the facts (determination, revocation), in id order."""
    stmt = (sa.select(Record.id).where(Record.pending != _pending_from_facts()).order_by(Record.id))
    return list(db.session.scalars(stmt.limit(limit) if limit else stmt))


def rebuild_pending_state() -> int:
    """Set every record's stored `pending` from the facts; returns how many rows changed (caller commits)."""
    fixed = pending_state_drift()
    for start in range(0, len(fixed), 1000):
        chunk = fixed[start:start + 1000]
        db.session.execute(sa.update(Record).where(Record.id.in_(chunk))
                           .values(pending=_pending_from_facts()).execution_options(synchronize_session=False))
    if fixed:
        audit.record("records.pending_rebuilt", "record", None, after={"records": fixed[:100],
                                                                       "count": len(fixed)})
    return len(fixed)


def _confirmed_from_facts():
    """Confirmed and unrevoked as the facts say: a confirming determination and no revocation."""
    return sa.and_(sa.exists().where(Determination.record_id == Record.id,
                                     Determination.decision == Decision.confirmed),
                   ~sa.exists().where(Revocation.record_id == Record.id))


def confirmed_state_drift(limit: int | None = None) -> list[int]:
    """Ids of records whose stored `confirmed_unrevoked` differs from the facts, in id order."""
    stmt = (sa.select(Record.id).where(Record.confirmed_unrevoked != _confirmed_from_facts()).order_by(Record.id))
    return list(db.session.scalars(stmt.limit(limit) if limit else stmt))


def rebuild_confirmed_state() -> int:
    """Set every record's stored `confirmed_unrevoked` from the facts; returns how many rows changed (caller
    commits)."""
    fixed = confirmed_state_drift()
    for start in range(0, len(fixed), 1000):
        chunk = fixed[start:start + 1000]
        db.session.execute(sa.update(Record).where(Record.id.in_(chunk))
                           .values(confirmed_unrevoked=_confirmed_from_facts())
                           .execution_options(synchronize_session=False))
    if fixed:
        audit.record("records.confirmed_rebuilt", "record", None, after={"records": fixed[:100],
                                                                         "count": len(fixed)})
    return len(fixed)


# ---- recording -----------------------------------------------------------------------------------------------

def _attach(record: Record, uploads: list[storage.Upload], who: User) -> list[Evidence]:
    now = get_clock().now_utc()
    rows = []
    for u in uploads:
        sha = storage.store(u)
        ev = Evidence(record_id=record.id, filename=u.filename, content_type=u.content_type, size=u.size,
                      sha256=sha, uploaded_by_id=who.id, uploaded_dt=now)
        db.session.add(ev)
        rows.append(ev)
    db.session.flush()
    return rows


def _snapshot(r: Record) -> dict:
    """Audit-safe: no facts text (it may name people or carry ID numbers), only what identifies the entry."""
    return {"code": r.code, "occurred_date": r.occurred_date.isoformat(), "formed_date": r.formed_date.isoformat(),
            "source": r.source, "late": r.late, "corrects_id": r.corrects_id,
            "evidence": [e.sha256 for e in r.evidence]}


#: what an empty field is told, in words that fit it (a list to choose from, a date, a text)
EMPTY_MESSAGES = {"code": _l("Please choose a behaviour."), "occurred_date": _l("Please enter a date."),
                  "formed_date": _l("Please enter a date."), "source": _l("Please choose a collection source."),
                  "facts": _l("Please describe the facts.")}


def _record_input(data: dict) -> tuple[dict, dict]:
    """Every field's problem at once: (the values that are valid, the errors of the others). An empty field gets
    the message that fits it; the other fields are judged by RecordIn as they are."""
    errors: dict[str, list[str]] = {}
    present = {}
    for key, value in (data or {}).items():
        if key in EMPTY_MESSAGES and not str(value if value is not None else "").strip():
            errors[key] = [str(EMPTY_MESSAGES[key])]
        else:
            present[key] = value
    for key in EMPTY_MESSAGES:
        if key not in present and key not in errors:
            errors[key] = [str(EMPTY_MESSAGES[key])]
    try:
        clean = load(RecordIn(), present, partial=tuple(errors))
    except InvalidInput as err:
        errors.update(err.errors)
        rest = {k: v for k, v in present.items() if k not in err.errors}
        try:  # the fields that are valid on their own still get their own checks below
            clean = load(RecordIn(), rest, partial=True)
        except InvalidInput:
            clean = {}
    return clean, errors


def create_record(household_id: int, data: dict, files, who: User, *, require_evidence: bool = True,
                  corrects: Record | None = None) -> Record:
    """Record a behaviour from the catalogue in force today for the household's region, with its evidence.

    Late (LN 第九条) when entered after the N-th working day following the date the information formed.
    """
    h = gate.check_household(db.session.get(Household, household_id), "record.create", who)
    clean, errors = _record_input(data)
    clock = get_clock()
    today = clock.today()
    version = scoring.rules_book().version_at(today)
    if "code" in clean and clean["code"] not in {b.code for b in version.catalogue_for(h.region_code)}:
        errors["code"] = [_("Choose a behaviour from the catalogue in force for this region.")]
    if "source" in clean and clean["source"] not in {s.code for s in version.sources}:
        errors["source"] = [_("Choose one of the collection sources.")]
    first = scoring.first_rules_date()
    if "occurred_date" not in clean:
        pass
    elif clean["occurred_date"] > today:
        errors["occurred_date"] = [_("The date may not be in the future.")]
    elif clean["occurred_date"] < first:  # no retroactive record: no rule was in force to judge it by
        errors["occurred_date"] = [_("No rules were in force before %(date)s: a behaviour before then cannot be "
                                     "recorded.", date=first.isoformat())]
    if "formed_date" not in clean:
        pass
    elif clean["formed_date"] > today:
        errors["formed_date"] = [_("The date may not be in the future.")]
    elif "occurred_date" in clean and clean["formed_date"] < clean["occurred_date"]:
        errors["formed_date"] = [_("The information cannot have formed before the behaviour occurred.")]
    uploads: list[storage.Upload] = []
    try:
        uploads = storage.check(files)
    except InvalidInput as err:
        errors.update(err.errors)
    if require_evidence and not uploads and "evidence" not in errors:
        errors["evidence"] = [_("At least one evidence file is required (HB 五: evidence conclusive).")]
    if errors:
        raise InvalidInput(_l("The input is not valid."), errors=errors)
    duplicate = db.session.scalar(sa.select(Record.id).where(
        Record.household_id == h.id, Record.code == clean["code"], Record.occurred_date == clean["occurred_date"],
        ~sa.exists().where(Revocation.record_id == Record.id),
        ~sa.exists().where(Determination.record_id == Record.id, Determination.decision == Decision.rejected)))
    if duplicate is not None:
        raise Conflict(_l("This behaviour is already recorded for that date (record %(id)s) and is pending or "
                          "standing; a record is made once per occurrence.", id=duplicate), field="code")
    late_after = add_working_days(clean["formed_date"], version.entry.late_after_working_days)
    record = Record(household_id=h.id, region_code=h.region_code, code=clean["code"],
                    occurred_date=clean["occurred_date"], formed_date=clean["formed_date"], source=clean["source"],
                    facts=clean["facts"], late=today > late_after, corrects_id=corrects.id if corrects else None,
                    recorded_by_id=who.id, recorded_dt=clock.now_utc())
    db.session.add(record)
    db.session.flush()
    _attach(record, uploads, who)
    db.session.refresh(record, ["evidence"])
    audit.record("record.create", "record", record.id, household_id=h.id, region_code=h.region_code,
                 after=_snapshot(record), actor=(who.id, who.username))
    return record


def add_evidence(record_id: int, files, who: User) -> list[Evidence]:
    """More evidence for a record still pending review (API clients upload after creating the record)."""
    r = _record(record_id)
    h = gate.check_household(_household_of(r), "record.create", who)
    if r.determination is not None or r.revocation is not None:
        raise Conflict(_l("Evidence can be added only while the record is pending review."))
    uploads = storage.check(files)
    if not uploads:
        raise InvalidInput(_l("The input is not valid."), errors={"evidence": [_("Choose at least one file.")]})
    rows = _attach(r, uploads, who)
    audit.record("record.evidence", "record", r.id, household_id=h.id, region_code=h.region_code,
                 after={"evidence": [e.sha256 for e in rows]}, actor=(who.id, who.username))
    return rows


# ---- determination, revocation, correction, repair -----------------------------------------------------------

def _standing_state(record_id: int) -> tuple[Decision | None, bool, bool]:
    """(decision, revoked, repaired) read afresh from the database — after the household lock, not the cache."""
    decision = db.session.scalar(sa.select(Determination.decision).where(Determination.record_id == record_id))
    revoked = db.session.scalar(sa.select(Revocation.id).where(Revocation.record_id == record_id)) is not None
    repaired = db.session.scalar(sa.select(RecordRepair.id).where(RecordRepair.record_id == record_id)) is not None
    return decision, revoked, repaired


def _after_change(h: Household) -> None:
    """Everything derived from the household's facts, recomputed in this transaction."""
    scoring.refresh_household(h.id)
    from ..lists import service as lists
    lists.after_facts_changed(h.id)


def _payload(r: Record, h: Household, b: Behaviour, determination: Determination, status: str,
             authority: str) -> dict:
    """The provincial platform's basic-data shape (SPEC §10; MOHURD 2(2))."""
    head = h.head
    d = determination.determination_date
    disclose = scoring.rules_book().version_at(d).is_disclosed(b.tier)  # mild: collected only (MOHURD 2(2))
    return {"record_id": r.id, "archive_no": h.archive_no, "region_code": h.region_code,
            "subject": {"name": head.name if head else "", "id_number": head.id_number if head else ""},
            "behaviour": {"code": b.code, "title": b.title_zh, "clause": b.clause, "version": b.version},
            "severity": b.tier, "legal_basis": determination.legal_basis, "authority": authority,
            "determination_date": d.isoformat(),
            "publicity_period": ({"from": d.isoformat(), "to": b.counts_through(d).isoformat()}
                                 if disclose else None),
            "status": status, "disclose": disclose}


def _authority(who: User) -> str:
    """The determining authority as the platform payload states it: in the official language (Chinese)."""
    return official(lambda: regions.full_name(who.region_code) + " " + _("housing security department"))


def determine(record_id: int, decision: str, legal_basis: str, who: User) -> Determination:
    """The review committee confirms or rejects a pending record (认定, HB 五) — never its own recorder.

    The determination date is today's, from the clock, never back-dated. Confirmation issues the 告知书 notice,
    queues the platform event, and refreshes the household's score and tier in the same transaction.
    """
    r = _record(record_id)
    h = gate.check_household(_household_of(r), "record.determine", who)
    clean = load(DeterminationIn(), {"decision": decision, "legal_basis": legal_basis})
    if r.recorded_by_id == who.id:
        raise Forbidden(_l("You recorded this behaviour: another reviewer must determine it (four-eyes, HB 五)."))
    scoring.lock_household(h.id)
    previous, revoked, _repaired = _standing_state(r.id)
    if previous is not None or revoked:
        raise Conflict(_l("This record is no longer pending review: it has already been determined or revoked."))
    confirmed = clean["decision"] == Decision.confirmed.value
    clock = get_clock()
    today = clock.today()
    behaviour = None
    if confirmed:
        if not r.evidence:
            raise InvalidInput(_l("A record without evidence cannot be confirmed (HB 五: evidence conclusive)."),
                               field="evidence")
        try:
            behaviour = scoring.rules_book().version_at(today).behaviour(r.code, r.region_code)
        except RulesError:
            raise Conflict(_l("This behaviour is not in the catalogue in force today; correct the record."),
                           field="code") from None
    det = Determination(record=r, decision=Decision(clean["decision"]), legal_basis=clean["legal_basis"],
                        determination_date=today, reviewer_id=who.id, decided_dt=clock.now_utc())
    db.session.add(det)
    r.pending = False  # the stored state, in step with the determination (same transaction)
    r.confirmed_unrevoked = confirmed  # (pending until now: neither determined nor revoked)
    db.session.flush()
    # Derived state first: it rests on the household lock alone, not on the audit chain's own serialisation.
    _after_change(h)
    audit.record("record.determine", "record", r.id, household_id=h.id, region_code=h.region_code,
                 after={"decision": det.decision.value, "determination_date": today.isoformat()},
                 actor=(who.id, who.username))
    if confirmed:
        _issue_notice(r, h, behaviour, det, issuer_region=who.region_code)
        from ..platform import service as platform
        platform.enqueue(h.id, "record.confirmed", _payload(r, h, behaviour, det, "confirmed", _authority(who)))
    return det


def _issue_notice(r: Record, h: Household, b: Behaviour, det: Determination, issuer_region: str | None = None) -> None:
    """The written notice of determination (告知书) to the household, in Chinese (the household's language)."""
    from ..notices import service as notices
    title = official(lambda: _("Notice of determination of dishonest behaviour"))
    body = official(lambda: _(
        "On %(date)s, after review by a reviewer other than the recorder, it was confirmed that your household "
        "credit archive (%(archive)s) holds the following dishonest behaviour: %(code)s %(title)s (%(clause)s). "
        "It deducts %(deduct)s points and counts through %(through)s. Legal basis: %(basis)s. If you disagree, you may file an objection with your reasons and "
        "materials (HB 七).",
        date=det.determination_date.isoformat(), archive=h.archive_no, code=b.code, title=b.title_zh,
        clause=b.clause, deduct=b.deduct, through=b.counts_through(det.determination_date).isoformat(),
        basis=det.legal_basis))
    notices.issue(h.id, "determination", "record", r.id, title, body, issued_date=det.determination_date,
                  region_code=h.region_code, issuer_region=issuer_region)


def _revoke(r: Record, h: Household, reason: str, note: str, who: User) -> Revocation:
    """The effect of a confirmed revocation decision (or of an upheld objection): the record is revoked from today.

    It still counts for the days before (SPEC §5): answers for past dates do not change. The caller holds the
    household lock and has checked the record is not yet revoked.
    """
    decision, _revoked, _repaired = _standing_state(r.id)
    clock = get_clock()
    rev = Revocation(record_id=r.id, revoked_date=clock.today(), reason=reason, note=note, by_id=who.id,
                     dt=clock.now_utc())
    db.session.add(rev)
    r.pending = False  # the stored state, in step with the revocation (same transaction)
    r.confirmed_unrevoked = False
    db.session.flush()
    db.session.refresh(r, ["revocation"])
    audit.record("record.revoke", "record", r.id, household_id=h.id, region_code=h.region_code,
                 after={"reason": rev.reason, "revoked_date": rev.revoked_date.isoformat()},
                 actor=(who.id, who.username))
    if decision == Decision.confirmed:
        _push_status(r, h, "revoked", rev.revoked_date, who)
    _after_change(h)
    return rev


def _pending_proposal(record_id: int):
    from ..appeals.models import RevocationDecision, RevocationProposal
    return db.session.scalar(sa.select(RevocationProposal).where(
        RevocationProposal.record_id == record_id,
        ~sa.exists().where(RevocationDecision.proposal_id == RevocationProposal.id)))


def revocation_proposals(record_id: int) -> list:
    """The record's revocation proposals with their decisions, oldest first (staff pages; never the household)."""
    from ..appeals.models import RevocationProposal
    return list(db.session.scalars(sa.select(RevocationProposal).where(RevocationProposal.record_id == record_id)
                                   .order_by(RevocationProposal.id)))


def proposal_record_id(proposal_id: int) -> int:
    from ..appeals.models import RevocationProposal
    rid = db.session.scalar(sa.select(RevocationProposal.record_id).where(RevocationProposal.id == proposal_id))
    if rid is None:
        raise NotFound()
    return rid


def propose_revocation(record_id: int, reason: str, note: str, who: User):
    """A caseworker proposes to revoke a confirmed record (SPEC §4), with a reason from the fixed list (recording
    error; decision annulled by a court or authority; other, with text). Nothing reaches the household yet."""
    from ..appeals.models import RevocationProposal
    r = _record(record_id)
    h = gate.check_household(_household_of(r), "record.revoke", who)
    clean = load(RevocationIn(), {"reason": reason, "note": note or ""})
    if clean["reason"] == "other" and not clean["note"].strip():
        raise InvalidInput(_l("The input is not valid."),
                           errors={"note": [_("Say why the record is revoked when the reason is 'other'.")]})
    scoring.lock_household(h.id)
    decision, revoked, _repaired = _standing_state(r.id)
    if revoked:
        raise Conflict(_l("This record has already been revoked."))
    if decision != Decision.confirmed:
        raise Conflict(_l("Only a confirmed record can be revoked; a pending record is decided by its review."))
    if _pending_proposal(r.id) is not None:
        raise Conflict(_l("A revocation of this record is already awaiting its decision."))
    return decisions.propose(
        h, who, lambda today, now: RevocationProposal(record_id=r.id, reason=clean["reason"], note=clean["note"],
                                                      proposed_by_id=who.id, proposed_date=today, proposed_dt=now),
        action="record.revocation_proposed", object_type="record", object_id=r.id,
        after=lambda p: {"proposal": p.id, "reason": p.reason})


def _decide_change(proposal_model, decision_model, proposal_id: int, decision: str, note: str, who: User, *,
                   forbidden, action: str):
    """The reviewer's decision on a revocation or a correction proposal (SPEC §4: two people) — the one shape both
    take: the proposal found (404), the household gated (`record.determine`), the input checked, then the decision
    written by `decisions.decide` — never by the proposer or the record's recorder, supervisors too. Returns
    (decision row, proposal, record, household); what a confirmation does stays with the caller."""
    proposal = db.session.get(proposal_model, proposal_id)
    if proposal is None:
        raise NotFound()
    r = _record(proposal.record_id)
    h = gate.check_household(_household_of(r), "record.determine", who)
    clean = load(RevocationDecisionIn(), {"decision": decision, "note": note or ""})
    row, _p = decisions.decide(
        h, who, excluded=(proposal.proposed_by_id, r.recorded_by_id), forbidden=forbidden,
        decided=lambda: db.session.scalar(sa.select(decision_model.id)
                                          .where(decision_model.proposal_id == proposal.id)) is not None,
        decided_message=_l("This proposal has already been decided."), proposal=lambda: proposal,
        make=lambda p, today, now: decision_model(proposal_id=p.id, decision=clean["decision"], note=clean["note"],
                                                  by_id=who.id, decided_date=today, dt=now),
        action=action, object_type="record", object_id=r.id,
        after=lambda row, p: {"proposal": p.id, "decision": row.decision})
    return row, proposal, r, h


def decide_revocation(proposal_id: int, decision: str, note: str, who: User):
    """A reviewer other than the proposer and the record's recorder confirms or rejects a revocation proposal
    (SPEC §4: two people). Confirmed: the record is revoked that day and the household notified; rejected:
    nothing is sent."""
    from ..appeals.models import RevocationDecision, RevocationProposal
    row, proposal, r, h = _decide_change(
        RevocationProposal, RevocationDecision, proposal_id, decision, note, who,
        forbidden=_l("You proposed this revocation or recorded the behaviour: another reviewer must decide it (two "
                     "people, SPEC §4)."), action="record.revocation_decided")
    if row.decision == Decision.confirmed.value:
        _decision, revoked, _repaired = _standing_state(r.id)
        if revoked:
            raise Conflict(_l("This record has already been revoked."))
        rev = _revoke(r, h, proposal.reason, proposal.note, who)
        _revocation_notice(r, h, rev)
        from ..appeals import service as appeals
        appeals.restore_after_revocation(rev, r, h, who)  # where measures had been applied (SPEC §9)
    return row


def revoke_for_objection(r: Record, h: Household, note: str, who: User) -> Revocation:
    """An upheld objection's effect (SPEC §9): the only path writing the reason `objection_upheld`."""
    _decision, revoked, _repaired = _standing_state(r.id)
    if revoked:
        raise Conflict(_l("This record has already been revoked."))
    rev = _revoke(r, h, "objection_upheld", note, who)
    _revocation_notice(r, h, rev)
    return rev


def _revocation_notice(r: Record, h: Household, rev: Revocation) -> None:
    """The written notice of a revocation, in Chinese, on the day it takes effect."""
    from ..notices import service as notices
    title = official(lambda: _("Notice of revocation of a dishonest-behaviour record"))
    body = official(lambda: _("From %(date)s the record of %(occurred)s in your household credit archive "
                              "(%(archive)s) is revoked (%(reason)s) and no longer counts in your score. Answers "
                              "about earlier dates stay as they were and are marked as revoked.",
                              date=rev.revoked_date.isoformat(), occurred=r.occurred_date.isoformat(),
                              archive=h.archive_no, reason=str(REASON_LABELS.get(rev.reason, rev.reason))))
    notices.issue(h.id, "revocation", "record", r.id, title, body, issued_date=rev.revoked_date,
                  region_code=h.region_code)


def _push_status(r: Record, h: Household, status: str, on: date, who: User) -> None:
    """A confirmed record's later status change goes to the platform too, in order after its confirmation."""
    from ..platform import service as platform
    det = r.determination or db.session.scalar(sa.select(Determination).where(Determination.record_id == r.id))
    try:
        b = scoring.rules_book().behaviour_on(r.code, r.region_code, det.determination_date)
    except RulesError:
        # never dropped: without its behaviour the platform event cannot be built, so the change is refused
        raise Conflict(_l("The platform event of record %(id)s cannot be built: its behaviour %(code)s is not in "
                          "the rules in force on its determination date. Nothing was changed.", id=r.id,
                          code=r.code), field="code") from None
    payload = _payload(r, h, b, det, status, _authority(who))
    payload["status_date"] = on.isoformat()
    platform.enqueue(h.id, f"record.{status}", payload)


def _evidence_lines(uploads: list[storage.Upload]) -> str:
    """New evidence carried by a correction proposal until its confirmation: one "sha256 type size name" a line."""
    return "\n".join(f"{storage.store(u)} {u.content_type} {u.size} {u.filename}" for u in uploads)


def _pending_correction(record_id: int):
    from ..appeals.models import CorrectionDecision, CorrectionProposal
    return db.session.scalar(sa.select(CorrectionProposal).where(
        CorrectionProposal.record_id == record_id,
        ~sa.exists().where(CorrectionDecision.proposal_id == CorrectionProposal.id)))


def corrections_of(record_id: int) -> list:
    """The record's correction proposals with their decisions, oldest first (each keeps the earlier version)."""
    from ..appeals.models import CorrectionProposal
    return list(db.session.scalars(sa.select(CorrectionProposal).where(CorrectionProposal.record_id == record_id)
                                   .order_by(CorrectionProposal.id)))


#: the reason a correction carries when an upheld objection corrects the record (SPEC §9) — never offered to pick
OBJECTION_UPHELD = "objection_upheld"


def _correction_facts(r: Record, data: dict, files, errors: dict) -> tuple[date, str, list[storage.Upload]]:
    """The corrected facts of a correction (SPEC §4), judged the same way for a caseworker's proposal and an
    objection handler's (SPEC §9): the behaviour stays (another code is a revocation plus a new record); the
    occurrence date neither in the future, nor after the information formed, nor that of another pending or standing
    record of the same behaviour (the same occurrence, §4); the files checked like evidence; and something must
    change. Every problem is added to `errors`; returns (occurrence date, facts, new evidence)."""
    if data.get("code") not in (None, "", r.code):
        errors["code"] = [_("A correction keeps the behaviour: recording a different behaviour is a revocation "
                            "and a new record.")]
    try:
        clean = load(CorrectionFactsIn(), {k: v for k, v in data.items() if k in ("occurred_date", "facts")})
    except InvalidInput as err:
        errors.update(err.errors)
        clean = {"occurred_date": None, "facts": ""}
    today = get_clock().today()
    occurred = clean["occurred_date"] or r.occurred_date
    if occurred > today:
        errors["occurred_date"] = [_("The date may not be in the future.")]
    elif occurred > r.formed_date:
        errors["occurred_date"] = [_("The information cannot have formed before the behaviour occurred.")]
    elif occurred != r.occurred_date:
        same = db.session.scalar(sa.select(Record.id).where(
            Record.household_id == r.household_id, Record.code == r.code, Record.occurred_date == occurred,
            Record.id != r.id, ~sa.exists().where(Revocation.record_id == Record.id),
            ~sa.exists().where(Determination.record_id == Record.id, Determination.decision == Decision.rejected)))
        if same is not None:
            errors["occurred_date"] = [_("This behaviour is already recorded for that date (record %(id)s) and is "
                                         "pending or standing; a record is made once per occurrence.", id=same)]
    uploads: list[storage.Upload] = []
    try:
        uploads = storage.check(files)
    except InvalidInput as err:
        errors.update(err.errors)
    facts = clean["facts"].strip() or r.facts
    if not errors and occurred == r.occurred_date and facts == r.facts and not uploads:
        errors["facts"] = [_("Change the occurrence date, the facts or the evidence: nothing would be corrected.")]
    return occurred, facts, uploads


def _may_correct(r: Record) -> None:
    """A record may be corrected while it is confirmed, not revoked, and no other correction awaits its decision.
    The caller holds the household lock."""
    decision, revoked, _repaired = _standing_state(r.id)
    if revoked:
        raise Conflict(_l("This record has already been revoked."))
    if decision != Decision.confirmed:
        raise Conflict(_l("Only a confirmed record can be corrected; a pending record is decided by its review."))
    if _pending_correction(r.id) is not None:
        raise Conflict(_l("A correction of this record is already awaiting its decision."))


def _correction_row(r: Record, reason: str, note: str, occurred: date, facts: str, uploads, who: User, today: date,
                    now):
    """The correction proposal: the corrected facts and the new evidence, the earlier version kept (`before_*`)."""
    from ..appeals.models import CorrectionProposal
    return CorrectionProposal(
        record_id=r.id, reason=reason, note=note, occurred_date=occurred, facts=facts,
        evidence=_evidence_lines(uploads), before_occurred_date=r.occurred_date, before_facts=r.facts,
        before_evidence=" ".join(e.sha256 for e in r.evidence), proposed_by_id=who.id, proposed_date=today,
        proposed_dt=now)


def propose_correction(record_id: int, data: dict, files, who: User):
    """A caseworker proposes to correct a confirmed record's facts and evidence only (SPEC §4: occurrence date,
    place and description, evidence) with a reason from the fixed list; the code, deduction and determination date
    stay. Recording a different behaviour is a revocation plus a new record. Nothing reaches the household yet."""
    r = _record(record_id)
    h = gate.check_household(_household_of(r), "record.revoke", who)
    data = dict(data or {})
    errors: dict[str, list[str]] = {}
    clean = load(CorrectionIn(), {k: v for k, v in data.items() if k in ("reason", "note", "occurred_date",
                                                                         "facts")})
    if clean["reason"] == "other" and not clean["note"].strip():
        errors["note"] = [_("Say why the record is corrected when the reason is 'other'.")]
    occurred, facts, uploads = _correction_facts(r, data, files, errors)
    if errors:
        raise InvalidInput(_l("The input is not valid."), errors=errors)
    scoring.lock_household(h.id)
    _may_correct(r)
    return decisions.propose(
        h, who, lambda today, now: _correction_row(r, clean["reason"], clean["note"], occurred, facts, uploads,
                                                   who, today, now),
        action="record.correction_proposed", object_type="record", object_id=r.id,
        after=lambda p: {"proposal": p.id, "reason": p.reason, "occurred_date": occurred.isoformat(),
                         "evidence": [u.sha256 for u in uploads]})


def propose_correction_for_objection(r: Record, data: dict, files, note: str, who: User, errors: dict):
    """The corrected facts an objection handler's upheld proposal carries (SPEC §9: upheld → the record's facts
    corrected): judged as every correction's (`_correction_facts`, problems added to the caller's `errors`) and,
    when `errors` stays empty, kept as a correction proposal with the reason `objection_upheld`, which only the
    objection's review decides (`confirm_correction_for_objection`). The caller holds the household lock; nothing
    is written while there is an error. Returns the proposal, or None."""
    occurred, facts, uploads = _correction_facts(r, dict(data or {}), files, errors)
    if errors:
        return None
    _may_correct(r)
    clock = get_clock()
    row = _correction_row(r, OBJECTION_UPHELD, note, occurred, facts, uploads, who, clock.today(), clock.now_utc())
    db.session.add(row)
    db.session.flush()
    return row


def confirm_correction_for_objection(proposal, h: Household, note: str, who: User):
    """An upheld objection's correction, confirmed by the objection's reviewer on J (SPEC §9): the correction
    decision written as a fact (by the reviewer, dated J) and the record corrected as every confirmed correction is
    (`_apply_correction`). The caller holds the household lock and has written the objection's decision."""
    from ..appeals.models import CorrectionDecision
    r = _record(proposal.record_id)
    clock = get_clock()
    row = CorrectionDecision(proposal_id=proposal.id, decision=Decision.confirmed.value, note=note, by_id=who.id,
                             decided_date=clock.today(), dt=clock.now_utc())
    db.session.add(row)
    db.session.flush()
    db.session.refresh(proposal, ["decision"])
    _apply_correction(r, h, proposal, row, who)
    return row


def return_correction_for_objection(proposal, note: str, who: User):
    """The objection's reviewer sent the handler's proposal back: its correction is decided `rejected` (nothing
    reaches the household; the handler may propose again)."""
    from ..appeals.models import CorrectionDecision
    clock = get_clock()
    row = CorrectionDecision(proposal_id=proposal.id, decision=Decision.rejected.value, note=note, by_id=who.id,
                             decided_date=clock.today(), dt=clock.now_utc())
    db.session.add(row)
    db.session.flush()
    return row


def decide_correction(proposal_id: int, decision: str, note: str, who: User):
    """A reviewer other than the proposer and the record's recorder confirms or rejects a correction (SPEC §4).
    Confirmed: from today the record carries the corrected facts and the new evidence (the earlier version stays
    in the proposal, viewable), the household is notified and the change pushed; rejected: nothing is sent.
    A correction an objection's handler proposed is decided by the objection's review only."""
    from ..appeals.models import CorrectionDecision, CorrectionProposal
    proposal = db.session.get(CorrectionProposal, proposal_id)
    if proposal is not None and proposal.reason == OBJECTION_UPHELD:
        gate.check_household(_household_of(_record(proposal.record_id)), "record.determine", who)  # 404 outside
        raise Conflict(_l("This correction belongs to an objection's result: it is decided by the objection's "
                          "review."))
    row, proposal, r, h = _decide_change(
        CorrectionProposal, CorrectionDecision, proposal_id, decision, note, who,
        forbidden=_l("You proposed this correction or recorded the behaviour: another reviewer must decide it (two "
                     "people, SPEC §4)."), action="record.correction_decided")
    if row.decision != Decision.confirmed.value:
        return row
    _apply_correction(r, h, proposal, row, who)
    return row


def correction_changes(proposal) -> list[str]:
    """What a correction changed, in words for the household (in the current locale)."""
    out = []
    if proposal.occurred_date != proposal.before_occurred_date:
        out.append(_("the date the behaviour occurred, from %(before)s to %(after)s",
                     before=proposal.before_occurred_date.isoformat(), after=proposal.occurred_date.isoformat()))
    if proposal.facts != proposal.before_facts:
        out.append(_("the description of the facts"))
    added = len([line for line in (proposal.evidence or "").splitlines() if line])
    if added:
        out.append(_("new evidence added (%(count)s files)", count=added))
    return out


def _apply_correction(r: Record, h: Household, proposal, row, who: User) -> None:
    """The effect of a confirmed correction, on its decision date (SPEC §4) — one path for a correction decision
    and an upheld objection's: from today the record carries the corrected facts and the new evidence (the earlier
    version stays in the proposal), audited, pushed (status `corrected`), everything derived recomputed in this
    transaction (the engines read the facts), and the household notified of what was corrected."""
    if _standing_state(r.id)[1]:
        raise Conflict(_l("This record has already been revoked."))
    r.occurred_date, r.facts = proposal.occurred_date, proposal.facts
    now = get_clock().now_utc()
    for line in filter(None, proposal.evidence.splitlines()):
        sha, content_type, size, filename = line.split(" ", 3)
        db.session.add(Evidence(record_id=r.id, filename=filename, content_type=content_type, size=int(size),
                                sha256=sha, uploaded_by_id=proposal.proposed_by_id, uploaded_dt=now))
    db.session.flush()
    db.session.refresh(r, ["evidence"])
    audit.record("record.correct", "record", r.id, household_id=h.id, region_code=h.region_code,
                 after={**_snapshot(r), "correction": proposal.id, "reason": proposal.reason},
                 actor=(who.id, who.username))
    _push_status(r, h, "corrected", row.decided_date, who)
    _after_change(h)
    from ..notices import service as notices
    title = official(lambda: _("Notice of correction of a dishonest-behaviour record"))
    body = official(lambda: _("From %(date)s the facts of the record in your household credit archive "
                              "(%(archive)s) are corrected (%(reason)s): %(changes)s. The behaviour, its deduction "
                              "and its determination date are unchanged; the earlier version stays viewable.",
                              date=row.decided_date.isoformat(), archive=h.archive_no,
                              reason=str(REASON_LABELS.get(proposal.reason, proposal.reason)),
                              changes=_("; ").join(correction_changes(proposal))))
    notices.issue(h.id, "correction", "correction", proposal.id, title, body, issued_date=row.decided_date,
                  region_code=h.region_code)


def open_change_proposals(who: User) -> list[dict]:
    """The reviewer's queue of revocations and corrections awaiting a decision in the user's region, oldest first
    (an objection handler's correction is decided by the objection's review, not here):
    each {"kind": "revocation"|"correction", "proposal", "record", "mine"} — `mine` when the user proposed it or
    recorded the behaviour (they may not decide it: two people, SPEC §4). Not a read of one household's file."""
    from ..appeals.models import CorrectionDecision, CorrectionProposal, RevocationDecision, RevocationProposal
    gate.require("record.determine", who)
    out = []
    for kind, model, decision in (("revocation", RevocationProposal, RevocationDecision),
                                  ("correction", CorrectionProposal, CorrectionDecision)):
        rows = db.session.execute(
            sa.select(model, Record).join(Record, Record.id == model.record_id)
            .where(gate.region_clause(Record.region_code, who),
                   ~sa.exists().where(decision.proposal_id == model.id),
                   model.reason != OBJECTION_UPHELD)).all()  # an objection's: decided by its review
        out.extend({"kind": kind, "proposal": p, "record": r,
                    "mine": who.id in (p.proposed_by_id, r.recorded_by_id)} for p, r in rows)
    return sorted(out, key=lambda x: (x["proposal"].proposed_dt, x["kind"], x["proposal"].id))


def record_repair(record_id: int, note: str, who: User) -> RecordRepair:
    """Mark a confirmed record repaired from today (信用修复, HB 七): it stays, but no longer counts.

    The repair decision itself (conditions, deadlines — LN 第十一–十三条) belongs to the appeals work, which
    calls this once a repair is granted.
    """
    r = _record(record_id)
    h = gate.check_household(_household_of(r), "record.revoke", who)
    clean = load(RepairIn(), {"note": note or ""})
    scoring.lock_household(h.id)
    decision, revoked, repaired = _standing_state(r.id)
    if decision != Decision.confirmed or revoked or repaired:
        raise Conflict(_l("Only a confirmed record that is neither revoked nor repaired can be repaired."))
    det = db.session.scalar(sa.select(Determination).where(Determination.record_id == r.id))
    b = scoring.rules_book().behaviour_on(r.code, r.region_code, det.determination_date)
    if not b.repairable:
        raise Conflict(_l("This behaviour is marked not repairable in the catalogue."))
    return repair_effect(r, h, clean["note"], who)


def repair_effect(r: Record, h: Household, note: str, who: User) -> RecordRepair:
    """The effect of a granted repair decision (SPEC §9), on the confirmation date: the record stays, marked
    repaired; from today it stops counting, grounding lists and being published; the lists recompute and the
    change is pushed. The caller holds the household lock and has checked the record may be repaired."""
    clock = get_clock()
    rep = RecordRepair(record_id=r.id, repaired_date=clock.today(), note=note, by_id=who.id,
                       dt=clock.now_utc())
    db.session.add(rep)
    db.session.flush()
    db.session.refresh(r, ["repair"])
    audit.record("record.repair", "record", r.id, household_id=h.id, region_code=h.region_code,
                 after={"repaired_date": rep.repaired_date.isoformat()}, actor=(who.id, who.username))
    _push_status(r, h, "repaired", rep.repaired_date, who)
    _after_change(h)
    return rep
