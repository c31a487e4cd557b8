"""Correction as a decision (更正, SPEC §4): facts and evidence only, two people, the earlier version kept."""
from __future__ import annotations

import io
from datetime import date

import pytest
import sqlalchemy as sa

from housingcredit.errors import Forbidden
from housingcredit.extensions import db
from housingcredit.notices.models import Notice
from housingcredit.records import service
from housingcredit.records.models import Determination
from housingcredit.scoring.models import CreditState
from tests.factories import make_household, make_user
from tests.records.helpers import PNG, confirm, make_record


@pytest.fixture
def world(app, clock):
    household = make_household("420102")
    recorder, proposer = make_user("caseworker", "420100"), make_user("caseworker", "420100")
    reviewer = make_user("reviewer", "420100")
    clock.set(date(2026, 6, 15))
    record = make_record(household, recorder, "HB06", occurred=date(2026, 6, 10))  # moderate, 15 points
    confirm(record, reviewer)
    return type("World", (), dict(household=household, recorder=recorder, proposer=proposer, reviewer=reviewer,
                                  record=record))


def _staff_page(app_client_for, record):
    from flask import current_app

    from tests.conftest import login
    client = current_app.test_client()
    login(client, app_client_for)
    return client.get(f"/records/{record.id}").get_data(as_text=True)


def test_spec4_correction_keeps_code_deduction_and_determination_date(world, clock, api_client):
    clock.set(date(2026, 7, 1))
    api = api_client(world.proposer)
    resp = api.post(f"/api/v1/records/{world.record.id}/corrections", data={
        "reason": "error", "occurred_date": "2026-06-08", "facts": "经核实，拖欠租金7个月，发生于6月8日。",
        "evidence": [(io.BytesIO(PNG), "缴费记录.png")]}, content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_json()
    pid = resp.get_json()["id"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notice).where(Notice.kind == "correction")) == 0
    resp = api_client(world.reviewer).post(f"/api/v1/corrections/{pid}/decision", json={"decision": "confirmed"})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert (body["code"], body["occurred_date"]) == ("HB06", "2026-06-08")
    assert len(body["evidence"]) == 2
    det = db.session.scalar(sa.select(Determination).where(Determination.record_id == world.record.id))
    assert det.determination_date == date(2026, 6, 15)
    assert db.session.get(CreditState, world.household.id).score == 85
    # the earlier version stays viewable
    history = api.get(f"/api/v1/records/{world.record.id}/corrections").get_json()
    assert (history[0]["before_occurred_date"], history[0]["before_facts"]) == ("2026-06-10",
                                                                               "拖欠租金7个月，经催缴仍未缴纳。")
    assert history[0]["decision"] == "confirmed" and history[0]["decided_date"] == "2026-07-01"
    page = _staff_page(app_client_for=world.proposer, record=world.record)
    assert "2026-06-10" in page.split('id="corrections"')[1]  # the staff record page keeps it too
    notice = db.session.scalar(sa.select(Notice).where(Notice.kind == "correction"))
    assert notice is not None and "2026-07-01" in notice.body
    # a different behaviour is not a correction
    resp = api.post(f"/api/v1/records/{world.record.id}/corrections", json={"reason": "error", "code": "HB04",
                                                                            "facts": "x"})
    assert resp.status_code == 422 and "code" in resp.get_json()["errors"]


def test_spec4_correction_needs_a_second_person(world, clock, api_client):
    clock.set(date(2026, 7, 1))
    proposal = service.propose_correction(world.record.id, {"reason": "other", "note": "笔误",
                                                            "facts": "拖欠租金7个月。"}, [], world.proposer)
    db.session.commit()
    supervisor = make_user("supervisor", "420000")  # the proposer and the recorder may not confirm
    for who in (world.proposer, world.recorder):
        with pytest.raises(Forbidden):
            service.decide_correction(proposal.id, "confirmed", "", who)
        db.session.rollback()
    resp = api_client(world.recorder).post(f"/api/v1/corrections/{proposal.id}/decision",
                                           json={"decision": "confirmed"})
    assert resp.status_code == 403
    assert db.session.get(type(world.record), world.record.id).facts == "拖欠租金7个月，经催缴仍未缴纳。"
    resp = api_client(supervisor).post(f"/api/v1/corrections/{proposal.id}/decision", json={"decision": "rejected"})
    assert resp.status_code == 201 and resp.get_json()["facts"] == "拖欠租金7个月，经催缴仍未缴纳。"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notice).where(Notice.kind == "correction")) == 0
    # "other" needs its note
    resp = api_client(world.proposer).post(f"/api/v1/records/{world.record.id}/corrections",
                                           json={"reason": "other", "facts": "y"})
    assert resp.status_code == 422 and "note" in resp.get_json()["errors"]


def _client_of(user):
    from flask import current_app

    from tests.conftest import login
    client = current_app.test_client()
    login(client, user)
    return client


def test_spec4_correction_and_revocation_are_proposed_and_decided_on_the_pages(world, clock):
    """The web pages (not only the API): propose from the record page with a reason from the fixed list, the
    reviewer's queue, a reviewer other than the proposer and the recorder decides, the household is notified."""
    from tests.factories import csrf_token
    clock.set(date(2026, 7, 1))
    proposer = _client_of(world.proposer)
    page = proposer.get(f"/records/{world.record.id}").get_data(as_text=True)
    form = page.split('id="propose-correction"')[1]
    assert 'value="error"' in form and 'value="annulled"' in form and 'value="other"' in form
    assert "objection_upheld" not in page  # never offered: only an objection's decision writes it
    token = csrf_token(proposer)
    # bad input: nothing would change → 422 on the page, nothing written
    resp = proposer.post(f"/records/{world.record.id}/correct", data={"csrf_token": token, "reason": "error"})
    assert resp.status_code == 422
    assert service.corrections_of(world.record.id) == []
    resp = proposer.post(f"/records/{world.record.id}/correct", data={
        "csrf_token": token, "reason": "error", "occurred_date": "2026-06-08", "facts": "经核实，发生于6月8日。",
        "evidence": (io.BytesIO(PNG), "缴费记录.png")}, content_type="multipart/form-data")
    assert resp.status_code == 302
    resp = proposer.post(f"/records/{world.record.id}/revoke", data={"csrf_token": token, "reason": "other",
                                                                      "note": "重复登记"})
    assert resp.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notice).where(
        Notice.kind.in_(("correction", "revocation")))) == 0  # a proposal is never shown to the household

    # the recorder and the proposer see the queue but cannot decide; the reviewer can
    reviewer = _client_of(world.reviewer)
    queue = reviewer.get("/review/changes").get_data(as_text=True)
    assert queue.count('data-kind="correction"') == 1 and queue.count('data-kind="revocation"') == 1
    assert "缴费记录.png" in reviewer.get(f"/records/{world.record.id}").get_data(as_text=True)
    correction = service.corrections_of(world.record.id)[0]
    revocation = service.revocation_proposals(world.record.id)[0]
    assert proposer.get("/review/changes").status_code == 403  # a caseworker does not decide
    supervisor = _client_of(make_user("supervisor", "420000"))  # neither proposer nor recorder: may decide
    assert 'aria-disabled="true"' not in supervisor.get("/review/changes").get_data(as_text=True)
    recorder_reviewer = make_user("reviewer", "420100")
    rr = _client_of(recorder_reviewer)
    # a reviewer who recorded the behaviour may not decide (the recorder here is a caseworker: use the service)
    with pytest.raises(Forbidden):
        service.decide_correction(correction.id, "confirmed", "", world.recorder)
    db.session.rollback()
    resp = reviewer.post(f"/corrections/{correction.id}/decide", data={"csrf_token": csrf_token(reviewer),
                                                                       "decision": "confirmed", "note": ""})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(type(world.record), world.record.id).occurred_date == date(2026, 6, 8)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notice).where(Notice.kind == "correction")) == 1
    resp = rr.post(f"/revocations/{revocation.id}/decide", data={"csrf_token": csrf_token(rr),
                                                                 "decision": "rejected", "note": "不予撤销"})
    assert resp.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notice).where(Notice.kind == "revocation")) == 0
    assert "data-kind=" not in reviewer.get("/review/changes").get_data(as_text=True)  # both decided
