"""Objections (异议, HB 七), revocation decisions (SPEC §4) and restorations (恢复信誉, SPEC §9).

Every row is a fact, written once and never updated or deleted: an objection's handler proposal, its review, a
revocation proposal and its decision are each their own row. An item's state is read from the facts.
"""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, IdMixin, big_fk

# The fixed list of reasons a caseworker may give for a revocation (SPEC §4); `objection_upheld` is written only by
# an objection's decision (SPEC §9) and never offered.
PROPOSAL_REASONS = ("error", "annulled", "other")


class RevocationProposal(IdMixin, Base):
    """A caseworker's proposal to revoke a confirmed record (撤销), with a reason from the fixed list."""

    __tablename__ = "revocation_proposals"
    __table_args__ = (sa.Index("ix_revocation_proposals_record_id", "record_id"),)

    record_id: Mapped[int] = big_fk("records.id")
    reason: Mapped[str] = mapped_column(sa.String(32))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    proposed_by_id: Mapped[int] = big_fk("users.id")
    proposed_date: Mapped[date]
    proposed_dt: Mapped[datetime]

    decision: Mapped["RevocationDecision | None"] = relationship(uselist=False, back_populates="proposal")
    proposed_by = relationship("User", foreign_keys=[proposed_by_id])


class RevocationDecision(IdMixin, Base):
    """A reviewer's decision on a revocation proposal: confirmed (the record is revoked that day) or rejected."""

    __tablename__ = "revocation_decisions"

    proposal_id: Mapped[int] = big_fk("revocation_proposals.id", unique=True)
    decision: Mapped[str] = mapped_column(sa.String(10))  # confirmed | rejected
    note: Mapped[str] = mapped_column(sa.Text, default="")
    by_id: Mapped[int] = big_fk("users.id")
    decided_date: Mapped[date]
    dt: Mapped[datetime]

    proposal: Mapped[RevocationProposal] = relationship(back_populates="decision")


class Objection(IdMixin, Base):
    """An objection (异议) to a confirmed record or to a list procedure, filed by the household or registered at the
    counter by staff (`at_counter`, with the date it was received as `filed_date`).

    `handler_id` is assigned once and locked; `due_date` is filed + 10 working days (SPEC §9); `repeat` marks a
    later objection on an item after a rejection (it stops no clock and suspends nothing)."""

    __tablename__ = "objections"
    __table_args__ = (sa.Index("ix_objections_household_id", "household_id"),
                      sa.Index("ix_objections_region_due", "region_code", "due_date"),
                      sa.CheckConstraint("(record_id IS NULL) <> (procedure_id IS NULL)",
                                         name="objection_one_item"))

    household_id: Mapped[int] = big_fk("households.id")
    region_code: Mapped[str] = mapped_column(sa.String(6))
    record_id: Mapped[int | None] = big_fk("records.id")
    procedure_id: Mapped[int | None] = big_fk("procedures.id")
    filed_date: Mapped[date]
    due_date: Mapped[date]
    reason: Mapped[str] = mapped_column(sa.Text)
    at_counter: Mapped[bool] = mapped_column(default=False)
    repeat: Mapped[bool] = mapped_column(default=False)
    filed_by_id: Mapped[int] = big_fk("users.id")
    filed_dt: Mapped[datetime]
    handler_id: Mapped[int | None] = big_fk("users.id")

    materials: Mapped[list["ObjectionMaterial"]] = relationship(order_by="ObjectionMaterial.id")
    proposals: Mapped[list["ObjectionProposal"]] = relationship(order_by="ObjectionProposal.id")
    handler = relationship("User", foreign_keys=[handler_id])


class ObjectionMaterial(IdMixin, Base):
    """A file supporting an objection, checked and stored like record evidence (by its SHA-256)."""

    __tablename__ = "objection_materials"
    __table_args__ = (sa.Index("ix_objection_materials_objection_id", "objection_id"),)

    objection_id: Mapped[int] = big_fk("objections.id")
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(80))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_by_id: Mapped[int] = big_fk("users.id")
    uploaded_dt: Mapped[datetime]


class ObjectionProposal(IdMixin, Base):
    """The handler's proposal: upheld or rejected, with reasons."""

    __tablename__ = "objection_proposals"
    __table_args__ = (sa.Index("ix_objection_proposals_objection_id", "objection_id"),)

    objection_id: Mapped[int] = big_fk("objections.id")
    outcome: Mapped[str] = mapped_column(sa.String(10))  # upheld | rejected
    reasons: Mapped[str] = mapped_column(sa.Text)
    by_id: Mapped[int] = big_fk("users.id")
    proposed_date: Mapped[date]
    dt: Mapped[datetime]

    review: Mapped["ObjectionReview | None"] = relationship(uselist=False)


class ObjectionReview(IdMixin, Base):
    """A reviewer's answer to a proposal: confirmed (the objection is decided on `decided_date`) or sent back."""

    __tablename__ = "objection_reviews"

    proposal_id: Mapped[int] = big_fk("objection_proposals.id", unique=True)
    confirmed: Mapped[bool]
    note: Mapped[str] = mapped_column(sa.Text, default="")
    by_id: Mapped[int] = big_fk("users.id")
    decided_date: Mapped[date]
    dt: Mapped[datetime]


class Restoration(IdMixin, Base):
    """A restoration of credit (恢复信誉) after an upheld objection against an item measures had been applied on."""

    __tablename__ = "restorations"
    __table_args__ = (sa.Index("ix_restorations_household_id", "household_id"),)

    objection_id: Mapped[int] = big_fk("objections.id", unique=True)
    household_id: Mapped[int] = big_fk("households.id")
    restored_date: Mapped[date]
    dt: Mapped[datetime]
