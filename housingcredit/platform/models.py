"""The outbox to the provincial credit platform: written in the same transaction as the change it reports."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, IdMixin, big_fk


class OutboxEvent(IdMixin, Base):
    __tablename__ = "outbox_events"
    __table_args__ = (sa.UniqueConstraint("household_id", "seq", name="uq_outbox_events_household_seq"),
                      sa.Index("ix_outbox_events_pending", "delivered_dt", "id"),
                      sa.CheckConstraint("seq >= 1", name="seq_positive"),
                      sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"))

    household_id: Mapped[int] = big_fk("households.id")
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(40))
    payload: Mapped[dict] = mapped_column(sa.JSON)
    created_dt: Mapped[datetime]
    delivered_dt: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
