"""The outbox to the provincial credit platform: written in the same transaction as the change it reports.

Each event is one message of a stream (a household's, or `audit` for the audit chain's checkpoints), numbered
`seq` within it; the sender delivers a stream strictly in order (seq n+1 only after n is acknowledged).
Statuses: pending → sent (claimed, awaiting the answer) → acknowledged, or failed (retried with back-off) →
dead (dead-lettered after the configured data rejections or hours of waiting; shown, never dropped).
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, IdMixin, big_fk

PENDING, SENT, ACKNOWLEDGED, FAILED, DEAD = "pending", "sent", "acknowledged", "failed", "dead"
STATUSES = (PENDING, SENT, ACKNOWLEDGED, FAILED, DEAD)
OPEN_STATUSES = (PENDING, SENT, FAILED)  # the sender's work
AUDIT_STREAM = "audit"
_OPEN_SQL = "status IN ('pending', 'sent', 'failed')"
_UNACKED_SQL = "status <> 'acknowledged'"


class OutboxEvent(IdMixin, Base):
    __tablename__ = "outbox_events"
    __table_args__ = (sa.UniqueConstraint("household_id", "seq", name="uq_outbox_events_household_seq"),
                      sa.UniqueConstraint("stream", "seq", name="uq_outbox_events_stream_seq"),
                      sa.UniqueConstraint("idempotency_key", name="uq_outbox_events_idempotency_key"),
                      sa.Index("ix_outbox_events_status", "status", "id"),
                      # the claim's two partial indexes: open messages in id order; unacknowledged ones per stream
                      sa.Index("ix_outbox_events_open", "id", postgresql_where=sa.text(_OPEN_SQL),
                               sqlite_where=sa.text(_OPEN_SQL)),
                      sa.Index("ix_outbox_events_unacked", "stream", "seq", postgresql_where=sa.text(_UNACKED_SQL),
                               sqlite_where=sa.text(_UNACKED_SQL)),
                      sa.CheckConstraint("seq >= 1", name="seq_positive"),
                      sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"))

    household_id: Mapped[int | None] = big_fk("households.id", nullable=True)
    stream: Mapped[str] = mapped_column(sa.String(40))
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(40))
    payload: Mapped[dict] = mapped_column(sa.JSON)
    created_dt: Mapped[datetime]
    delivered_dt: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    idempotency_key: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(20), default=PENDING)
    rejections: Mapped[int] = mapped_column(default=0)
    next_attempt_dt: Mapped[datetime | None]
    last_attempt_dt: Mapped[datetime | None]
    dead_dt: Mapped[datetime | None]
    answer: Mapped[dict | None] = mapped_column(sa.JSON)
