"""Issuing written notices (告知书 …) to a household; each notice is issued once per (kind, subject)."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from ..audit import service as audit
from ..clock import get_clock
from ..extensions import db
from .models import Notice


def issue(household_id: int, kind: str, ref_type: str, ref_id, title: str, body: str,
          issued_date: date | None = None, region_code: str | None = None) -> Notice:
    """Queue the notice unless this (kind, ref) was already issued: calling twice is harmless."""
    existing = db.session.scalar(sa.select(Notice).where(Notice.kind == kind, Notice.ref_type == ref_type,
                                                         Notice.ref_id == str(ref_id)))
    if existing is not None:
        return existing
    clock = get_clock()
    notice = Notice(household_id=household_id, kind=kind, ref_type=ref_type, ref_id=str(ref_id), title=title,
                    body=body, issued_date=issued_date or clock.today(), created_dt=clock.now_utc())
    db.session.add(notice)
    db.session.flush()
    audit.record("notice.issue", "notice", notice.id, household_id=household_id, region_code=region_code,
                 after={"kind": kind, "ref": f"{ref_type}:{ref_id}"})
    return notice


def for_household(household_id: int) -> list[Notice]:
    return db.session.scalars(sa.select(Notice).where(Notice.household_id == household_id)
                              .order_by(Notice.id.desc())).all()
