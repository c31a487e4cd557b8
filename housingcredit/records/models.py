"""Dishonest-behaviour records (失信行为记录), their evidence, determinations, revocations and repairs.

Every row here is a fact: written once, never updated or deleted. A record's state is read from the facts
that reference it (determination, revocation, repair)."""
from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, IdMixin, big_fk, one_of
from .schemas import STORED_REVOCATION_REASONS


class Decision(str, enum.Enum):
    confirmed = "confirmed"
    rejected = "rejected"


class Record(IdMixin, Base):
    """A recorded behaviour (失信行为), pending review until a determination exists.

    `pending` is the one stored state: true until a determination or a revocation references the record, set
    false in the same transaction that writes that fact (records/service.py), so the review queue and the
    overview read an index instead of testing every record for facts. `pending_state_drift()` checks it.
    `confirmed_unrevoked` is stored the same way: true from a confirming determination until a revocation (the
    records the statistics count by behaviour and month, read from one partial index);
    `confirmed_state_drift()` checks it.
    """

    __tablename__ = "records"
    __table_args__ = (sa.Index("ix_records_household_id", "household_id"),
                      # the review queue: pending, oldest first (partial: only the pending rows are indexed)
                      sa.Index("ix_records_pending_queue", "recorded_dt", "id", postgresql_where=sa.text("pending"),
                               sqlite_where=sa.text("pending")),
                      sa.Index("ix_records_pending_region", "region_code", postgresql_where=sa.text("pending"),
                               sqlite_where=sa.text("pending")),
                      sa.Index("ix_records_recorder", "recorded_by_id", "pending", "late"),
                      sa.Index("ix_records_late_region", "region_code", postgresql_where=sa.text("late"),
                               sqlite_where=sa.text("late")),
                      # the statistics: confirmed, unrevoked records by region, formed date and code (index-only)
                      sa.Index("ix_records_confirmed_stats", "region_code", "formed_date", "code",
                               postgresql_where=sa.text("confirmed_unrevoked"),
                               sqlite_where=sa.text("confirmed_unrevoked")))

    household_id: Mapped[int] = big_fk("households.id")
    region_code: Mapped[str] = mapped_column(sa.String(6))
    code: Mapped[str] = mapped_column(sa.String(32))
    occurred_date: Mapped[date]
    formed_date: Mapped[date]
    source: Mapped[str] = mapped_column(sa.String(32))
    facts: Mapped[str] = mapped_column(sa.Text)
    late: Mapped[bool] = mapped_column(default=False)
    pending: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    confirmed_unrevoked: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    corrects_id: Mapped[int | None] = big_fk("records.id")
    recorded_by_id: Mapped[int] = big_fk("users.id")
    recorded_dt: Mapped[datetime]

    determination: Mapped["Determination | None"] = relationship(back_populates="record", uselist=False)
    revocation: Mapped["Revocation | None"] = relationship(uselist=False)
    repair: Mapped["RecordRepair | None"] = relationship(uselist=False)
    evidence: Mapped[list["Evidence"]] = relationship(order_by="Evidence.id")
    recorded_by = relationship("User", foreign_keys=[recorded_by_id])


class Determination(IdMixin, Base):
    """The review committee's determination (认定, HB 五): confirmed or rejected, by someone other than the recorder."""

    __tablename__ = "determinations"

    record_id: Mapped[int] = big_fk("records.id", unique=True)
    decision: Mapped[Decision] = mapped_column(sa.Enum(Decision, name="decision", native_enum=False, length=10,
                                                                  create_constraint=True))
    legal_basis: Mapped[str] = mapped_column(sa.Text)
    determination_date: Mapped[date]
    reviewer_id: Mapped[int] = big_fk("users.id")
    decided_dt: Mapped[datetime]

    record: Mapped[Record] = relationship(back_populates="determination")
    reviewer = relationship("User", foreign_keys=[reviewer_id])


class Revocation(IdMixin, Base):
    """A record revoked (撤销) from a date: objection upheld, correction, or error found."""

    __tablename__ = "revocations"
    __table_args__ = (one_of("reason", STORED_REVOCATION_REASONS),)

    record_id: Mapped[int] = big_fk("records.id", unique=True)
    revoked_date: Mapped[date]
    reason: Mapped[str] = mapped_column(sa.String(32))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    by_id: Mapped[int | None] = big_fk("users.id")
    dt: Mapped[datetime]


class RecordRepair(IdMixin, Base):
    """A record repaired (信用修复) from a date; the record stays but no longer counts."""

    __tablename__ = "record_repairs"

    record_id: Mapped[int] = big_fk("records.id", unique=True)
    repaired_date: Mapped[date]
    note: Mapped[str] = mapped_column(sa.Text, default="")
    by_id: Mapped[int | None] = big_fk("users.id")
    dt: Mapped[datetime]


class Evidence(IdMixin, Base):
    """An evidence file (证据材料), stored by its SHA-256 and never overwritten."""

    __tablename__ = "evidence"
    __table_args__ = (sa.Index("ix_evidence_record_id", "record_id"),)

    record_id: Mapped[int | None] = big_fk("records.id")
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(80))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_by_id: Mapped[int] = big_fk("users.id")
    uploaded_dt: Mapped[datetime]
