"""The runs of the scheduled jobs (定时任务运行记录)."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, IdMixin


class JobRun(IdMixin, Base):
    """One run of a daily job for a legal date: when it started and finished (UTC), whether it ran to its end,
    what it did (`counts`) and which households failed (`errors`: internal ids and exception classes only)."""

    __tablename__ = "job_runs"
    __table_args__ = (sa.Index("ix_job_runs_job_ok_date", "job", "ok", "legal_date"),)

    job: Mapped[str] = mapped_column(sa.String(40))
    legal_date: Mapped[date]
    started_dt: Mapped[datetime]
    finished_dt: Mapped[datetime | None]
    ok: Mapped[bool] = mapped_column(default=False)
    failed: Mapped[int] = mapped_column(default=0)
    counts: Mapped[dict | None] = mapped_column(sa.JSON)
    errors: Mapped[list | None] = mapped_column(sa.JSON)
