"""The record of the scheduled jobs' runs and the warnings it gives: a missed day, households that failed.

A daily job has missed a day when its last successful run is for a legal date older than yesterday's (the jobs
run shortly after midnight, so until they do, yesterday's run is the newest one can expect).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from ..clock import get_clock
from ..extensions import db
from .models import JobRun


def start_run(job: str, legal_date: date) -> JobRun:
    """A run begins: recorded unfinished (ok false) so that a crash leaves its trace."""
    run = JobRun(job=job, legal_date=legal_date, started_dt=get_clock().now_utc(), ok=False, failed=0)
    db.session.add(run)
    db.session.flush()
    return run


def finish_run(run_id: int, *, ok: bool, counts: dict | None = None, failed: int = 0,
               errors: list | None = None) -> JobRun:
    run = db.session.get(JobRun, run_id)
    run.finished_dt, run.ok, run.failed = get_clock().now_utc(), ok, failed
    run.counts, run.errors = _plain(counts), errors or None
    db.session.flush()
    return run


def _plain(counts):
    """JSON-safe counts (dates as ISO strings)."""
    if counts is None:
        return None
    return {str(k): (v.isoformat() if isinstance(v, date) else v) for k, v in dict(counts).items()}


@dataclass
class JobStatus:
    job: str
    last: JobRun | None  # the newest run, successful or not
    last_ok: JobRun | None  # the newest successful run
    warning: str | None  # 'never' | 'missed' | 'failures' | None


def status(jobs: list[str], today: date | None = None) -> list[JobStatus]:
    """Each job's newest run and newest successful run, with the warning they give on `today`.

    One statement for all the jobs: for each, the id of its newest run and of its newest successful run (each by
    the index on job, ok, legal date), then those rows; the newest of each kind is picked among them."""
    today = today or get_clock().today()
    picks = []
    for job in jobs:
        picks.append(sa.select(JobRun.id).where(JobRun.job == job).order_by(JobRun.id.desc()).limit(1).subquery())
        picks.append(sa.select(JobRun.id).where(JobRun.job == job, JobRun.ok.is_(True))
                     .order_by(JobRun.legal_date.desc(), JobRun.id.desc()).limit(1).subquery())
    rows = db.session.scalars(sa.select(JobRun).where(JobRun.id.in_(
        sa.union_all(*(sa.select(p.c.id) for p in picks))))).all() if picks else []
    out = []
    for job in jobs:
        mine = [r for r in rows if r.job == job]
        last = max(mine, key=lambda r: r.id, default=None)
        last_ok = max((r for r in mine if r.ok), key=lambda r: (r.legal_date, r.id), default=None)
        if last_ok is None:
            warning = "never"
        elif last_ok.legal_date < today - timedelta(days=1):
            warning = "missed"
        elif last is not None and last.failed:
            warning = "failures"
        else:
            warning = None
        out.append(JobStatus(job, last, last_ok, warning))
    return out


def warnings(jobs: list[str], today: date | None = None) -> list[dict]:
    """The jobs that warn, for pages: name, kind, last successful legal date, failures of the newest run."""
    return [{"job": s.job, "kind": s.warning, "last_ok_date": s.last_ok.legal_date if s.last_ok else None,
             "failed": s.last.failed if s.last else 0}
            for s in status(jobs, today) if s.warning]
