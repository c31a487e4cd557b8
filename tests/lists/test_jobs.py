"""The scheduled jobs: run through the CLI, idempotent, and in exactly one process (DESIGN: production shape)."""
from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone

import pytest

from housingcredit import jobs
from tests.conftest import is_postgres
from tests import factories

from .helpers import Staff, confirm_on, entries


def test_jobs_once_runs_every_daily_job_and_reports(app, runner):
    result = runner.invoke(args=["jobs", "once"])
    assert result.exit_code == 0, result.output
    assert [line.split(":")[0] for line in result.output.strip().splitlines()] == list(jobs.JOBS)
    result = runner.invoke(args=["jobs", "once", "watch_expiry"])
    assert result.output.startswith("watch_expiry: {'households': 0}")
    assert "unknown job" in runner.invoke(args=["jobs", "once", "nope"]).output


def test_jobs_a_second_run_on_the_same_day_changes_nothing(app, clock):
    staff = Staff("420100")
    h = factories.make_household("420102")
    confirm_on(clock, staff, h, "HB06", date(2025, 6, 2))
    clock.set(date(2026, 6, 3))
    first = list(jobs.run_once("watch_expiry"))
    second = list(jobs.run_once("watch_expiry"))
    assert first[0].startswith("watch_expiry: {'households': 1}")
    assert second[0].startswith("watch_expiry: {'households': 0}")
    assert entries(h.id)[0][3] == "expired"


@pytest.mark.postgres
@pytest.mark.skipif(not is_postgres(), reason="the scheduler election uses a PostgreSQL advisory lock; with SQLite "
                                              "`flask jobs run` is documented to run in one process only")
def test_jobs_two_schedulers_against_postgresql_run_each_job_once(app, monkeypatch):
    from apscheduler.triggers.date import DateTrigger
    counts: Counter = Counter()
    guard = threading.Lock()

    def counting(name, job):
        def run(today):
            with guard:
                counts[name] += 1
            return job(today)
        return run

    monkeypatch.setattr(jobs, "JOBS", {n: counting(n, j) for n, j in jobs.JOBS.items()})
    run_at = datetime.now(timezone.utc) + timedelta(seconds=1)
    started: list = [None, None]
    barrier = threading.Barrier(2)

    def contender(i):
        barrier.wait()
        started[i] = jobs.start(app, trigger=DateTrigger(run_date=run_at))

    threads = [threading.Thread(target=contender, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    try:
        winners = [s for s in started if s is not None]
        assert len(winners) == 1  # the other process stands by
        deadline = time.monotonic() + 20
        while sum(counts.values()) < len(jobs.JOBS) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.5)  # room for a second run, which must not come
        assert counts == Counter({n: 1 for n in jobs.JOBS})
        assert jobs.try_lock(app) is None  # still held by the elected scheduler
    finally:
        for s in started:
            if s is not None:
                scheduler, lock = s
                scheduler.shutdown(wait=True)
                lock.close()
    again = jobs.try_lock(app)  # the lock is free once the leader's connection closes
    assert again is not None
    again.close()
