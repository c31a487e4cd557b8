"""The append-only, hash-chained audit trail (审计日志)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, IdMixin, big_fk


class AuditEntry(IdMixin, Base):
    __tablename__ = "audit_entries"
    __table_args__ = (sa.Index("ix_audit_entries_household", "household_id", "id"),
                      # the trail page's filters (audit/trail.py), each paged by id
                      sa.Index("ix_audit_entries_actor", "actor_id", "id"),
                      sa.Index("ix_audit_entries_action", "action", "id"),
                      sa.Index("ix_audit_entries_dt", "dt"))

    dt: Mapped[datetime]
    actor_id: Mapped[int | None] = big_fk("users.id")  # None: the system or the demo loader
    actor_label: Mapped[str] = mapped_column(sa.String(80))
    action: Mapped[str] = mapped_column(sa.String(64))
    object_type: Mapped[str] = mapped_column(sa.String(40))
    object_id: Mapped[str | None] = mapped_column(sa.String(40))
    household_id: Mapped[int | None] = big_fk("households.id")  # households are never deleted
    region_code: Mapped[str | None] = mapped_column(sa.String(6))
    before: Mapped[dict | None] = mapped_column(sa.JSON)
    after: Mapped[dict | None] = mapped_column(sa.JSON)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
