"""The daily jobs commit in batches and record their runs (consolidation issue, item "jobs"): a failure in one
household neither blocks nor rolls back the others and is reported; a missed day shows on the due page and in
`flask jobs status`."""
from __future__ import annotations

import logging
from datetime import date

import sqlalchemy as sa

from housingcredit import jobs
from housingcredit.extensions import db
from housingcredit.lists import watch
from housingcredit.stats.models import JobRun
from tests import factories
from tests.conftest import login

from .helpers import Staff, audit_actions, confirm_on, entries, run_jobs_on

ID_LIKE = "420102199001011234"


def test_daily_job_failure_in_one_household_does_not_roll_back_others(app, clock, runner, monkeypatch, caplog):
    staff = Staff("420100")
    bad, good = factories.make_household("420102"), factories.make_household("420102")
    confirm_on(clock, staff, bad, "HB06", date(2025, 6, 2))  # both watch periods end 2026-06-02
    confirm_on(clock, staff, good, "HB06", date(2025, 6, 2))
    real = watch.after_facts_changed

    def failing_for_bad(household_id, **kw):
        real(household_id, **kw)  # its writes happen, then must be rolled back alone
        if household_id == bad.id:
            raise ValueError(f"broken household {ID_LIKE}")

    monkeypatch.setattr(watch, "after_facts_changed", failing_for_bad)
    clock.set(date(2026, 6, 3))
    with caplog.at_level(logging.WARNING):
        result = runner.invoke(args=["jobs", "once", "watch_expiry"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("watch_expiry: {'households': 2, 'failed': 1}")
    db.session.rollback()
    assert entries(good.id)[0][2:] == (date(2026, 6, 3), "expired")  # committed despite the failure before it
    assert entries(bad.id)[0][2:] == (None, None)  # rolled back alone
    assert audit_actions(bad.id, "watch.") == ["watch.enter"]
    assert audit_actions(good.id, "watch.") == ["watch.enter", "watch.end"]
    run = db.session.scalar(sa.select(JobRun).where(JobRun.job == "watch_expiry"))
    assert (run.legal_date, run.ok, run.failed) == (date(2026, 6, 3), True, 1)
    assert run.errors == [{"household_id": bad.id, "error": "ValueError"}]
    assert run.counts == {"households": 2, "failed": 1}
    assert f"household {bad.id} failed (ValueError)" in caplog.text
    assert "1990010112" not in caplog.text and "1990010112" not in str(run.errors)
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0  # the chain survives the rolled-back household
    status = runner.invoke(args=["jobs", "status"])
    assert "WARNING: watch_expiry's last run left 1 household(s) failed" in status.output
    # the next day, with the household mended, it is done
    monkeypatch.setattr(watch, "after_facts_changed", real)
    run_jobs_on(clock, date(2026, 6, 4))
    assert entries(bad.id)[0][2:] == (date(2026, 6, 3), "expired")


def test_missed_day_warns_on_due_page_and_jobs_status(app, clock, runner, client, api_client):
    staff = Staff("420100")
    status = runner.invoke(args=["jobs", "status"])
    assert status.exit_code == 1
    assert "credit_expiry: never run" in status.output
    assert "WARNING: credit_expiry has never run successfully" in status.output
    run_jobs_on(clock, date(2026, 6, 10))
    clock.set(date(2026, 6, 11))  # yesterday's run is the newest one can expect: no warning
    status = runner.invoke(args=["jobs", "status"])
    assert status.exit_code == 0, status.output
    assert "credit_expiry: last run for 2026-06-10" in status.output and "WARNING" not in status.output
    clock.set(date(2026, 6, 15))  # the runs of 06-11 … 06-14 are missing
    status = runner.invoke(args=["jobs", "status"])
    assert status.exit_code == 1
    for name in jobs.JOBS:
        assert (f"WARNING: {name} missed a day: last successful run for 2026-06-10, today is 2026-06-15"
                in status.output)
    login(client, staff.caseworker)
    page = client.get("/due?lang=en").get_data(as_text=True)
    assert 'data-job="credit_expiry"' in page
    assert "The daily job credit_expiry missed a day: its last successful run was for 2026-06-10." in page
    zh = client.get("/due?lang=zh_Hans_CN").get_data(as_text=True)
    assert "每日任务 credit_expiry 漏运行了一天：最近一次成功运行是 2026-06-10 的。" in zh
    warned = api_client(staff.caseworker).get("/api/v1/due").get_json()["job_warnings"]
    assert warned[0] == {"job": "credit_expiry", "kind": "missed", "last_ok_date": "2026-06-10", "failed": 0}
    assert [w["job"] for w in warned] == list(jobs.JOBS)
    run_jobs_on(clock, date(2026, 6, 15))
    assert runner.invoke(args=["jobs", "status"]).exit_code == 0
    assert 'data-job=' not in client.get("/due?lang=en").get_data(as_text=True)
