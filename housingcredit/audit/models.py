"""The append-only, hash-chained audit trail (审计日志).

`seq` is an entry's place in the chain (1, 2, 3 …); `prev_hash` and `hash` link it. A read-log entry (`*.read`,
`credit.check`) is written unchained — `seq`, `prev_hash` and `hash` NULL — and chained later in a batch
(audit/service.py `chain_pending`); every other entry is chained when its transaction commits. `id` is the row's
identity (from the table's sequence), in the order the rows were written.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, IdMixin, big_fk, one_of

UNCHAINED = "hash IS NULL"
VERIFICATION_STATES = ("running", "done", "failed")


class AuditEntry(IdMixin, Base):
    __tablename__ = "audit_entries"
    __table_args__ = (sa.Index("ix_audit_entries_household", "household_id", "id"),
                      # the trail page's filters (audit/trail.py), each paged by id
                      sa.Index("ix_audit_entries_actor", "actor_id", "id"),
                      sa.Index("ix_audit_entries_action", "action", "id"),
                      sa.Index("ix_audit_entries_dt", "dt"),
                      sa.Index("ix_audit_entries_unchained", "id", postgresql_where=sa.text(UNCHAINED),
                               sqlite_where=sa.text(UNCHAINED)))

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
    seq: Mapped[int | None] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), unique=True)
    prev_hash: Mapped[str | None] = mapped_column(sa.String(64))
    hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)


class AuditVerification(IdMixin, Base):
    """One run of the chain's verifier asked for on the trail page (校验日志链): who asked, how far it got while it
    runs in the background (`checked` of `total`, `heartbeat_dt` its last sign of life), and the verifier's answer
    once done. The answer is also an audit entry (`audit.verify`); this row is what the page polls."""

    __tablename__ = "audit_verifications"
    __table_args__ = (one_of("status", VERIFICATION_STATES),)

    requested_by_id: Mapped[int] = big_fk("users.id")
    started_dt: Mapped[datetime]
    heartbeat_dt: Mapped[datetime]
    finished_dt: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(sa.String(12))  # running | done | failed
    total: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"))  # the chain's length
    checked: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"))
    ok: Mapped[bool | None]
    first_bad_id: Mapped[int | None] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"))
    problem: Mapped[str | None] = mapped_column(sa.String(300))  # the verifier's own words
    head_id: Mapped[int | None] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"))
    head_hash: Mapped[str | None] = mapped_column(sa.String(64))
    checkpoint_at: Mapped[str | None] = mapped_column(sa.String(40))
