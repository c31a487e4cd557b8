"""The list engine owns procedures (consolidation issue): the services append facts and write the caches from the
engine's answer — watch entries with full procedure facts (SPEC §6), one procedure at a time with grounds attached
(SPEC §7), the daily job on the engine's dates, a clock stopped by an objection. Dates worked out by hand."""
from __future__ import annotations

import io
from datetime import date

import pytest
import sqlalchemy as sa

from housingcredit.errors import Conflict
from housingcredit.extensions import db
from housingcredit.lists import common, service
from housingcredit.lists.engine import ObjectionFact
from housingcredit.lists.engine import WatchPeriod as EngineEntry
from housingcredit.lists.models import ProcedureGround, ProcedureStep, WatchEntry
from housingcredit.lists.queries import in_force_sql
from tests import factories
from tests.records.helpers import revoke

from .helpers import (PDF, Staff, audit_actions, confirm_on, entries, notices, outbox_kinds, procedures,
                      run_jobs_on)


@pytest.fixture
def staff(app):
    return Staff("420100")


@pytest.fixture
def household(app):
    return factories.make_household("420102")


def _schedule(household_id) -> tuple:
    (p,) = [p for p in procedures(household_id) if p.state != "ended"] or procedures(household_id)[-1:]
    return p.state, p.next_date, p.window_end, p.listed_date, p.listed_through


def _judgment(clock, staff, household, on: date, record_id=None) -> int:
    clock.set(on)
    p = service.open_procedure(household.id, "court_judgment", "（2026）鄂0102民初123号", ("judgment.pdf", PDF),
                               staff.caseworker, record_id=record_id)
    db.session.commit()
    return p.id


def _objections(monkeypatch, *facts: ObjectionFact) -> None:
    """The objections the appeals work would give (the one place: common.objection_facts)."""
    monkeypatch.setattr(common, "objection_facts", lambda household_id: tuple(facts))


def _api_record(api_cw, api_rv, household_id: int, code: str, on: date) -> int:
    resp = api_cw.post(f"/api/v1/households/{household_id}/records", json={
        "code": code, "occurred_date": on.isoformat(), "formed_date": on.isoformat(), "source": "management",
        "facts": "拖欠租金7个月，经催缴仍未缴纳。"})
    assert resp.status_code == 201, resp.get_json()
    rid = resp.get_json()["id"]
    resp = api_cw.post(f"/api/v1/records/{rid}/evidence", data={"evidence": (io.BytesIO(PDF), "e.pdf")},
                       content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_json()
    resp = api_rv.post(f"/api/v1/records/{rid}/determination",
                       json={"decision": "confirmed", "legal_basis": "HB 四"})
    assert resp.status_code == 201, resp.get_json()
    return rid


def test_spec6_ended_procedure_stops_blocking_watch_entries_through_the_api(clock, staff, household, api_client):
    api_cw, api_rv = api_client(staff.caseworker), api_client(staff.reviewer)
    # 2026-01-05: moderate HB06 confirmed → on the watch list 2026-01-05 … 2027-01-05
    clock.set(date(2026, 1, 5))
    r0 = _api_record(api_cw, api_rv, household.id, "HB06", date(2026, 1, 5))
    # 2026-02-02: a procedure opened on a court judgment standing on that record → the entry ends (transferred)
    clock.set(date(2026, 2, 2))
    resp = api_cw.post(f"/api/v1/households/{household.id}/procedures", content_type="multipart/form-data",
                       data={"route": "court_judgment", "basis": "（2026）鄂0102民初7号", "record_id": str(r0),
                             "document": (io.BytesIO(PDF), "judgment.pdf")})
    assert resp.status_code == 201, resp.get_json()
    pid = resp.get_json()["id"]
    assert resp.get_json()["record_id"] == r0
    # 2026-02-09: the record is revoked → the procedure ends that day, its last standing ground fallen
    clock.set(date(2026, 2, 9))
    resp = api_cw.post(f"/api/v1/records/{r0}/revocation", json={"reason": "error", "note": "认定错误"})
    assert resp.status_code == 201, resp.get_json()
    resp = api_rv.post(f"/api/v1/revocations/{resp.get_json()['id']}/decision", json={"decision": "confirmed"})
    assert resp.status_code == 201, resp.get_json()  # a revocation is a decision of two people (SPEC §4)
    (proc,) = api_cw.get(f"/api/v1/households/{household.id}/procedures").get_json()
    assert (proc["id"], proc["state"]) == (pid, "ended")
    assert (proc["steps"][-1]["step_date"], proc["steps"][-1]["reason"]) == ("2026-02-09", "revoked")
    # 2026-03-02: a new moderate record → a new entry, no longer blocked by the ended procedure
    clock.set(date(2026, 3, 2))
    _api_record(api_cw, api_rv, household.id, "HB06", date(2026, 3, 2))
    resp = api_cw.get("/api/v1/watch-list?status=active")
    assert resp.status_code == 200, resp.get_json()
    mine = [(i["start_date"], i["until_date"]) for i in resp.get_json() if i["household_id"] == household.id]
    assert mine == [("2026-03-02", "2027-03-02")]
    assert entries(household.id) == [(date(2026, 1, 5), date(2027, 1, 5), date(2026, 2, 2), "transferred"),
                                     (date(2026, 3, 2), date(2027, 3, 2), None, None)]


def test_spec7_second_route_attaches_its_ground_and_changes_no_date(clock, staff, household):
    # opened 2026-03-02 (Mon) on a judgment: response due 03-09, publicity from 03-10 (SPEC §7 earliest clock)
    pid = _judgment(clock, staff, household, date(2026, 3, 2))
    before = _schedule(household.id)
    assert before == ("opened", date(2026, 3, 10), date(2026, 3, 9), None, None)
    order = service.issue_order(household.id, "illegal_transfer", "2026-03-04", "停止转租", None, staff.caseworker)
    db.session.commit()
    run_jobs_on(clock, date(2026, 3, 5), times=2)  # overdue the day after its deadline: attaches, once
    (p,) = procedures(household.id)
    assert p.id == pid and _schedule(household.id) == before
    (g,) = db.session.scalars(sa.select(ProcedureGround)).all()
    assert (g.procedure_id, g.route, g.order_id, g.attached_date) == (pid, "overdue_order", order.id,
                                                                      date(2026, 3, 5))
    assert audit_actions(household.id, "procedure.") == ["procedure.open", "procedure.attach"]
    assert len(notices(household.id, "procedure_ground_attached")) == 1
    assert outbox_kinds(household.id, "punishment_list.") == ["punishment_list.opened",
                                                              "punishment_list.ground_attached"]
    (view,) = service.orders_for(household.id, staff.caseworker)
    assert (view["status"], view["procedure_id"]) == ("procedure", pid)
    # a second judgment attaches too; the dates still do not move, and the job keeps the earliest clock
    _judgment(clock, staff, household, date(2026, 3, 6))
    assert len(procedures(household.id)) == 1 and _schedule(household.id) == before
    run_jobs_on(clock, date(2026, 3, 10))
    assert _schedule(household.id)[:3] == ("publicity", date(2026, 3, 19), date(2026, 3, 18))


def test_spec7_procedure_ends_when_its_last_standing_ground_falls(clock, staff, household):
    r1 = confirm_on(clock, staff, household, "HB05", date(2026, 3, 2))  # a watch entry (the judgment ends it)
    r2 = confirm_on(clock, staff, household, "HB08", date(2026, 3, 2))
    _judgment(clock, staff, household, date(2026, 3, 3), record_id=r1.id)
    service.issue_order(household.id, "illegal_transfer", "2026-03-04", "停止转租", r2.id, staff.caseworker)
    db.session.commit()
    run_jobs_on(clock, date(2026, 3, 5))
    (p,) = procedures(household.id)
    clock.set(date(2026, 3, 9))
    revoke(r1, staff.caseworker, staff.reviewer)  # one ground falls, the attached one stands
    assert procedures(household.id)[0].state == "opened"
    clock.set(date(2026, 3, 11))
    revoke(r2, staff.caseworker, staff.reviewer)  # the last standing ground falls: ended that day
    (p,) = procedures(household.id)
    end = db.session.scalar(sa.select(ProcedureStep).where(ProcedureStep.procedure_id == p.id,
                                                           ProcedureStep.step == "ended"))
    assert (p.state, end.step_date, end.reason) == ("ended", date(2026, 3, 11), "revoked")


def test_spec7_daily_job_takes_steps_on_the_engines_dates(clock, staff, household, monkeypatch):
    ground = confirm_on(clock, staff, household, "HB05", date(2026, 6, 1))
    # opened 2026-06-08 (Mon); the objection on its ground, filed 06-10 and rejected 06-11, leaves out 06-10 and
    # 06-11: response due 06-17, publicity 06-18 … 06-29 (06-19 Dragon Boat holiday), listed 06-30 → 2029-06-30
    pid = _judgment(clock, staff, household, date(2026, 6, 8), record_id=ground.id)
    assert _schedule(household.id)[:3] == ("opened", date(2026, 6, 16), date(2026, 6, 15))  # known on 06-08
    _objections(monkeypatch, ObjectionFact(id=1, record_id=ground.id, filed=date(2026, 6, 10),
                                           decided=date(2026, 6, 11), outcome="rejected"))
    run_jobs_on(clock, date(2026, 6, 16))  # the plain clock's date: the engine moved it
    assert _schedule(household.id)[:3] == ("opened", date(2026, 6, 18), date(2026, 6, 17))
    run_jobs_on(clock, date(2026, 6, 17))
    assert procedures(household.id)[0].state == "opened"
    run_jobs_on(clock, date(2026, 6, 18))
    assert _schedule(household.id)[:3] == ("publicity", date(2026, 6, 30), date(2026, 6, 29))
    run_jobs_on(clock, date(2026, 6, 29))
    assert procedures(household.id)[0].state == "publicity"
    run_jobs_on(clock, date(2026, 6, 30))
    assert _schedule(household.id) == ("listed", date(2029, 7, 1), date(2029, 6, 30), date(2026, 6, 30),
                                       date(2029, 6, 30))
    steps = db.session.execute(sa.select(ProcedureStep.step, ProcedureStep.step_date)
                               .where(ProcedureStep.procedure_id == pid).order_by(ProcedureStep.id)).all()
    assert [tuple(s) for s in steps] == [("opened", date(2026, 6, 8)), ("publicity", date(2026, 6, 18)),
                                         ("listed", date(2026, 6, 30))]


def test_spec7_paused_clock_moves_the_cached_next_date(clock, staff, household, monkeypatch):
    ground = confirm_on(clock, staff, household, "HB05", date(2026, 6, 1))
    pid = _judgment(clock, staff, household, date(2026, 6, 8), record_id=ground.id)
    run_jobs_on(clock, date(2026, 6, 16))  # publicity 06-16 … 06-25, listing from 06-26
    assert _schedule(household.id)[:3] == ("publicity", date(2026, 6, 26), date(2026, 6, 25))
    # 2026-06-18: an objection on the ground is filed (pending): the clock stops, the cache has no next date
    pending = dict(id=7, record_id=ground.id, filed=date(2026, 6, 18))
    _objections(monkeypatch, ObjectionFact(**pending))
    clock.set(date(2026, 6, 18))
    service.after_facts_changed(household.id)  # what filing an objection calls
    db.session.commit()
    assert _schedule(household.id)[:3] == ("publicity", None, None)
    clock.set(date(2026, 6, 22))
    with pytest.raises(Conflict):
        service.advance(pid, "listed", staff.caseworker)
    db.session.rollback()
    run_jobs_on(clock, date(2026, 6, 26))  # the old listing date: the job asks the engine and lists nothing
    assert procedures(household.id)[0].state == "publicity"
    # rejected on 2026-06-24: 06-18, 06-22, 06-23, 06-24 left out → publicity through 07-01, listed from 07-02
    _objections(monkeypatch, ObjectionFact(**pending, decided=date(2026, 6, 24), outcome="rejected"))
    run_jobs_on(clock, date(2026, 6, 29))
    assert _schedule(household.id)[:3] == ("publicity", date(2026, 7, 2), date(2026, 7, 1))
    run_jobs_on(clock, date(2026, 7, 1))
    assert procedures(household.id)[0].state == "publicity"
    run_jobs_on(clock, date(2026, 7, 2))
    assert _schedule(household.id) == ("listed", date(2029, 7, 3), date(2029, 7, 2), date(2026, 7, 2),
                                       date(2029, 7, 2))


def test_spec7_term_end_is_written_with_the_reason_expired(clock, staff, household):
    _judgment(clock, staff, household, date(2026, 3, 2))
    run_jobs_on(clock, date(2026, 3, 10))
    run_jobs_on(clock, date(2026, 3, 19))
    run_jobs_on(clock, date(2029, 3, 21))  # a day late: dated the day after the term's last day (2029-03-19)
    (p,) = procedures(household.id)
    assert (p.state, p.steps[-1].step_date, p.steps[-1].reason) == ("ended", date(2029, 3, 20), "expired")
    assert service.procedure_view(p)["steps"][-1]["reason_label"] == "列入期限届满"


@pytest.mark.parametrize("on, in_force", [
    (date(2026, 1, 4), False), (date(2026, 1, 5), True), (date(2027, 1, 5), True), (date(2027, 1, 6), False)])
def test_spec6_the_list_page_and_the_engine_agree_on_entry_in_force(app, household, on, in_force):
    # entry T = 2026-01-05 through T + 12 months = 2027-01-05; a second one ended early on 2026-09-01 (off that day)
    rows = [WatchEntry(household_id=household.id, region_code="420102", start_date=date(2026, 1, 5),
                       until_date=date(2027, 1, 5), end_date=None, reason=None, grounds=[]),
            WatchEntry(household_id=household.id, region_code="420102", start_date=date(2025, 10, 1),
                       until_date=date(2026, 10, 1), end_date=date(2026, 1, 5), reason="grounds_fell", grounds=[])]
    db.session.add_all(rows)
    db.session.flush()
    sql = set(db.session.scalars(sa.select(WatchEntry.start_date).where(in_force_sql(on))))
    engine = {r.start_date for r in rows
              if EngineEntry(start=r.start_date, until=r.until_date, end=r.end_date).in_force(on)}
    assert sql == engine
    assert (date(2026, 1, 5) in sql) is in_force
    assert (date(2025, 10, 1) in sql) is (on == date(2026, 1, 4))  # in force the day before its end only
