"""Household credit archives (信用档案, HB 三): basic information, members and protection situation."""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, IdMixin, big_fk


class ProtectionCategory(str, enum.Enum):
    """保障类别: 公租房实物配租 / 租赁补贴."""

    physical = "physical"
    subsidy = "subsidy"


class Relation(str, enum.Enum):
    head = "head"
    spouse = "spouse"
    child = "child"
    parent = "parent"
    other = "other"


class Household(IdMixin, Base):
    """A public-rental household (保障家庭), the credit subject."""

    __tablename__ = "households"
    __table_args__ = (sa.Index("ix_households_region_code", "region_code"),)

    archive_no: Mapped[str] = mapped_column(sa.String(32), unique=True)
    region_code: Mapped[str] = mapped_column(sa.String(6))
    address: Mapped[str] = mapped_column(sa.String(200))
    hukou: Mapped[str] = mapped_column(sa.String(100), default="")
    marital_status: Mapped[str] = mapped_column(sa.String(20), default="")
    housing_status: Mapped[str] = mapped_column(sa.String(200), default="")
    income_yuan: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 2))
    assets_yuan: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    protection_category: Mapped[ProtectionCategory] = mapped_column(
        sa.Enum(ProtectionCategory, name="protection_category", native_enum=False, length=16,
                create_constraint=True))
    protection_mode: Mapped[str] = mapped_column(sa.String(40), default="")
    protection_group: Mapped[str] = mapped_column(sa.String(40), default="")
    priority_flags: Mapped[list] = mapped_column(sa.JSON, default=list)
    created_dt: Mapped[datetime]
    updated_dt: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)

    members: Mapped[list["Member"]] = relationship(
        back_populates="household", order_by="Member.id", cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}

    @property
    def head(self) -> "Member | None":
        return next((m for m in self.members if m.relation == Relation.head), None)


class Member(IdMixin, Base):
    """A household member; the resident ID number is stored here once and nowhere else."""

    __tablename__ = "members"
    __table_args__ = (
        sa.Index("ix_members_name", "name", postgresql_ops={"name": "text_pattern_ops"}),
        sa.Index("ix_members_household_id", "household_id"),
    )

    household_id: Mapped[int] = big_fk("households.id")
    name: Mapped[str] = mapped_column(sa.String(40))
    id_number: Mapped[str] = mapped_column(sa.String(18), unique=True)
    relation: Mapped[Relation] = mapped_column(sa.Enum(Relation, name="relation", native_enum=False, length=10,
                                                               create_constraint=True))

    household: Mapped[Household] = relationship(back_populates="members")
