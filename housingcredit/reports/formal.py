"""The formal parts of a notice (SPEC §12) beside its facts: the clause relied on, the decision, who decided, the
household's rights with their deadlines, and the earlier documents a revocation or correction replaces.

The texts are data (config/documents.yaml `notices`, `rights`); what depends on the notice's subject (the
behaviour's clause and legal basis of a determination, an order's ground, an objection's or repair's outcome, the
day a record becomes repairable) is read from the subject the notice refers to (kind, ref_type, ref_id)."""
from __future__ import annotations

import re
from datetime import date, timedelta

import sqlalchemy as sa

from ..clock import add_months, add_working_days
from ..extensions import db
from . import numbers
from .models import Document

_ISO = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")  # not \b: a Chinese character is a word character


def chinese_dates(text: str) -> str:
    """Every ISO date in a text written the way a formal document writes it: 2026-11-26 → 2026年11月26日."""
    return _ISO.sub(lambda m: f"{int(m[1])}年{int(m[2])}月{int(m[3])}日", text or "")


def _record_behaviour(record_id):
    from ..records.models import Determination, Record
    from ..scoring import service as scoring
    r = db.session.get(Record, int(record_id))
    det = db.session.scalar(sa.select(Determination).where(Determination.record_id == r.id)) if r else None
    if r is None or det is None:
        return None, None
    try:
        return scoring.rules_book().behaviour_on(r.code, r.region_code, det.determination_date), det
    except Exception:  # noqa: BLE001 — a behaviour no longer in the rules: the notice keeps its generic clause
        return None, det


def _outcome(notice) -> str | None:
    """The confirmed outcome of an objection (upheld/rejected) or a repair application (granted/refused)."""
    if notice.kind == "objection_result":
        from ..appeals.models import ObjectionProposal, ObjectionReview
        model, review, key = ObjectionProposal, ObjectionReview, ObjectionProposal.objection_id
    elif notice.kind == "repair_result":
        from ..appeals.models import RepairProposal, RepairReview
        model, review, key = RepairProposal, RepairReview, RepairProposal.application_id
    else:
        return None
    return db.session.scalar(sa.select(model.outcome).join(review, review.proposal_id == model.id)
                             .where(key == int(notice.ref_id), review.confirmed.is_(True))
                             .order_by(model.id.desc()).limit(1))


def parts(notice) -> dict:
    """clause, decision and decided_by of the notice; the subject's own clause first where it has one."""
    cfg = numbers.config()["notices"].get(notice.kind, {})
    clause = cfg.get("clause", "")
    decision = cfg.get("decision", "")
    if isinstance(decision, dict):
        decision = decision.get(_outcome(notice) or "", "")
    if notice.kind == "determination" and notice.ref_type == "record":
        behaviour, det = _record_behaviour(notice.ref_id)
        specific = "；".join(x for x in (behaviour.clause if behaviour else "",
                                         det.legal_basis if det else "") if x)
        clause = f"{specific}；{clause}" if specific else clause
    elif notice.kind == "rectification_order":
        from ..lists.models import RectificationOrder
        from ..scoring import service as scoring
        order = db.session.get(RectificationOrder, int(notice.ref_id))
        if order is not None:
            version = scoring.rules_book().version_at(order.issued_date)
            item = next((g for g in version.rectification if g.code == order.ground), None)
            if item is not None:
                clause = item.clause
    return {"clause": clause, "decision": decision, "decided_by": cfg.get("decided_by", ""),
            "committee": False}


def repair_from(notice) -> date | None:
    """The first day a determined record may be repaired (SPEC §9), for the rights of its determination notice."""
    if notice.kind != "determination" or notice.ref_type != "record":
        return None
    from ..appeals.clocks import repairable_from
    behaviour, det = _record_behaviour(notice.ref_id)
    return repairable_from(behaviour, det.determination_date) if behaviour and det else None


def rights(notice, office_name: str) -> list[dict]:
    """The household's rights stated in the notice, each with its deadline written in Chinese (SPEC §12)."""
    cfg = numbers.config()["rights"]
    issued = notice.issued_date
    out = []
    for name in cfg["kinds"].get(notice.kind, ["objection"]):
        right = cfg[name]
        values = {"office": office_name, "repair_from": ""}
        if name == "objection":
            values["days"] = right["working_days"]
            values["deadline"] = numbers.chinese_date(add_working_days(issued, right["working_days"]))
        elif name == "repair":
            first = repair_from(notice)
            if first is not None:
                values["repair_from"] = f"（本记录最早可于{numbers.chinese_date(first)}起申请修复）"
        elif name == "review":
            values.update(days=right["days"], months=right["months"],
                          deadline=numbers.chinese_date(issued + timedelta(days=int(right["days"]))),
                          deadline_court=numbers.chinese_date(add_months(issued, int(right["months"]))))
        out.append({"name": name, "clause": right["clause"], "text": right["text"].format(**values)})
    return out


def replaced(notice) -> list[Document]:
    """The earlier documents a revocation or correction notice replaces (SPEC §12: a correction is a new notice
    that cites the old number): the record's determination notice and its earlier corrections, still standing."""
    from ..appeals.models import CorrectionProposal
    from ..notices.models import Notice
    if notice.kind == "revocation" and notice.ref_type == "record":
        record_id = int(notice.ref_id)
    elif notice.kind == "correction" and notice.ref_type == "correction":
        proposal = db.session.get(CorrectionProposal, int(notice.ref_id))
        if proposal is None:
            return []
        record_id = proposal.record_id
    else:
        return []
    corrections = sa.select(sa.cast(CorrectionProposal.id, sa.String)).where(
        CorrectionProposal.record_id == record_id)
    notice_ids = sa.select(Notice.id).where(Notice.id != notice.id, sa.or_(
        sa.and_(Notice.kind == "determination", Notice.ref_type == "record", Notice.ref_id == str(record_id)),
        sa.and_(Notice.kind == "correction", Notice.ref_type == "correction", Notice.ref_id.in_(corrections))))
    return db.session.scalars(sa.select(Document).where(Document.notice_id.in_(notice_ids),
                                                        Document.superseded_by_id.is_(None))
                              .order_by(Document.id)).all()
