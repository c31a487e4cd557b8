"""Issuing written notices (告知书 …) to a household; each notice is issued once per (kind, subject)."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from ..audit import service as audit
from ..clock import get_clock
from flask_babel import lazy_gettext as _l

from ..errors import Conflict
from ..extensions import db
from .models import Notice


def issue(household_id: int, kind: str, ref_type: str, ref_id, title: str, body: str,
          issued_date: date | None = None, region_code: str | None = None,
          issuer_region: str | None = None) -> Notice:
    """Queue the notice unless this (kind, ref) was already issued: calling twice is harmless.

    The notice gets its document number, fixed content and content hash now (SPEC §12; the issuing office is
    `issuer_region`'s, else the deciding staff user's, else the household's); its PDF is rendered on first download.

    A notice that cannot be built is never dropped: without a household, kind, reference, or a title and body
    already rendered as text (official(), Chinese), or when the (kind, ref) was issued to another household,
    the use case fails here (Conflict) and its transaction is rolled back with it.
    """
    if not (household_id and kind and ref_type and ref_id is not None and str(ref_id)
            and isinstance(title, str) and title.strip() and isinstance(body, str) and body.strip()):
        raise Conflict(_l("The notice %(kind)s for %(ref)s could not be written; nothing was changed.",
                          kind=kind, ref=f"{ref_type}:{ref_id}"))
    existing = db.session.scalar(sa.select(Notice).where(Notice.kind == kind, Notice.ref_type == ref_type,
                                                         Notice.ref_id == str(ref_id)))
    if existing is not None:
        if existing.household_id != household_id:  # the same document for someone else: a real failure
            raise Conflict(_l("The notice %(kind)s for %(ref)s was already issued to another household; nothing "
                              "was changed.", kind=kind, ref=f"{ref_type}:{ref_id}"))
        return existing
    clock = get_clock()
    notice = Notice(household_id=household_id, kind=kind, ref_type=ref_type, ref_id=str(ref_id), title=title,
                    body=body, issued_date=issued_date or clock.today(), created_dt=clock.now_utc())
    db.session.add(notice)
    db.session.flush()
    audit.record("notice.issue", "notice", notice.id, household_id=household_id, region_code=region_code,
                 after={"kind": kind, "ref": f"{ref_type}:{ref_id}"})
    from ..reports import service as documents
    documents.number_notice(notice, issuer_region=issuer_region)
    return notice


def for_household(household_id: int) -> list[Notice]:
    return db.session.scalars(sa.select(Notice).where(Notice.household_id == household_id)
                              .order_by(Notice.id.desc())).all()


def for_reader(household_id: int, who) -> list[Notice]:
    """The household's notices for someone allowed to see its archive (the gate decides; NotFound otherwise);
    a staff read is logged as "notices.read"."""
    from ..accounts import gate
    from ..archives.models import Household
    gate.read_household(db.session.get(Household, household_id), "archive.read", who, "notices.read")
    return for_household(household_id)


def unread_count(household_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count(Notice.id)).where(Notice.household_id == household_id,
                                                                       Notice.read_dt.is_(None))) or 0


def open_notice(notice_id: int, who) -> Notice:
    """Show one notice; when the household itself opens it, it is marked read (with a "notice.open" audit entry,
    no `.read`: a household's own reads are no staff reads); a staff read is logged as "notice.read"."""
    from ..accounts import gate
    from ..accounts.models import Role
    from ..archives.models import Household
    from ..errors import NotFound
    notice = db.session.get(Notice, notice_id)
    if notice is None:
        raise NotFound()
    household = gate.read_household(db.session.get(Household, notice.household_id), "archive.read", who,
                                    "notice.read", "notice", notice.id)
    if who.role == Role.household and notice.read_dt is None:
        notice.read_dt = get_clock().now_utc()
        db.session.flush()
        audit.record("notice.open", "notice", notice.id, household_id=household.id,
                     region_code=household.region_code, actor=who)
    return notice
