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
    """The handler's proposal: upheld or rejected, with reasons. An upheld proposal on a record either revokes it
    (no `correction_id`) or corrects its facts: `correction_id` names the correction proposal (reason
    `objection_upheld`) carrying the corrected facts and the earlier version, decided by this proposal's review."""

    __tablename__ = "objection_proposals"
    __table_args__ = (sa.Index("ix_objection_proposals_objection_id", "objection_id"),)

    objection_id: Mapped[int] = big_fk("objections.id")
    outcome: Mapped[str] = mapped_column(sa.String(10))  # upheld | rejected
    reasons: Mapped[str] = mapped_column(sa.Text)
    by_id: Mapped[int] = big_fk("users.id")
    proposed_date: Mapped[date]
    dt: Mapped[datetime]
    correction_id: Mapped[int | None] = big_fk("correction_proposals.id", unique=True)

    review: Mapped["ObjectionReview | None"] = relationship(uselist=False)
    correction: Mapped["CorrectionProposal | None"] = relationship(foreign_keys=[correction_id])


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
    """A restoration of credit (恢复信誉, SPEC §9) where measures had been applied on an item that fell: after an
    upheld objection (`objection_id`) or a confirmed revocation decision (`revocation_id`) — exactly one."""

    __tablename__ = "restorations"
    __table_args__ = (sa.Index("ix_restorations_household_id", "household_id"),
                      sa.CheckConstraint("(objection_id IS NULL) <> (revocation_id IS NULL)",
                                         name="restoration_one_ground"))

    objection_id: Mapped[int | None] = big_fk("objections.id", unique=True)
    revocation_id: Mapped[int | None] = big_fk("revocations.id", unique=True)
    household_id: Mapped[int] = big_fk("households.id")
    restored_date: Mapped[date]
    dt: Mapped[datetime]


class RepairApplication(IdMixin, Base):
    """An application for credit repair (信用修复, HB 七; LN 第十–十三条) of one confirmed record, by the household or
    registered at the counter by staff (`at_counter`, `filed_date` the day it was received).

    `handler_id` is assigned once and locked. Everything that happens afterwards — the notice of incompleteness,
    the materials completed, the acceptance, the extension, the proposal and its review — is its own row; the
    received date R, the acceptance date A and the deadlines are read from them (`appeals/service.py`)."""

    __tablename__ = "repair_applications"
    __table_args__ = (sa.Index("ix_repair_applications_household_id", "household_id"),
                      sa.Index("ix_repair_applications_region", "region_code"),
                      sa.Index("ix_repair_applications_record_id", "record_id"))

    household_id: Mapped[int] = big_fk("households.id")
    region_code: Mapped[str] = mapped_column(sa.String(6))
    record_id: Mapped[int] = big_fk("records.id")
    filed_date: Mapped[date]
    declaration: Mapped[str] = mapped_column(sa.Text)  # behaviour corrected, obligations fulfilled (LN 第十一条)
    commitment_signed: Mapped[bool] = mapped_column(default=False)  # 信用承诺书
    non_intentional: Mapped[str] = mapped_column(sa.Text, default="")  # the household's explanation (HB 七)
    at_counter: Mapped[bool] = mapped_column(default=False)
    filed_by_id: Mapped[int] = big_fk("users.id")
    filed_dt: Mapped[datetime]
    handler_id: Mapped[int | None] = big_fk("users.id")

    materials: Mapped[list["RepairMaterial"]] = relationship(order_by="RepairMaterial.id")
    steps: Mapped[list["RepairStep"]] = relationship(order_by="RepairStep.id")
    proposals: Mapped[list["RepairProposal"]] = relationship(order_by="RepairProposal.id")
    handler = relationship("User", foreign_keys=[handler_id])


class RepairMaterial(IdMixin, Base):
    """A file of a repair application (`kind`: materials | commitment), checked and stored like evidence."""

    __tablename__ = "repair_materials"
    __table_args__ = (sa.Index("ix_repair_materials_application_id", "application_id"),)

    application_id: Mapped[int] = big_fk("repair_applications.id")
    kind: Mapped[str] = mapped_column(sa.String(16))
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(80))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_by_id: Mapped[int] = big_fk("users.id")
    uploaded_dt: Mapped[datetime]


class RepairStep(IdMixin, Base):
    """A step of the handler or the household: incomplete (the one notice, `note` listing what is missing),
    completed (the materials made complete: R becomes `on`), accepted (A = `on`), extended (once)."""

    __tablename__ = "repair_steps"
    __table_args__ = (sa.Index("ix_repair_steps_application_id", "application_id"),
                      sa.UniqueConstraint("application_id", "kind", name="uq_repair_steps_once"))

    application_id: Mapped[int] = big_fk("repair_applications.id")
    kind: Mapped[str] = mapped_column(sa.String(16))
    on: Mapped[date]
    note: Mapped[str] = mapped_column(sa.Text, default="")
    by_id: Mapped[int] = big_fk("users.id")
    dt: Mapped[datetime]


class RepairProposal(IdMixin, Base):
    """The handler's proposal: granted or refused with reasons; `non_intentional` when the handler judges the
    behaviour not intentional (HB 七) and so repairable before the minimum period, the reason in `reasons`."""

    __tablename__ = "repair_proposals"
    __table_args__ = (sa.Index("ix_repair_proposals_application_id", "application_id"),)

    application_id: Mapped[int] = big_fk("repair_applications.id")
    outcome: Mapped[str] = mapped_column(sa.String(10))  # granted | refused
    reasons: Mapped[str] = mapped_column(sa.Text, default="")
    non_intentional: Mapped[bool] = mapped_column(default=False)
    by_id: Mapped[int] = big_fk("users.id")
    proposed_date: Mapped[date]
    dt: Mapped[datetime]

    review: Mapped["RepairReview | None"] = relationship(uselist=False)


class RepairReview(IdMixin, Base):
    """A reviewer's answer to a repair proposal: confirmed (decided on `decided_date`) or sent back."""

    __tablename__ = "repair_reviews"

    proposal_id: Mapped[int] = big_fk("repair_proposals.id", unique=True)
    confirmed: Mapped[bool]
    note: Mapped[str] = mapped_column(sa.Text, default="")
    by_id: Mapped[int] = big_fk("users.id")
    decided_date: Mapped[date]
    dt: Mapped[datetime]


class CorrectionProposal(IdMixin, Base):
    """A caseworker's proposal to correct a confirmed record's facts and evidence (更正, SPEC §4), with a reason
    from the fixed list; the earlier facts are kept here (`before_*`) so the earlier version stays viewable."""

    __tablename__ = "correction_proposals"
    __table_args__ = (sa.Index("ix_correction_proposals_record_id", "record_id"),)

    record_id: Mapped[int] = big_fk("records.id")
    reason: Mapped[str] = mapped_column(sa.String(32))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    occurred_date: Mapped[date]
    facts: Mapped[str] = mapped_column(sa.Text)
    evidence: Mapped[str] = mapped_column(sa.Text, default="")  # sha256 list of the new evidence, space-separated
    before_occurred_date: Mapped[date]
    before_facts: Mapped[str] = mapped_column(sa.Text)
    before_evidence: Mapped[str] = mapped_column(sa.Text, default="")
    proposed_by_id: Mapped[int] = big_fk("users.id")
    proposed_date: Mapped[date]
    proposed_dt: Mapped[datetime]

    decision: Mapped["CorrectionDecision | None"] = relationship(uselist=False, back_populates="proposal")


class CorrectionDecision(IdMixin, Base):
    """A reviewer's decision on a correction proposal: confirmed (effective that day) or rejected."""

    __tablename__ = "correction_decisions"

    proposal_id: Mapped[int] = big_fk("correction_proposals.id", unique=True)
    decision: Mapped[str] = mapped_column(sa.String(10))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    by_id: Mapped[int] = big_fk("users.id")
    decided_date: Mapped[date]
    dt: Mapped[datetime]

    proposal: Mapped[CorrectionProposal] = relationship(back_populates="decision")
