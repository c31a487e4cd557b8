"""Watch list (重点关注名单), rectification orders (责令限期改正), joint-punishment procedures
(失信联合惩戒) and the credit-check log (信用查询)."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, IdMixin, big_fk, one_of
from ..rules.loader import BUSINESSES, HOUSEHOLD_TIERS
from .schemas import END_REASONS, ROUTES, STEPS, WATCH_REASONS


class WatchEntry(IdMixin, Base):
    """A watch-list entry: derived from records by the list engine and cached here."""

    __tablename__ = "watch_entries"
    __table_args__ = (sa.UniqueConstraint("household_id", "start_date", name="uq_watch_entries_household_start"),
                      sa.Index("ix_watch_entries_until", "until_date"),
                      sa.Index("ix_watch_entries_list_order", "start_date", "id"),  # the watch list's order
                      # the ended entries in the list's order, each way of having ended by its own index
                      sa.Index("ix_watch_entries_ended_order", "start_date", "id",
                               postgresql_where=sa.text("end_date IS NOT NULL"),
                               sqlite_where=sa.text("end_date IS NOT NULL")),
                      sa.Index("ix_watch_entries_term_run", "until_date", postgresql_where=sa.text("end_date IS NULL"),
                               sqlite_where=sa.text("end_date IS NULL")),
                      sa.Index("ix_watch_entries_reason_order", "reason", "start_date", "id"),  # filtered by reason
                      one_of("reason", WATCH_REASONS))

    household_id: Mapped[int] = big_fk("households.id", index=True)
    region_code: Mapped[str] = mapped_column(sa.String(6), index=True)
    start_date: Mapped[date]
    until_date: Mapped[date]
    end_date: Mapped[date | None]
    reason: Mapped[str | None] = mapped_column(sa.String(16))
    grounds: Mapped[list] = mapped_column(sa.JSON)


class RectificationOrder(IdMixin, Base):
    """An order to correct by a deadline (责令限期改正/退回/补缴, HB 六 (一)–(四))."""

    __tablename__ = "rectification_orders"
    __table_args__ = (sa.Index("ix_rectification_orders_deadline", "deadline"),)

    household_id: Mapped[int] = big_fk("households.id", index=True)
    region_code: Mapped[str] = mapped_column(sa.String(6))
    ground: Mapped[str] = mapped_column(sa.String(16))
    record_id: Mapped[int | None] = big_fk("records.id")
    issued_date: Mapped[date]
    deadline: Mapped[date]
    requirement: Mapped[str] = mapped_column(sa.Text)
    issued_by_id: Mapped[int] = big_fk("users.id")
    issued_dt: Mapped[datetime]

    compliance: Mapped["OrderCompliance | None"] = relationship(uselist=False)


class OrderCompliance(IdMixin, Base):
    __tablename__ = "order_compliances"

    order_id: Mapped[int] = big_fk("rectification_orders.id", unique=True)
    complied_date: Mapped[date]
    note: Mapped[str] = mapped_column(sa.Text, default="")
    by_id: Mapped[int] = big_fk("users.id")
    dt: Mapped[datetime]


PUBLIC_STATES = "state IN ('publicity', 'listed')"


class Procedure(IdMixin, Base):
    """A joint-punishment procedure (失信联合惩戒程序): opened (with the risk notice 催告) → publicity (公示) →
    listed (列入名单) → ended.

    The steps are the facts (procedure_steps); `state` and the dates after it are a cache of them, kept in the
    same transaction, so the daily job and the due page find what is due by index instead of reading every step.
    """

    __tablename__ = "procedures"
    __table_args__ = (sa.Index("ix_procedures_state_next", "state", "next_date"),
                      sa.Index("ix_procedures_window_end", "window_end"),
                      # the public list's order: only the procedures in publicity or listed (public/service.py)
                      sa.Index("ix_procedures_public", "id", postgresql_where=sa.text(PUBLIC_STATES),
                               sqlite_where=sa.text(PUBLIC_STATES)),
                      one_of("state", STEPS), one_of("route", ROUTES))

    household_id: Mapped[int] = big_fk("households.id", index=True)
    region_code: Mapped[str] = mapped_column(sa.String(6), index=True)
    route: Mapped[str] = mapped_column(sa.String(24))
    opened_date: Mapped[date]
    record_id: Mapped[int | None] = big_fk("records.id")
    order_id: Mapped[int | None] = big_fk("rectification_orders.id", unique=True)
    evidence_id: Mapped[int | None] = big_fk("evidence.id")
    basis: Mapped[str] = mapped_column(sa.Text, default="")
    opened_by_id: Mapped[int | None] = big_fk("users.id")
    opened_dt: Mapped[datetime]
    state: Mapped[str] = mapped_column(sa.String(12))  # the last step taken
    next_date: Mapped[date | None]  # earliest date of the next time-driven step (None once ended)
    window_end: Mapped[date | None]  # last day of the current window: response, publicity, or listing term
    listed_date: Mapped[date | None]
    listed_through: Mapped[date | None]

    steps: Mapped[list["ProcedureStep"]] = relationship(order_by="ProcedureStep.id")
    attached: Mapped[list["ProcedureGround"]] = relationship(order_by="ProcedureGround.id")


class ProcedureStep(IdMixin, Base):
    """One dated step of a procedure; each step happens at most once."""

    __tablename__ = "procedure_steps"
    __table_args__ = (sa.UniqueConstraint("procedure_id", "step", name="uq_procedure_steps_procedure_step"),
                      one_of("step", STEPS), one_of("reason", END_REASONS))

    procedure_id: Mapped[int] = big_fk("procedures.id")
    step: Mapped[str] = mapped_column(sa.String(16))
    step_date: Mapped[date]
    reason: Mapped[str | None] = mapped_column(sa.String(24))
    by_id: Mapped[int | None] = big_fk("users.id")
    dt: Mapped[datetime]


class ProcedureGround(IdMixin, Base):
    """A ground attached to an open procedure (SPEC §7 "one at a time"): a route that would have opened a second
    procedure while this one was open — an overdue order, a court judgment, a penalty. A fact: it changes no date;
    the procedure ends on the day its last standing ground falls."""

    __tablename__ = "procedure_grounds"

    procedure_id: Mapped[int] = big_fk("procedures.id", index=True)
    route: Mapped[str] = mapped_column(sa.String(24))
    attached_date: Mapped[date]
    record_id: Mapped[int | None] = big_fk("records.id")
    order_id: Mapped[int | None] = big_fk("rectification_orders.id", unique=True)
    evidence_id: Mapped[int | None] = big_fk("evidence.id")
    basis: Mapped[str] = mapped_column(sa.Text, default="")
    by_id: Mapped[int | None] = big_fk("users.id")
    dt: Mapped[datetime]


class CreditCheck(IdMixin, Base):
    """A logged credit check (信用查询) made before a housing-security business, found or not: business, purpose,
    conclusion, the caller's region and the household's; no raw ID number kept."""

    __tablename__ = "credit_checks"
    __table_args__ = (one_of("business", BUSINESSES), one_of("tier", HOUSEHOLD_TIERS))

    dt: Mapped[datetime]
    user_id: Mapped[int] = big_fk("users.id", index=True)
    household_id: Mapped[int | None] = big_fk("households.id", index=True)
    id_number_masked: Mapped[str] = mapped_column(sa.String(18))
    business: Mapped[str] = mapped_column(sa.String(24))
    purpose: Mapped[str] = mapped_column(sa.String(200), default="")
    tier: Mapped[str | None] = mapped_column(sa.String(10))
    found: Mapped[bool] = mapped_column(default=False)
    conclusion: Mapped[str | None] = mapped_column(sa.String(16))  # may_proceed | restricted
    caller_region_code: Mapped[str | None] = mapped_column(sa.String(6))
    household_region_code: Mapped[str | None] = mapped_column(sa.String(6))
