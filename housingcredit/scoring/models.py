"""The cached current credit state of each household — derived, rebuilt from facts by `flask credit rebuild`."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, one_of
from ..rules.loader import HOUSEHOLD_TIERS


class CreditState(Base):
    """Cache of the engine's answer for today; written in the same transaction as the fact that changed it.

    `region_code` is the household's region, kept beside its tier (written with the tier, and on a move) so that
    counting households by tier and region reads this table's index alone (the statistics): index
    (tier, region_code), whose leading column also serves the tier filters."""

    __tablename__ = "credit_states"
    __table_args__ = (sa.Index("ix_credit_states_tier_region", "tier", "region_code"),
                      one_of("tier", HOUSEHOLD_TIERS))

    household_id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), sa.ForeignKey("households.id"), primary_key=True)
    region_code: Mapped[str] = mapped_column(sa.String(6))
    score: Mapped[int]
    tier: Mapped[str] = mapped_column(sa.String(10))
    computed_date: Mapped[date]
    next_change_date: Mapped[date | None] = mapped_column(index=True)
    computed_dt: Mapped[datetime]
