"""Caches can be rebuilt and checked (DESIGN rule 2: "a rebuild from facts alone must give the same result"):
`flask credit verify` reports every drift of a cache from its facts without writing; `flask credit rebuild`
restores every cache."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from housingcredit.audit.models import AuditEntry
from housingcredit.extensions import db
from housingcredit.lists.models import Procedure, ProcedureStep, WatchEntry
from housingcredit.notices.models import Notice
from housingcredit.platform.models import OutboxEvent
from housingcredit.scoring.models import CreditState
from housingcredit.stats.models import JobRun
from tests import factories
from tests.lists.helpers import Staff, confirm_on, run_jobs_on


@pytest.fixture
def history(app, clock):
    """h1: moderate HB06 on 2026-01-05 (watch entry), moderate HB10 on 2026-03-02 during the watch (transfer:
    procedure opened that day, publicised by the job of 2026-06-15); h2: one mild HB08 on 2026-06-01 (95, mild);
    h3: no record."""
    staff = Staff("420100")
    h1, h2, h3 = (factories.make_household("420102") for _ in range(3))
    confirm_on(clock, staff, h1, "HB06", date(2026, 1, 5))
    confirm_on(clock, staff, h1, "HB10", date(2026, 3, 2))
    confirm_on(clock, staff, h2, "HB08", date(2026, 6, 1))
    run_jobs_on(clock, date(2026, 6, 15))
    return h1.id, h2.id, h3.id


def _verify(runner):
    db.session.commit()
    result = runner.invoke(args=["credit", "verify"])
    return result.exit_code, result.output


def _procedure(household_id) -> Procedure:
    return db.session.scalar(sa.select(Procedure).where(Procedure.household_id == household_id))


def _entry(household_id) -> WatchEntry:
    return db.session.scalar(sa.select(WatchEntry).where(WatchEntry.household_id == household_id))


def _caches() -> tuple:
    db.session.expire_all()
    credit = sorted(db.session.execute(sa.select(CreditState.household_id, CreditState.score, CreditState.tier,
                                                 CreditState.next_change_date)).all())
    watch = sorted(db.session.execute(sa.select(WatchEntry.household_id, WatchEntry.start_date,
                                                WatchEntry.until_date, WatchEntry.end_date,
                                                WatchEntry.reason)).all())
    procs = sorted(db.session.execute(sa.select(Procedure.id, Procedure.state, Procedure.next_date,
                                                Procedure.window_end, Procedure.listed_date,
                                                Procedure.listed_through)).all())
    return credit, watch, procs


def _counts() -> dict:
    return {m.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(m))
            for m in (AuditEntry, Notice, OutboxEvent, WatchEntry, CreditState, Procedure, ProcedureStep, JobRun)}


def test_credit_verify_clean_database_reports_no_difference(history, runner):
    h1, _h2, _h3 = history
    p = _procedure(h1)
    assert (p.state, p.opened_date) == ("publicity", date(2026, 3, 2))
    code, output = _verify(runner)
    assert code == 0, output
    assert output.startswith("0 difference(s) in 0 household(s)")


def test_credit_verify_reports_drift_in_scores(history, runner):
    _h1, h2, h3 = history
    state = db.session.get(CreditState, h2)
    state.score, state.tier = 100, "good"
    code, output = _verify(runner)
    assert code == 1
    assert f"credit_states: household {h2}, credit state: score stored 100, expected 95" in output
    assert f"credit_states: household {h2}, credit state: tier stored good, expected mild" in output
    assert "2 difference(s) in 1 household(s)" in output
    # a household without records and without a cached row is no difference; a wrong row for it is one
    db.session.add(CreditState(household_id=h3, region_code="420102", score=80, tier="moderate", computed_date=date(2026, 6, 15),
                               next_change_date=None, computed_dt=factories_now()))
    code, output = _verify(runner)
    assert f"credit_states: household {h3}, credit state: score stored 80, expected 100" in output


def test_credit_verify_reports_drift_in_the_cached_region_and_rebuild_restores_it(history, runner):
    """The credit cache keeps the household's region beside its tier (the statistics count by it): a row whose
    region is not its household's is a difference, and a rebuild writes the household's region back."""
    h1, h2, _h3 = history
    assert {hid: db.session.get(CreditState, hid).region_code for hid in (h1, h2)} == {h1: "420102", h2: "420102"}
    db.session.execute(sa.update(CreditState).where(CreditState.household_id == h2).values(region_code="420502"))
    code, output = _verify(runner)
    assert code == 1
    assert f"credit_states: household {h2}, credit state: region_code stored 420502, expected 420102" in output
    assert "1 difference(s) in 1 household(s)" in output
    result = runner.invoke(args=["credit", "rebuild"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(CreditState, h2).region_code == "420102"
    assert _verify(runner)[0] == 0


def test_credit_verify_reports_drift_in_the_records_confirmed_state_and_rebuild_restores_it(history, runner):
    """A record's stored `confirmed_unrevoked` (the statistics count by it) must be what its determination and
    revocation say: a record marked otherwise is a difference, and a rebuild writes it back."""
    from housingcredit.records.models import Record
    h1, h2, _h3 = history
    record = db.session.scalar(sa.select(Record).where(Record.household_id == h2))
    assert record.confirmed_unrevoked is True
    record.confirmed_unrevoked = False
    code, output = _verify(runner)
    assert code == 1
    assert (f"records: household {h2}, record {record.id}: confirmed_unrevoked stored False, expected True"
            in output)
    result = runner.invoke(args=["credit", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "records: 1 confirmed state(s) corrected" in result.output
    db.session.expire_all()
    assert db.session.get(Record, record.id).confirmed_unrevoked is True
    assert _verify(runner)[0] == 0


def factories_now():
    from housingcredit.clock import get_clock
    return get_clock().now_utc()


def test_credit_verify_reports_drift_in_watch_entries(history, runner):
    h1, h2, _h3 = history
    entry = _entry(h1)
    assert (entry.start_date, entry.end_date, entry.reason) == (date(2026, 1, 5), date(2026, 3, 2), "transferred")
    entry.until_date, entry.reason = date(2026, 12, 31), None
    db.session.add(WatchEntry(household_id=h2, region_code="420102", start_date=date(2026, 6, 1),
                              until_date=date(2027, 6, 1), end_date=None, reason=None, grounds=[]))
    code, output = _verify(runner)
    assert code == 1
    assert (f"watch_entries: household {h1}, entry 2026-01-05: until_date stored 2026-12-31, expected 2027-01-05"
            in output)
    assert f"watch_entries: household {h1}, entry 2026-01-05: reason stored —, expected transferred" in output
    assert f"watch_entries: household {h2}, entry 2026-06-01: row stored present, expected —" in output
    # a deleted row is missing
    db.session.execute(sa.delete(WatchEntry).where(WatchEntry.household_id == h1))
    code, output = _verify(runner)
    assert code == 1
    assert f"watch_entries: household {h1}, entry 2026-01-05: row stored —, expected present" in output


def test_credit_verify_reports_drift_in_procedure_schedules(history, runner):
    h1, _h2, _h3 = history
    p = _procedure(h1)
    assert (p.next_date, p.window_end) == (date(2026, 6, 25), date(2026, 6, 24))  # 7 working days from 06-15
    p.state, p.next_date = "listed", date(2026, 7, 1)
    code, output = _verify(runner)
    assert code == 1
    assert f"procedures: household {h1}, procedure {p.id}: state stored listed, expected publicity" in output
    assert (f"procedures: household {h1}, procedure {p.id}: next_date stored 2026-07-01, expected 2026-06-25"
            in output)


def test_credit_verify_writes_nothing(history, runner):
    h1, h2, _h3 = history
    db.session.get(CreditState, h2).score = 100
    _entry(h1).until_date = date(2026, 12, 31)
    _procedure(h1).next_date = date(2026, 7, 1)
    db.session.commit()
    before_counts, before_caches = _counts(), _caches()
    code, output = _verify(runner)
    assert code == 1 and output.count("\n") == 4  # three differences and the summary
    assert _counts() == before_counts  # no audit entry, notice, outbox event, row
    assert _caches() == before_caches  # the drift is reported, not repaired
    assert _verify(runner)[0] == 1


def test_credit_rebuild_restores_every_cache(history, runner):
    h1, h2, _h3 = history
    clean = _caches()
    db.session.get(CreditState, h2).tier = "severe"
    db.session.execute(sa.delete(WatchEntry).where(WatchEntry.household_id == h1))
    p = _procedure(h1)
    p.state, p.next_date, p.window_end = "opened", date(2026, 3, 10), date(2026, 3, 9)
    db.session.commit()
    assert _verify(runner)[0] == 1
    result = runner.invoke(args=["credit", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "procedures: 1 schedule(s) rewritten from their steps" in result.output
    after = _caches()
    assert after[1] == clean[1] and after[2] == clean[2]
    rebuilt = {r[0]: tuple(r[1:]) for r in after[0]}
    assert {hid: tuple(r) for hid, *r in clean[0]} == {hid: rebuilt[hid] for hid, *_r in clean[0]}
    assert rebuilt[h2] == (95, "mild", date(2026, 12, 2))
    assert rebuilt[_h3] == (100, "good", None)  # the rebuild writes a row for the household without records
    code, output = _verify(runner)
    assert code == 0, output
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


def test_credit_verify_reports_no_difference_on_demo_data_after_a_day_of_jobs(app, clock, runner):
    result = runner.invoke(args=["demo", "load", "--households", "50"])
    assert result.exit_code == 0, result.output
    clock.set(date(2026, 6, 16))
    result = runner.invoke(args=["jobs", "once"])
    assert result.exit_code == 0, result.output
    code, output = _verify(runner)
    assert code == 0, output
    assert "0 difference(s)" in output


def test_credit_verify_reports_drift_in_the_records_pending_state(history, runner):
    """Issue 19: the stored pending state of a record is a cache of its facts, checked and rebuilt like the rest."""
    from housingcredit.records.models import Record
    _h1, h2, _h3 = history
    record = db.session.scalar(sa.select(Record).where(Record.household_id == h2))
    assert record.pending is False  # confirmed on 2026-06-01
    record.pending = True
    code, output = _verify(runner)
    assert code == 1
    assert f"records: household {h2}, record {record.id}: pending stored True, expected False" in output
    db.session.commit()
    result = runner.invoke(args=["credit", "rebuild"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(Record, record.id).pending is False
    assert _verify(runner)[0] == 0
