"""An upheld objection that corrects the record's facts (异议成立 → 更正, SPEC §9; a correction is facts and evidence
only, SPEC §4): the handler proposes, a reviewer other than the handler and the recorder confirms, and on the
confirmation date J the record is corrected through the same machinery as a correction decision — everything derived
recomputed at once, answers about earlier dates unchanged and marked "corrected on …", the household told what was
corrected, the change pushed, each step audited. Bad input is refused with nothing written."""
from __future__ import annotations

import io
from datetime import date

import pytest
import sqlalchemy as sa

from housingcredit.accounts.models import User
from housingcredit.appeals import service as appeals
from housingcredit.appeals.models import CorrectionDecision, CorrectionProposal, ObjectionProposal, Restoration
from housingcredit.audit.models import AuditEntry
from housingcredit.errors import Conflict
from housingcredit.extensions import db
from housingcredit.lists import service as lists
from housingcredit.notices.models import Notice
from housingcredit.platform.models import OutboxEvent
from housingcredit.records import service as records
from housingcredit.records.models import Evidence, Record, Revocation
from housingcredit.scoring.models import CreditState
from tests.conftest import login
from tests.factories import csrf_token, make_household, make_household_user, make_user
from tests.records.helpers import PDF, PNG, confirm, make_record

FACTS = "拖欠租金7个月，经催缴仍未缴纳。"


@pytest.fixture
def world(app, clock):
    """A Wuhan household with a moderate record (85, on the watch list) and an objection to it pending since
    2026-09-28, with its handler (a caseworker other than the recorder)."""
    household = make_household("420102")
    home = make_household_user(household)
    recorder = make_user("caseworker", "420100")
    make_user("caseworker", "420100")  # someone other than the recorder to handle the objection
    reviewer = make_user("reviewer", "420100")
    clock.set(date(2026, 9, 14))
    record = make_record(household, recorder, "HB06", occurred=date(2026, 9, 11))
    confirm(record, reviewer)
    clock.set(date(2026, 9, 28))
    o = appeals.file_objection(household.id, {"record_id": record.id, "reason": "发生日期登记有误，附缴费凭证。"},
                               [("缴费凭证.pdf", PDF)], home)
    db.session.commit()
    handler = db.session.get(User, o.handler_id)
    assert handler is not None and handler.id != recorder.id
    return type("World", (), dict(household=household, home=home, recorder=recorder, reviewer=reviewer,
                                  record=record, objection=o, handler=handler))


def _propose(api_client, who, objection, files=(), **fields):
    data = {"outcome": "upheld", "reasons": "核实发生日期为9月10日", "effect": "correct", **fields}
    if files:
        data["evidence"] = [(io.BytesIO(content), name) for name, content in files]
    return api_client(who).post(f"/api/v1/objections/{objection.id}/proposal", data=data,
                                content_type="multipart/form-data")


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_spec9_upheld_objection_corrects_the_facts_from_J_and_earlier_answers_stay_marked(world, clock, api_client):
    h, r = world.household, world.record
    credit = lambda as_of: api_client(world.reviewer).get(  # noqa: E731
        f"/api/v1/households/{h.id}/credit", query_string={"as_of": as_of}).get_json()
    clock.set(date(2026, 10, 9))
    before_credit = credit("2026-10-01")
    before_lists = lists.measures_of(h.id, date(2026, 10, 1))
    assert before_credit["score"] == 85 and before_lists.watch is not None and before_lists.suspended

    resp = _propose(api_client, world.handler, world.objection, occurred_date="2026-09-10",
                    facts="经核实，拖欠租金7个月，发生于9月10日。", files=(("缴费记录.png", PNG),))
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["effect"] == "correct"
    assert (body["correction"]["occurred_date"], body["correction"]["before_occurred_date"],
            body["correction"]["reason"], body["correction"]["decision"]) == (
        "2026-09-10", "2026-09-11", "objection_upheld", None)
    # a proposal changes nothing and reaches no one; it is not a correction any reviewer may decide on its own
    db.session.expire_all()
    assert db.session.get(Record, r.id).occurred_date == date(2026, 9, 11)
    assert not db.session.scalar(sa.select(Notice).where(Notice.kind.in_(("correction", "objection_result"))))
    assert [i["kind"] for i in records.open_change_proposals(world.reviewer)] == []
    with pytest.raises(Conflict):
        records.decide_correction(body["correction"]["id"], "confirmed", "", world.reviewer)
    db.session.rollback()

    # two people: the handler and the recorder may not confirm; a reviewer other than both does, on J
    clock.set(date(2026, 10, 14))
    for who in (world.handler, world.recorder):
        resp = api_client(who).post(f"/api/v1/objections/{world.objection.id}/decision",
                                    json={"decision": "confirmed"})
        assert resp.status_code == 403
    resp = api_client(world.reviewer).post(f"/api/v1/objections/{world.objection.id}/decision",
                                           json={"decision": "confirmed", "note": "同意更正"})
    assert resp.status_code == 201, resp.get_json()
    assert (resp.get_json()["status"], resp.get_json()["decided_date"]) == ("upheld", "2026-10-14")

    # the record's facts and evidence corrected from J; code, deduction, determination date kept; nothing revoked
    db.session.expire_all()
    record = db.session.get(Record, r.id)
    assert (record.code, record.occurred_date, record.facts) == ("HB06", date(2026, 9, 10),
                                                                 "经核实，拖欠租金7个月，发生于9月10日。")
    assert sorted(e.filename for e in db.session.scalars(sa.select(Evidence).where(Evidence.record_id == r.id))) == [
        "催缴通知.pdf", "缴费记录.png"]
    assert _count(Revocation) == 0 and _count(Restoration) == 0  # it still stands: nothing to restore
    decision = db.session.scalar(sa.select(CorrectionDecision))
    assert (decision.decision, decision.decided_date, decision.by_id) == ("confirmed", date(2026, 10, 14),
                                                                          world.reviewer.id)
    history = api_client(world.reviewer).get(f"/api/v1/records/{r.id}/corrections").get_json()
    assert [(c["before_occurred_date"], c["before_facts"], c["decided_date"]) for c in history] == [
        ("2026-09-11", FACTS, "2026-10-14")]  # the earlier version kept

    # derived state recomputed at once: it still counts (85); the objection decided, nothing is suspended any more
    assert db.session.get(CreditState, h.id).score == 85
    today = lists.measures_of(h.id, date(2026, 10, 14))
    assert today.watch is not None and today.in_force and not today.suspended

    # answers about an earlier date stay as they were, and mark the record "corrected on J"
    after_credit = credit("2026-10-01")
    assert (after_credit["score"], [i["record_id"] for i in after_credit["items"]]) == (
        before_credit["score"], [i["record_id"] for i in before_credit["items"]])
    assert after_credit["items"][0]["later_changes"] == [{"kind": "corrected", "on": "2026-10-14",
                                                          "reason": "objection_upheld"}]
    after_lists = lists.measures_of(h.id, date(2026, 10, 1))
    assert (after_lists.watch, after_lists.tier, [m.code for m in after_lists.in_force],
            [m.code for m in after_lists.suspended]) == (
        before_lists.watch, before_lists.tier, [m.code for m in before_lists.in_force],
        [m.code for m in before_lists.suspended])

    # the household is told what was corrected; the platform gets status "corrected"; every step audited
    result = db.session.scalar(sa.select(Notice).where(Notice.kind == "objection_result"))
    assert result.issued_date == date(2026, 10, 14)
    assert "2026-09-11" in result.body and "2026-09-10" in result.body and "更正" in result.body
    correction = db.session.scalar(sa.select(Notice).where(Notice.kind == "correction"))
    assert "2026-09-10" in correction.body and "异议成立" in correction.body
    assert not db.session.scalar(sa.select(Notice).where(Notice.kind.in_(("revocation", "restoration"))))
    events = [e.kind for e in db.session.scalars(sa.select(OutboxEvent).order_by(OutboxEvent.seq))]
    assert "record.corrected" in events and "record.revoked" not in events
    actions = list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))
    assert {"objection.propose", "objection.decide", "record.correct"} <= set(actions)
    assert actions.index("objection.decide") < actions.index("record.correct")

    # the household sees the record counting, corrected, with the earlier version
    states = records.household_record_states(h.id, world.home, date(2026, 10, 14))
    assert [(s["state"], len(s["corrections"])) for s in states] == [("counting", 1)]


def test_spec4_spec9_correcting_objection_bad_input_is_refused_with_nothing_written(world, clock, api_client):
    clock.set(date(2026, 10, 9))
    other = make_record(world.household, world.recorder, "HB06", occurred=date(2026, 9, 5))
    confirm(other, world.reviewer)
    cases = [
        ({}, "facts"),  # nothing would change
        ({"code": "HB04", "facts": "改为其他行为"}, "code"),  # a different behaviour is a revocation + a new record
        ({"occurred_date": "2026-12-01"}, "occurred_date"),  # in the future
        ({"occurred_date": "2026-09-05"}, "occurred_date"),  # the same occurrence as a standing record
        ({"occurred_date": "9月10日"}, "occurred_date"),  # not a date
        ({"outcome": "rejected", "facts": "x"}, "effect"),  # only an upheld objection corrects
        ({"effect": "revoke", "facts": "x"}, "effect"),  # corrected facts never silently dropped
    ]
    for fields, field in cases:
        resp = _propose(api_client, world.handler, world.objection, **fields)
        assert resp.status_code == 422 and field in resp.get_json()["errors"], (fields, resp.get_json())
    resp = _propose(api_client, world.handler, world.objection, facts="x", files=(("x.exe", b"MZ\x90\x00"),))
    assert resp.status_code == 422 and "evidence" in resp.get_json()["errors"]
    resp = _propose(api_client, world.handler, world.objection, effect="rewrite", facts="x")
    assert resp.status_code == 422 and "effect" in resp.get_json()["errors"]
    assert _count(ObjectionProposal) == _count(CorrectionProposal) == 0
    assert not db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "objection.propose"))
    # only the handler proposes
    resp = _propose(api_client, world.reviewer, world.objection, facts="经核实的事实")
    assert resp.status_code == 403 and _count(CorrectionProposal) == 0


def test_spec9_correction_sent_back_is_decided_with_it_and_the_handler_proposes_again(world, clock, api_client):
    clock.set(date(2026, 10, 9))
    assert _propose(api_client, world.handler, world.objection, facts="经核实的事实").status_code == 201
    # a caseworker's own correction waits until the objection's is decided
    with pytest.raises(Conflict):
        records.propose_correction(world.record.id, {"reason": "error", "facts": "另一更正"}, [], world.recorder)
    db.session.rollback()
    resp = api_client(world.reviewer).post(f"/api/v1/objections/{world.objection.id}/decision",
                                           json={"decision": "returned", "note": "证据不足"})
    assert resp.status_code == 201 and resp.get_json()["status"] == "pending"
    decision = db.session.scalar(sa.select(CorrectionDecision))
    assert (decision.decision, decision.note) == ("rejected", "证据不足")
    db.session.expire_all()
    assert db.session.get(Record, world.record.id).facts == FACTS
    assert not db.session.scalar(sa.select(Notice).where(Notice.kind.in_(("correction", "objection_result"))))
    # the handler may propose again — this time the revocation
    resp = api_client(world.handler).post(f"/api/v1/objections/{world.objection.id}/proposal",
                                          json={"outcome": "upheld", "reasons": "记录不成立"})
    assert resp.status_code == 201 and resp.get_json()["effect"] == "revoke"
    resp = api_client(world.reviewer).post(f"/api/v1/objections/{world.objection.id}/decision",
                                           json={"decision": "confirmed"})
    assert resp.status_code == 201
    rev = db.session.scalar(sa.select(Revocation))
    assert (rev.reason, rev.revoked_date) == ("objection_upheld", date(2026, 10, 9))


def test_spec9_handler_proposes_a_correction_on_the_objection_page_and_a_reviewer_confirms(world, clock, client,
                                                                                          app):
    clock.set(date(2026, 10, 9))
    login(client, world.handler)
    page = client.get(f"/objections/{world.objection.id}").get_data(as_text=True)
    form = page.split('id="propose-result"')[1].split("</form>")[0]
    assert 'value="correct"' in form and 'name="occurred_date"' in form and 'name="evidence"' in form
    token = csrf_token(client)
    # bad input comes back on the page, fields marked, nothing saved
    resp = client.post(f"/objections/{world.objection.id}/proposal", data={
        "csrf_token": token, "outcome": "upheld", "reasons": "核实", "effect": "correct"})
    assert resp.status_code == 422 and "field-error" in resp.get_data(as_text=True)
    assert _count(ObjectionProposal) == 0
    resp = client.post(f"/objections/{world.objection.id}/proposal", data={
        "csrf_token": token, "outcome": "upheld", "reasons": "核实", "effect": "correct",
        "occurred_date": "2026-09-10", "facts": "", "evidence": (io.BytesIO(PNG), "缴费记录.png")},
        content_type="multipart/form-data")
    assert resp.status_code == 302
    # the handler cannot confirm their own proposal
    resp = client.post(f"/objections/{world.objection.id}/decision", data={"csrf_token": token,
                                                                           "decision": "confirmed"})
    assert resp.status_code == 403
    assert 'data-effect="correct"' in client.get(f"/objections/{world.objection.id}").get_data(as_text=True)
    client = app.test_client()
    login(client, world.reviewer)
    page = client.get(f"/records/{world.record.id}").get_data(as_text=True)
    assert "/corrections/" not in page.split('id="corrections"')[1].split("</section>")[0]  # not decided here
    resp = client.post(f"/objections/{world.objection.id}/decision", data={"csrf_token": csrf_token(client),
                                                                           "decision": "confirmed", "note": ""})
    assert resp.status_code == 302
    db.session.expire_all()
    record = db.session.get(Record, world.record.id)
    assert (record.occurred_date, record.facts) == (date(2026, 9, 10), FACTS)  # empty facts keep the current ones
    assert appeals.status_of(db.session.get(appeals.Objection, world.objection.id)) == "upheld"
