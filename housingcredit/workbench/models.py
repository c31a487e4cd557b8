"""Requests for an unmasked export (未脱敏导出申请): asked with a purpose, approved or refused by a supervisor other
than the requester (SPEC §11), downloaded once by the requester before it expires."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, IdMixin, big_fk, one_of

DECISIONS = ("approved", "rejected")


class ExportRequest(IdMixin, Base):
    """One request for an unmasked export of a filtered list: the list, its filters as asked, the purpose; the
    decision (once), the time limit and the single download are set once each, never changed after."""

    __tablename__ = "export_requests"
    __table_args__ = (sa.Index("ix_export_requests_requested_by", "requested_by_id", "id"),
                      sa.Index("ix_export_requests_undecided", "region_code",
                               postgresql_where=sa.text("decision IS NULL"),
                               sqlite_where=sa.text("decision IS NULL")),
                      one_of("decision", DECISIONS),
                      sa.CheckConstraint("(decision IS NULL) = (decided_by_id IS NULL)", name="decided_by"),
                      sa.CheckConstraint("downloaded_dt IS NULL OR decision = 'approved'", name="download_approved"))

    list_name: Mapped[str] = mapped_column(sa.String(24))
    filters: Mapped[dict] = mapped_column(sa.JSON)
    purpose: Mapped[str] = mapped_column(sa.Text)
    region_code: Mapped[str] = mapped_column(sa.String(6))  # the requester's region: the export's reach
    requested_by_id: Mapped[int] = big_fk("users.id")
    requested_dt: Mapped[datetime]
    decision: Mapped[str | None] = mapped_column(sa.String(10))
    decided_by_id: Mapped[int | None] = big_fk("users.id")
    decided_dt: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(sa.Text, default="")
    expires_dt: Mapped[datetime | None]
    downloaded_dt: Mapped[datetime | None]
    rows: Mapped[int | None]

    requested_by = relationship("User", foreign_keys=[requested_by_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])
