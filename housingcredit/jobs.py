"""The scheduled jobs (定时任务): each a call into a service, each idempotent, run in exactly one process.

`flask jobs run` calls `run_forever()`: on PostgreSQL it first takes a session-level advisory lock
(`pg_try_advisory_lock`) on a dedicated connection and only then starts the scheduler, so any number of app
instances may start it and exactly one runs the jobs; the others stand by and retry, taking over if the leader's
connection goes away. With SQLite there is no such lock: run `flask jobs run` in one process only (the web
workers never run jobs).

The daily jobs run at 00:10 Asia/Shanghai, in this order (the legal date is the clock's today):
credit_expiry (scores whose use periods ended), listing_expiry and procedure_steps (the procedure clock),
watch_expiry (entries past their period), overdue_orders (orders past their deadline → procedures), then
audit_checkpoint (a signed checkpoint of the audit chain's head, written outside the database). The checkpoint is
not among the JOBS that `flask jobs once` (and the demo's walk through past days) runs without a name:
`flask jobs once audit_checkpoint` or `flask audit checkpoint` writes one on demand.
Running them twice on one day changes nothing the second time. Every AUDIT_CHAIN_INTERVAL_SECONDS (60) the
scheduler also chains the audit read-logs written unchained since its last run (`run_audit_chain`).
`flask jobs once [name]` runs them now.

Each job commits its households in batches (`batches.Batches`): a household that fails is rolled back alone,
logged (its internal id and the exception's class, never an ID number), counted in the job's result as `failed`
and stored in `job_runs` with the run; the others are committed. Every run is recorded in `job_runs` (legal
date, started/finished UTC, ok, counts, errors); `flask jobs status` and the due page warn when a daily job's
last successful run is older than yesterday's legal date (a missed day).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar

import sqlalchemy as sa
from flask import Flask, current_app

from .accounts.gate import SYSTEM  # the jobs act as the named system actor (DESIGN rule 5)

log = logging.getLogger(__name__)

SCHEDULER_LOCK = 0x4843_4A42  # the advisory-lock key electing the scheduler process ("HCJB")
TIMEZONE = "Asia/Shanghai"
DAILY_AT = {"hour": 0, "minute": 10}
STANDBY_RETRY_SECONDS = 30
BATCH_SIZE = 200  # households committed together by a daily job

_current_batches: ContextVar = ContextVar("housingcredit_job_batches", default=None)


def each():
    """The unit runner of the job running now (batches committed together, failures rolled back alone);
    outside a job, every unit in the caller's transaction."""
    from .batches import in_turn
    return _current_batches.get() or in_turn


def _credit_expiry(today):
    from .scoring import service as scoring
    return scoring.nightly_expire(today, each=each(), who=SYSTEM)


def _listing_expiry(today):
    from .lists import service
    return service.expire_listings(today, each=each(), who=SYSTEM)


def _procedure_steps(today):
    from .lists import service
    return service.advance_due_procedures(today, each=each(), who=SYSTEM)


def _watch_expiry(today):
    from .lists import service
    return service.expire_watch(today, each=each(), who=SYSTEM)


def _overdue_orders(today):
    from .lists import service
    return service.open_overdue_orders(today, each=each(), who=SYSTEM)


# name → service call taking today's legal date, run in this order.
JOBS: dict[str, Callable] = {
    "credit_expiry": _credit_expiry,
    "listing_expiry": _listing_expiry,
    "procedure_steps": _procedure_steps,
    "watch_expiry": _watch_expiry,
    "overdue_orders": _overdue_orders,
}


def _audit_checkpoint(today):
    from .audit import service
    cp = service.checkpoint()
    return {"entries": cp["count"], "last_id": cp["last_id"]}


# Run by the scheduler after JOBS, every day; by name only through `flask jobs once`.
DAILY_AFTER: dict[str, Callable] = {
    "audit_checkpoint": _audit_checkpoint,
}


def run_job(name: str) -> dict:
    """Run one job, its households committed in batches, and record the run in `job_runs`.

    A household that fails is rolled back alone and counted (`failed` in the result); a failure of the job as a
    whole rolls back its last batch, is recorded as a failed run and re-raised.
    """
    from .batches import Batches
    from .clock import get_clock
    from .extensions import db
    from .stats import service as runs
    job = JOBS.get(name) or DAILY_AFTER[name]
    today = get_clock().today()
    run_id = runs.start_run(name, today).id
    db.session.commit()
    batches = Batches(name, BATCH_SIZE)
    token = _current_batches.set(batches)
    try:
        result = job(today)
        result = dict(result) if isinstance(result, dict) else {"result": result}
        if batches.failed:
            result["failed"] = batches.failed
        runs.finish_run(run_id, ok=True, counts=result, failed=batches.failed, errors=batches.errors)
        db.session.commit()
    except Exception as err:
        db.session.rollback()
        log.error("job %s failed (%s)", name, type(err).__name__)
        runs.finish_run(run_id, ok=False, counts={"error": type(err).__name__}, failed=batches.failed,
                        errors=batches.errors)
        db.session.commit()
        raise
    finally:
        _current_batches.reset(token)
    return result


def job_status(today=None) -> list:
    """Each daily job's newest run and newest successful run, with its warning (`flask jobs status`)."""
    from .stats import service as runs
    return runs.status(list(JOBS), today)


def job_warnings(today=None) -> list[dict]:
    """The daily jobs that missed a day, never ran, or left households failed — for the due page."""
    from .stats import service as runs
    return runs.warnings(list(JOBS), today)


def run_once(name: str | None = None) -> Iterator[str]:
    """Run the daily jobs (or the one named) now, yielding one line per job (`flask jobs once`)."""
    names = list(JOBS) if name is None else [name]
    for n in names:
        if n not in JOBS and n not in DAILY_AFTER:
            yield f"unknown job {n!r}; jobs: {', '.join([*JOBS, *DAILY_AFTER])}"
            return
        started = time.perf_counter()
        result = run_job(n)
        yield f"{n}: {result} ({time.perf_counter() - started:.2f} s)"


def run_daily(app: Flask) -> None:
    """The scheduled entry: every job in order, inside an app context; one failing job does not stop the rest."""
    with app.app_context():
        for n in [*JOBS, *DAILY_AFTER]:
            try:
                for line in run_once(n):
                    log.info(line)
            except Exception:  # logged and retried by tomorrow's run; every job is idempotent
                log.exception("job %s failed", n)


def run_platform_push(app: Flask) -> None:
    """The scheduler's interval job: drain the outbox to the platform (platform/sender.py); failures wait for
    their back-off and the next run."""
    with app.app_context():
        from .platform import sender
        try:
            result = sender.push()
            if any(result.values()):
                log.info("platform push: %s", result)
        except Exception:
            from .extensions import db
            db.session.rollback()
            log.exception("platform push failed")


def run_audit_chain(app: Flask) -> None:
    """The scheduler's interval job: chain the read-logs written unchained since the last run (audit/service.py
    `chain_pending`), a batch at a time under the chain's lock."""
    with app.app_context():
        from .audit import service
        from .extensions import db
        try:
            service.chain_all()
        except Exception:
            db.session.rollback()
            log.exception("audit chaining failed")


# ---- electing the one scheduler process ----------------------------------------------------------------------

def try_lock(app: Flask):
    """A dedicated connection holding the scheduler lock, or None when another process holds it.

    SQLite has no cross-process lock: every caller "wins" — run the scheduler in one process only.
    """
    from .extensions import db
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "postgresql":
        return _NoLock()
    conn = engine.connect()
    conn.detach()  # out of the pool: closing it ends the session and so releases the lock
    got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": SCHEDULER_LOCK}).scalar()
    conn.commit()  # the lock is session-level: it outlives this transaction and stays until the connection closes
    if got:
        return conn
    conn.close()
    return None


class _NoLock:
    def close(self):
        pass


def start(app: Flask, *, blocking: bool = False, trigger=None, lock=None):
    """Start the scheduler if this process holds (or can take) the lock; returns (scheduler, lock) or None.

    `trigger` replaces the daily cron trigger (tests run the jobs at once).
    """
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger
    lock = lock or try_lock(app)
    if lock is None:
        return None
    scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone=TIMEZONE)
    scheduler.add_job(run_daily, trigger or CronTrigger(timezone=TIMEZONE, **DAILY_AT), args=[app],
                      id="daily", max_instances=1, coalesce=True, misfire_grace_time=6 * 3600)
    scheduler.add_job(run_audit_chain, "interval", seconds=int(app.config.get("AUDIT_CHAIN_INTERVAL_SECONDS") or 60),
                      args=[app], id="audit_chain", max_instances=1, coalesce=True)
    if app.config.get("PLATFORM_URL"):  # the push to the provincial platform, every interval (SPEC §10)
        scheduler.add_job(run_platform_push, "interval", seconds=int(app.config["PLATFORM_INTERVAL_SECONDS"]),
                          args=[app], id="platform_push", max_instances=1, coalesce=True)
    if blocking:
        log.info("scheduler elected; daily jobs at %02d:%02d %s", DAILY_AT["hour"], DAILY_AT["minute"], TIMEZONE)
        try:
            scheduler.start()
        finally:
            lock.close()
        return scheduler, lock
    scheduler.start()
    return scheduler, lock


def run_forever() -> None:
    """`flask jobs run`: wait until this process is elected, then run the scheduler until stopped."""
    app = current_app._get_current_object()
    while True:
        lock = try_lock(app)
        if lock is not None:
            start(app, blocking=True, lock=lock)
            return
        log.info("another process runs the scheduler; standing by")
        time.sleep(STANDBY_RETRY_SECONDS)
