"""Builders for list tests: records confirmed on a chosen day through the records service, staff, jobs."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from housingcredit.audit.models import AuditEntry
from housingcredit.extensions import db
from housingcredit.lists.models import Procedure, WatchEntry
from housingcredit.notices.models import Notice
from housingcredit.platform.models import OutboxEvent
from housingcredit.records import service as records
from tests import factories

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


class Staff:
    """A caseworker and a reviewer of one region (four-eyes needs two people)."""

    def __init__(self, region_code: str = "420100"):
        self.caseworker = factories.make_user("caseworker", region_code)
        self.reviewer = factories.make_user("reviewer", region_code)


def confirm_on(clock, staff: Staff, household, code: str, on: date):
    """Record a behaviour and have it confirmed on `on` (the determination date is the clock's today)."""
    clock.set(on)
    record = records.create_record(household.id, {
        "code": code, "occurred_date": on.isoformat(), "formed_date": on.isoformat(), "source": "management",
        "facts": f"{code} test facts"}, [("evidence.pdf", PDF)], staff.caseworker)
    db.session.commit()
    records.determine(record.id, "confirmed", "HB 四", staff.reviewer)
    db.session.commit()
    return record


def run_jobs_on(clock, day: date, times: int = 1) -> list[str]:
    from housingcredit import jobs
    clock.set(day)
    lines = []
    for _ in range(times):
        lines.extend(jobs.run_once())
    return lines


def entries(household_id: int) -> list[tuple]:
    db.session.expire_all()
    return [(e.start_date, e.until_date, e.end_date, e.reason) for e in db.session.scalars(
        sa.select(WatchEntry).where(WatchEntry.household_id == household_id).order_by(WatchEntry.start_date))]


def procedures(household_id: int) -> list[Procedure]:
    db.session.expire_all()
    return db.session.scalars(sa.select(Procedure).where(Procedure.household_id == household_id)
                              .order_by(Procedure.id)).all()


def notices(household_id: int, kind: str | None = None) -> list[Notice]:
    stmt = sa.select(Notice).where(Notice.household_id == household_id)
    if kind:
        stmt = stmt.where(Notice.kind == kind)
    return db.session.scalars(stmt.order_by(Notice.id)).all()


def audit_actions(household_id: int, prefix: str = "") -> list[str]:
    return [a for a in db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.household_id == household_id).order_by(AuditEntry.id)) if a.startswith(prefix)]


def outbox_kinds(household_id: int, prefix: str = "") -> list[str]:
    return [k for k in db.session.scalars(sa.select(OutboxEvent.kind).where(
        OutboxEvent.household_id == household_id).order_by(OutboxEvent.seq)) if k.startswith(prefix)]


def trail(household_id: int) -> tuple:
    """Everything a transition leaves behind, to show that a second run adds nothing."""
    return (len(notices(household_id)), len(audit_actions(household_id)), len(outbox_kinds(household_id)),
            entries(household_id), [(p.id, p.state) for p in procedures(household_id)])
