"""Builders for record tests: evidence bytes, records made and determined through the services."""
from __future__ import annotations

from datetime import date

from housingcredit.extensions import db
from housingcredit.records import service

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


def record_data(code: str = "HB06", occurred: date | None = None, formed: date | None = None,
                source: str = "management", facts: str = "拖欠租金7个月，经催缴仍未缴纳。") -> dict:
    occurred = occurred or date(2026, 6, 10)
    return {"code": code, "occurred_date": occurred.isoformat(), "formed_date": (formed or occurred).isoformat(),
            "source": source, "facts": facts}


def make_record(household, recorder, code: str = "HB06", files=None, **kw):
    files = files if files is not None else [("催缴通知.pdf", PDF)]
    record = service.create_record(household.id, record_data(code, **kw), files, recorder)
    db.session.commit()
    return record


def revoke(record, proposer, reviewer, reason: str = "error", note: str = "认定错误"):
    """A revocation as a decision (SPEC §4): proposed by `proposer`, confirmed by `reviewer`."""
    proposal = service.propose_revocation(record.id, reason, note, proposer)
    row = service.decide_revocation(proposal.id, "confirmed", "", reviewer)
    db.session.commit()
    return row


def confirm(record, reviewer, basis: str = "HB 四(六); 公共租赁住房租赁合同第八条"):
    det = service.determine(record.id, "confirmed", basis, reviewer)
    db.session.commit()
    return det
