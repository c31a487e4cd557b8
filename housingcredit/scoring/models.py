"""The cached current credit state of each household — derived, rebuilt from facts by `flask credit rebuild`."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, one_of
from ..rules.loader import HOUSEHOLD_TIERS


class CreditState(Base):
    """Cache of the engine's answer for today; written in the same transaction as the fact that changed it."""

    __tablename__ = "credit_states"
    __table_args__ = (sa.Index("ix_credit_states_tier", "tier"), one_of("tier", HOUSEHOLD_TIERS))

    household_id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), sa.ForeignKey("households.id"), primary_key=True)
    score: Mapped[int]
    tier: Mapped[str] = mapped_column(sa.String(10))
    computed_date: Mapped[date]
    next_change_date: Mapped[date | None] = mapped_column(index=True)
    computed_dt: Mapped[datetime]
