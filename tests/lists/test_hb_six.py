"""HB 六 (SPEC §6–§7) through the services, walking time forward with the injected clock."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from housingcredit import clock as calendar
from housingcredit.errors import Conflict, InvalidInput
from housingcredit.extensions import db
from housingcredit.lists import service
from housingcredit.lists.models import ProcedureStep, WatchEntry
from housingcredit.records import service as records
from tests import factories

from .helpers import (PDF, Staff, audit_actions, confirm_on, entries, notices, outbox_kinds, procedures,
                      run_jobs_on, trail)


@pytest.fixture
def staff(app):
    return Staff("420100")


@pytest.fixture
def household(app):
    return factories.make_household("420102")


def test_hb_six_mild_and_mild_within_twelve_months_enter_the_watch_list_with_a_warning(clock, staff, household):
    confirm_on(clock, staff, household, "HB03", date(2025, 9, 1))
    assert entries(household.id) == []
    confirm_on(clock, staff, household, "HB08", date(2026, 3, 2))
    assert entries(household.id) == [(date(2026, 3, 2), date(2027, 3, 2), None, None)]
    (warning,) = notices(household.id, "watch_warning")
    assert "2026-03-02" in warning.body and "2027-03-02" in warning.body  # the warning states both dates
    assert audit_actions(household.id, "watch.") == ["watch.enter"]
    assert outbox_kinds(household.id, "watch_list.") == ["watch_list.entered"]


def test_hb_six_mild_and_mild_thirteen_months_apart_do_not_enter(clock, staff, household):
    confirm_on(clock, staff, household, "HB03", date(2025, 1, 20))
    confirm_on(clock, staff, household, "HB08", date(2026, 2, 21))
    assert entries(household.id) == []
    assert notices(household.id, "watch_warning") == []


def test_hb_six_moderate_during_watch_opens_a_procedure_transfer(clock, staff, household):
    confirm_on(clock, staff, household, "HB06", date(2026, 1, 5))  # moderate: enters the watch list
    assert entries(household.id) == [(date(2026, 1, 5), date(2027, 1, 5), None, None)]
    grounding = confirm_on(clock, staff, household, "HB05", date(2026, 4, 13))  # moderate during the period
    assert entries(household.id) == [(date(2026, 1, 5), date(2027, 1, 5), date(2026, 4, 13), "transferred")]
    (p,) = procedures(household.id)
    assert (p.route, p.record_id, p.opened_date, p.state) == ("watch_transfer", grounding.id, date(2026, 4, 13),
                                                             "opened")
    (risk,) = notices(household.id, "risk_notice")
    # O = 2026-04-13 (Mon): response due O + 5 working days = 2026-04-20; publicity from 2026-04-21;
    # listing O + 13 working days = 2026-04-30
    assert "2026-04-20" in risk.body  # the rights to state a case and object, with the date
    assert "2026-04-21" in risk.body and "2026-04-30" in risk.body
    assert audit_actions(household.id, "procedure.") == ["procedure.open"]
    # recomputing from the same facts opens nothing new and queues nothing twice
    before = trail(household.id)
    service.after_facts_changed(household.id)
    db.session.commit()
    assert trail(household.id) == before


def test_hb_six_watch_expiry_by_the_daily_job(clock, staff, household):
    confirm_on(clock, staff, household, "HB01", date(2025, 6, 16))
    run_jobs_on(clock, date(2026, 6, 16))  # T + 12 months: still on the list
    assert entries(household.id) == [(date(2025, 6, 16), date(2026, 6, 16), None, None)]
    run_jobs_on(clock, date(2026, 6, 17))
    assert entries(household.id) == [(date(2025, 6, 16), date(2026, 6, 16), date(2026, 6, 17), "expired")]
    before = trail(household.id)
    run_jobs_on(clock, date(2026, 6, 17))  # the second run changes nothing
    assert trail(household.id) == before
    assert audit_actions(household.id, "watch.") == ["watch.enter", "watch.end"]


def test_hb_six_order_complied_before_deadline_opens_nothing(clock, staff, household):
    clock.set(date(2026, 6, 1))
    order = service.issue_order(household.id, "use_change", "2026-06-20", "恢复原状", None, staff.caseworker)
    db.session.commit()
    clock.set(date(2026, 6, 18))
    service.record_compliance(order.id, "2026-06-17", "已恢复", staff.caseworker)
    db.session.commit()
    run_jobs_on(clock, date(2026, 6, 21))
    run_jobs_on(clock, date(2026, 7, 30))
    assert procedures(household.id) == []
    assert len(notices(household.id, "rectification_order")) == 1


def test_hb_six_compliance_on_the_deadline_counts(clock, staff, household):
    clock.set(date(2026, 6, 1))
    order = service.issue_order(household.id, "fraud", "2026-06-20", "退回租赁补贴", None, staff.caseworker)
    db.session.commit()
    clock.set(date(2026, 6, 20))
    service.record_compliance(order.id, "2026-06-20", "", staff.caseworker)
    db.session.commit()
    run_jobs_on(clock, date(2026, 6, 21))
    assert procedures(household.id) == []


def test_hb_six_order_overdue_opens_a_procedure_the_day_after_the_deadline(clock, staff, household):
    clock.set(date(2026, 6, 1))
    order = service.issue_order(household.id, "illegal_transfer", "2026-06-19", "停止转租", None, staff.caseworker)
    db.session.commit()
    run_jobs_on(clock, date(2026, 6, 19))  # the deadline is the last day to comply
    assert procedures(household.id) == []
    run_jobs_on(clock, date(2026, 6, 20), times=2)
    (p,) = procedures(household.id)
    assert (p.route, p.order_id, p.opened_date) == ("overdue_order", order.id, date(2026, 6, 20))
    assert len(notices(household.id, "risk_notice")) == 1
    assert audit_actions(household.id, "procedure.") == ["procedure.open"]
    # compliance can no longer be recorded after the opening
    with pytest.raises(Conflict):
        service.record_compliance(order.id, "2026-06-19", "", staff.caseworker)
    db.session.rollback()


def test_hb_six_late_compliance_does_not_count(clock, staff, household):
    clock.set(date(2026, 6, 1))
    order = service.issue_order(household.id, "ineligible", "2026-06-10", "退出公租房", None, staff.caseworker)
    db.session.commit()
    clock.set(date(2026, 6, 12))
    with pytest.raises(Conflict) as err:
        service.record_compliance(order.id, "2026-06-11", "", staff.caseworker)
    assert "2026-06-10" in str(err.value.message)
    db.session.rollback()


def test_hb_six_order_grounds_come_from_the_rules_and_refuse_past_deadlines(clock, staff, household):
    with pytest.raises(InvalidInput) as err:
        service.issue_order(household.id, "speeding", "2026-05-01", "x", None, staff.caseworker)
    assert set(err.value.errors) == {"ground", "deadline"}
    db.session.rollback()
    assert {g.code for g in service.grounds()} == {"fraud", "use_change", "illegal_transfer", "ineligible"}


def _open_by_judgment(clock, staff, household, on: date):
    clock.set(on)
    p = service.open_procedure(household.id, "court_judgment", "（2026）鄂0102民初123号", ("judgment.pdf", PDF),
                               staff.caseworker)
    db.session.commit()
    return p.id


def test_hb_six_listing_only_after_both_windows(clock, staff, household):
    # O = 2026-03-02 (Mon): response due O + 5 wd = 03-09; publicity from O + 6 = 03-10 through O + 12 = 03-18;
    # listed from O + 13 = 03-19 through 2029-03-19
    opened = date(2026, 3, 2)
    pid = _open_by_judgment(clock, staff, household, opened)
    publicity_from, listing_from = date(2026, 3, 10), date(2026, 3, 19)
    # too early for publicity during the response window: 409 naming the earliest date
    clock.set(date(2026, 3, 9))
    with pytest.raises(Conflict) as err:
        service.advance(pid, "publicity", staff.caseworker)
    assert publicity_from.isoformat() in str(err.value.message)
    db.session.rollback()
    with pytest.raises(Conflict):  # out of order
        service.advance(pid, "listed", staff.caseworker)
    db.session.rollback()
    run_jobs_on(clock, date(2026, 3, 9))
    assert procedures(household.id)[0].state == "opened"
    run_jobs_on(clock, publicity_from)
    (p,) = procedures(household.id)
    assert (p.state, p.window_end, p.next_date) == ("publicity", date(2026, 3, 18), listing_from)
    clock.set(date(2026, 3, 18))
    with pytest.raises(Conflict) as err:
        service.advance(pid, "listed", staff.caseworker)
    assert listing_from.isoformat() in str(err.value.message)
    db.session.rollback()
    run_jobs_on(clock, listing_from)
    (p,) = procedures(household.id)
    assert (p.state, p.listed_date, p.listed_through) == ("listed", date(2026, 3, 19), date(2029, 3, 19))
    steps = db.session.scalars(sa.select(ProcedureStep.step, ).where(ProcedureStep.procedure_id == pid)
                               .order_by(ProcedureStep.id)).all()
    assert steps == ["opened", "publicity", "listed"]


def test_hb_six_a_caseworker_may_act_later_than_the_earliest_date(clock, staff, household):
    opened = date(2026, 3, 2)
    pid = _open_by_judgment(clock, staff, household, opened)
    clock.set(date(2026, 3, 12))  # O + 8 working days, two days after the earliest
    service.advance(pid, "publicity", staff.caseworker)
    db.session.commit()
    (p,) = procedures(household.id)
    # publicity runs its full 7 working days from the day it actually began (2026-03-12, its day 1) through
    # 2026-03-20; listing from the working day after, Monday 2026-03-23
    assert (p.window_end, p.next_date) == (date(2026, 3, 20), date(2026, 3, 23))


def test_hb_six_listing_ends_on_term_expiry(clock, staff, household):
    opened = date(2026, 3, 2)
    pid = _open_by_judgment(clock, staff, household, opened)
    run_jobs_on(clock, date(2026, 3, 10))
    run_jobs_on(clock, date(2026, 3, 19))
    assert procedures(household.id)[0].listed_through == date(2029, 3, 19)
    run_jobs_on(clock, date(2029, 3, 19))  # the last day of the 3-year term
    assert procedures(household.id)[0].state == "listed"
    run_jobs_on(clock, date(2029, 3, 22), times=2)  # late or twice: the end is the day after the term
    (p,) = procedures(household.id)
    assert p.state == "ended"
    end = db.session.scalar(sa.select(ProcedureStep).where(ProcedureStep.procedure_id == pid,
                                                           ProcedureStep.step == "ended"))
    assert (end.step_date, end.reason) == (date(2029, 3, 20), "expired")  # SPEC §7


def test_hb_six_each_notice_and_transition_happens_once(clock, staff, household):
    opened = date(2026, 3, 2)
    _open_by_judgment(clock, staff, household, opened)
    day = opened
    through = None
    while through is None or day <= through + timedelta(days=1):
        run_jobs_on(clock, day, times=2)
        p = procedures(household.id)[0]
        through = p.listed_through
        day = day + timedelta(days=1) if through is None else through + timedelta(days=1)
        if p.state == "ended":
            break
    kinds = [n.kind for n in notices(household.id)]
    assert kinds == ["risk_notice", "procedure_publicity", "procedure_listed", "procedure_ended"]
    assert audit_actions(household.id, "procedure.") == ["procedure.open", "procedure.publicity",
                                                         "procedure.listed", "procedure.ended"]
    assert outbox_kinds(household.id, "punishment_list.") == [
        "punishment_list.opened", "punishment_list.publicity", "punishment_list.listed", "punishment_list.ended"]


def test_hb_six_procedure_opened_by_judgment_ends_the_watch_entry(clock, staff, household):
    confirm_on(clock, staff, household, "HB06", date(2026, 1, 5))
    _open_by_judgment(clock, staff, household, date(2026, 2, 2))
    assert entries(household.id) == [(date(2026, 1, 5), date(2027, 1, 5), date(2026, 2, 2), "transferred")]
    # the procedure blocks a new entry while it runs
    confirm_on(clock, staff, household, "HB05", date(2026, 5, 11))
    assert len(entries(household.id)) == 1


def test_hb_seven_procedure_ends_when_its_grounding_record_is_revoked(clock, staff, household):
    confirm_on(clock, staff, household, "HB06", date(2026, 1, 5))
    grounding = confirm_on(clock, staff, household, "HB05", date(2026, 4, 13))
    clock.set(date(2026, 4, 20))
    proposal = records.propose_revocation(grounding.id, "error", "认定错误", staff.caseworker)
    records.decide_revocation(proposal.id, "confirmed", "", staff.reviewer)
    db.session.commit()
    (p,) = procedures(household.id)
    assert p.state == "ended"
    end = p.steps[-1]
    assert (end.step, end.step_date, end.reason) == ("ended", date(2026, 4, 20), "revoked")
    assert len(notices(household.id, "procedure_ended")) == 1


def test_design_rule_two_watch_cache_rebuilds_from_facts(clock, staff, household):
    confirm_on(clock, staff, household, "HB03", date(2025, 9, 1))
    confirm_on(clock, staff, household, "HB08", date(2026, 3, 2))
    confirm_on(clock, staff, household, "HB05", date(2026, 5, 4))
    clock.set(date(2026, 6, 15))
    cached = entries(household.id)
    db.session.execute(sa.delete(WatchEntry).where(WatchEntry.household_id == household.id))
    service.after_facts_changed(household.id)
    db.session.commit()
    assert entries(household.id) == cached
    assert len(procedures(household.id)) == 1  # the transfer is not opened a second time
    assert len(notices(household.id, "watch_warning")) == 1


def test_spec_9_a_procedure_in_a_known_year_counts_its_holidays_and_has_no_warning(clock, staff, household):
    # O = 2026-09-28 (Mon); National Day 10-01..10-07 off, Saturday 10-10 worked in lieu:
    # response due 10-10, publicity 10-12 through 10-20, listing 10-21
    pid = _open_by_judgment(clock, staff, household, date(2026, 9, 28))
    view = service.procedure_view(procedures(household.id)[0])
    assert (view["id"], view["response_due"], view["next_date"]) == (pid, date(2026, 10, 10), date(2026, 10, 12))
    assert view["calendar_warning"] is None
    (risk,) = notices(household.id, "risk_notice")
    assert "2026-10-10" in risk.body and "2026-10-12" in risk.body and "2026-10-21" in risk.body
    assert "missing" not in risk.body


@pytest.fixture
def no_2027_arrangement(tmp_path, monkeypatch):
    """A world where chinesecalendar does not know 2027 (whatever version is installed) and config/holidays/ is an
    empty temporary directory; yields that directory so a test can add the year's file."""
    known = calendar._package_arrangement
    monkeypatch.setattr(calendar, "_package_arrangement", lambda year: None if year >= 2027 else known(year))
    (tmp_path / "holidays").mkdir()
    monkeypatch.setattr(calendar, "CONFIG_DIR", tmp_path)
    calendar.clear_calendar_cache()
    yield tmp_path / "holidays"
    calendar.clear_calendar_cache()


def test_spec_9_a_year_unknown_without_a_file_counts_monday_to_friday_with_a_warning(clock, staff, household,
                                                                                      no_2027_arrangement):
    # O = 2026-12-21 (Mon): response due 12-28, publicity from 12-29; 2027-01-01 (Fri) counts as a working day
    # without the arrangement, so listing is O + 13 = 2027-01-07
    _open_by_judgment(clock, staff, household, date(2026, 12, 21))
    view = service.procedure_view(procedures(household.id)[0])
    assert (view["response_due"], view["next_date"]) == (date(2026, 12, 28), date(2026, 12, 29))
    assert "缺少2027年国务院节假日安排" in view["calendar_warning"]  # outside a request: Chinese
    (risk,) = notices(household.id, "risk_notice")
    assert "2026-12-29" in risk.body and "2027-01-07" in risk.body
    assert view["calendar_warning"] in risk.body  # the deadline is shown with the warning


def test_spec_9_a_year_unknown_to_the_package_is_read_from_its_config_file(clock, staff, household,
                                                                           no_2027_arrangement):
    (no_2027_arrangement / "2027.yaml").write_text(
        "year: 2027\nsource: test fixture\nholidays: [2027-01-01]\nworkdays: []\n", encoding="utf-8")
    # with 2027-01-01 a holiday, listing moves to 2027-01-08, and nothing is missing
    _open_by_judgment(clock, staff, household, date(2026, 12, 21))
    view = service.procedure_view(procedures(household.id)[0])
    assert view["calendar_warning"] is None
    (risk,) = notices(household.id, "risk_notice")
    assert "2027-01-08" in risk.body and "2027-01-07" not in risk.body and "missing" not in risk.body
