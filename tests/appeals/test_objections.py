"""Objections (异议, HB 七; SPEC §4, §8, §9): filing, due dates on the working-day calendar, suspension in the credit
check, the decision with two people, revocation `objection_upheld`, restoration, written results, repeats."""
from __future__ import annotations

import io
from datetime import date

import pytest
import sqlalchemy as sa

from housingcredit.accounts.models import User
from housingcredit.appeals import service as appeals
from housingcredit.appeals.models import Restoration
from housingcredit.appeals.schemas import ObjectionOut
from housingcredit.audit.models import AuditEntry
from housingcredit.errors import DomainError
from housingcredit.extensions import db
from housingcredit.notices.models import Notice
from housingcredit.platform.models import OutboxEvent
from housingcredit.records.models import Revocation
from housingcredit.scoring.models import CreditState
from housingcredit.errors import NotFound
from tests.conftest import login
from tests.factories import csrf_token, make_household, make_household_user, make_user
from tests.records.helpers import PDF, PNG, confirm, make_record


@pytest.fixture
def world(app, clock):
    """A Wuhan household with a household login, a recorder, a second caseworker and a reviewer."""
    household = make_household("420102")
    home = make_household_user(household)
    recorder = make_user("caseworker", "420100")
    reviewer = make_user("reviewer", "420100")
    clock.set(date(2026, 9, 14))
    record = make_record(household, recorder, "HB06", occurred=date(2026, 9, 11))  # moderate: 85
    confirm(record, reviewer)
    return type("World", (), dict(household=household, home=home, recorder=recorder, reviewer=reviewer,
                                  record=record))


class _Answer:
    def __init__(self, status_code, body):
        self.status_code, self._body = status_code, body

    def get_json(self):
        return self._body


def _file(api_client, who, household, record, files=(("缴费凭证.pdf", PDF),), **extra):
    """Staff file through the API (multipart); a household, which has no API token, through the service its page
    calls (the page itself is tested below)."""
    data = {"record_id": str(record.id), "reason": "租金已于催缴前结清，附缴费凭证。", **extra}
    if who.role.value == "household":
        try:
            o = appeals.file_objection(household.id, data, list(files), who)
        except DomainError as err:
            db.session.rollback()
            return _Answer(err.status, {"errors": err.errors})
        db.session.commit()
        return _Answer(201, ObjectionOut().dump(o))
    data["materials"] = [(io.BytesIO(content), name) for name, content in files]
    return api_client(who).post(f"/api/v1/households/{household.id}/objections", data=data,
                                content_type="multipart/form-data")


def _check(api_client, who, household):
    return api_client(who).get("/api/v1/credit-check", query_string={
        "id_number": household.head.id_number, "business": "swap", "purpose": "调换申请"}).get_json()


def test_hb_seven_spec9_objection_due_across_national_day_2026(world, clock, api_client):
    clock.set(date(2026, 9, 28))
    resp = _file(api_client, world.home, world.household, world.record)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    # F + 10 working days: Sep 29, 30, Oct 8, 9, 10 (adjusted working Saturday), 12, 13, 14, 15, 16
    assert (body["filed_date"], body["due_date"], body["status"]) == ("2026-09-28", "2026-10-16", "pending")
    assert body["at_counter"] is False and body["repeat"] is False and len(body["materials"]) == 1
    handler = db.session.get(User, body["handler_id"])
    assert handler.role.value == "caseworker" and handler.id != world.recorder.id
    assert db.session.scalar(sa.select(AuditEntry.action).where(AuditEntry.action == "objection.file"))


def test_spec9_counter_registration_uses_the_received_date_across_the_working_sunday(world, clock, api_client):
    clock.set(date(2026, 9, 22))
    counter = make_user("caseworker", "420102")
    resp = _file(api_client, counter, world.household, world.record, received_date="2026-09-11")
    assert resp.status_code == 422 and "received_date" in resp.get_json()["errors"]  # before the determination
    resp = _file(api_client, counter, world.household, world.record, received_date="2026-09-17")
    body = resp.get_json()
    assert resp.status_code == 201 and body["at_counter"] is True and body["filed_date"] == "2026-09-17"
    # Sep 18, 20 (adjusted working Sunday), 21, 22, 23, 24, (25 Mid-Autumn) 28, 29, 30, Oct 8
    assert body["due_date"] == "2026-10-08"
    assert _file(api_client, counter, world.household, world.record, received_date="2026-09-30").status_code == 422


def test_spec9_one_pending_objection_per_item_and_bad_input_writes_nothing(world, clock, api_client):
    clock.set(date(2026, 9, 28))
    resp = _file(api_client, world.home, world.household, world.record, files=(("x.exe", b"MZ\x90\x00"),))
    assert resp.status_code == 422 and "materials" in resp.get_json()["errors"]
    resp = api_client(make_user("caseworker", "420102")).post(
        f"/api/v1/households/{world.household.id}/objections", json={"reason": "x"})
    assert resp.status_code == 422 and {"record_id", "received_date"} <= set(resp.get_json()["errors"])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(appeals.Objection)) == 0
    assert _file(api_client, world.home, world.household, world.record).status_code == 201
    assert _file(api_client, world.home, world.household, world.record).status_code == 409


def test_hb_seven_spec8_credit_check_before_during_and_after_a_rejected_objection(world, clock, api_client):
    checker = make_user("caseworker", "420100")
    clock.set(date(2026, 9, 25))
    before = _check(api_client, checker, world.household)
    assert before["tier"] == "moderate" and before["measures"]
    assert not any(m["suspended"] for m in before["measures"])
    clock.set(date(2026, 9, 28))
    oid = _file(api_client, world.home, world.household, world.record).get_json()["id"]
    during = _check(api_client, checker, world.household)
    assert during["tier"] == "moderate"  # the score still counts it
    assert {m["code"] for m in during["measures"]} == {m["code"] for m in before["measures"]}
    assert all(m["suspended"] and set(m["suspended_by"]) == {f"objection:{oid}"}
               for m in during["measures"]), during["measures"]
    o = db.session.get(appeals.Objection, oid)
    handler = db.session.get(User, o.handler_id)
    clock.set(date(2026, 10, 9))
    assert api_client(handler).post(f"/api/v1/objections/{oid}/proposal",
                                    json={"outcome": "rejected", "reasons": "凭证日期晚于催缴"}).status_code == 201
    clock.set(date(2026, 10, 12))
    still = _check(api_client, checker, world.household)
    assert all(m["suspended"] for m in still["measures"])  # a proposal decides nothing
    resp = api_client(world.reviewer).post(f"/api/v1/objections/{oid}/decision", json={"decision": "confirmed"})
    assert resp.status_code == 201 and resp.get_json()["status"] == "rejected"
    assert resp.get_json()["decided_date"] == "2026-10-12"
    after = _check(api_client, checker, world.household)
    assert after["measures"] and not any(m["suspended"] for m in after["measures"])  # apply again on J
    notice = db.session.scalar(sa.select(Notice).where(Notice.kind == "objection_result"))
    assert notice.issued_date == date(2026, 10, 12) and "驳回" in notice.body
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Revocation)) == 0


def test_hb_seven_spec8_suspension_covers_the_disputed_items_measures_only(world, clock, api_client):
    """SPEC §8: from the filing to the decision, only the measures the disputed item alone brings are suspended —
    the tier's measures in force are the tier's without it. A mild record beside the moderate one: objecting to
    the mild one suspends nothing (the moderate record still makes the tier); objecting to the moderate one
    suspends the moderate tier's measures while the mild tier's apply."""
    checker = make_user("caseworker", "420100")
    mild = make_record(world.household, world.recorder, "HB08", occurred=date(2026, 9, 11))
    confirm(mild, world.reviewer)  # 100 − 15 − 5 = 80: still moderate
    clock.set(date(2026, 9, 25))
    before = _check(api_client, checker, world.household)
    codes = lambda answer, suspended: {m["code"] for m in answer["measures"] if m["suspended"] is suspended}  # noqa: E731
    assert before["tier"] == "moderate" and codes(before, True) == set()
    clock.set(date(2026, 9, 28))
    assert _file(api_client, world.home, world.household, mild).status_code == 201
    during_mild = _check(api_client, checker, world.household)
    assert codes(during_mild, True) == set() and codes(during_mild, False) == codes(before, False)
    assert _file(api_client, world.home, world.household, world.record).status_code == 201
    during = _check(api_client, checker, world.household)
    # without the moderate record the household would be mild (95): the moderate tier's own measures are
    # suspended, the mild tier's are in force
    assert codes(during, True) == codes(before, False) - codes(during, False)
    assert codes(during, True) and codes(during, True) <= {"written_warning", "quarterly_inspection",
                                                           "no_swap_or_upgrade"}
    assert during["conclusion"] == "may_proceed"  # swap is no longer restricted while it is verified
    assert before["conclusion"] == "restricted"


def test_spec4_spec9_two_people_handler_and_recorder_cannot_confirm(world, clock, api_client):
    clock.set(date(2026, 9, 28))
    body = _file(api_client, world.home, world.household, world.record).get_json()
    oid, handler = body["id"], db.session.get(User, body["handler_id"])
    other = make_user("caseworker", "420100")
    if other.id == handler.id:
        other = make_user("caseworker", "420100")
    resp = api_client(other).post(f"/api/v1/objections/{oid}/proposal", json={"outcome": "upheld", "reasons": "x"})
    assert resp.status_code == 403  # only the handler proposes (assigned and locked)
    assert api_client(handler).post(f"/api/v1/objections/{oid}/decision",
                                    json={"decision": "confirmed"}).status_code == 403  # nothing to decide as handler
    assert api_client(handler).post(f"/api/v1/objections/{oid}/proposal",
                                    json={"outcome": "upheld", "reasons": "凭证属实"}).status_code == 201
    supervisor = make_user("supervisor", "420000")
    for who in (handler, world.recorder):
        resp = api_client(who).post(f"/api/v1/objections/{oid}/decision", json={"decision": "confirmed"})
        assert resp.status_code == 403
    # a supervisor who recorded the behaviour is bound too: here the supervisor is neither, and may confirm
    assert api_client(supervisor).post(f"/api/v1/objections/{oid}/decision",
                                       json={"decision": "confirmed"}).status_code == 201


def test_spec9_upheld_objection_revokes_with_objection_upheld_restores_and_notifies(world, clock, api_client):
    clock.set(date(2026, 9, 28))
    body = _file(api_client, world.home, world.household, world.record).get_json()
    oid, handler = body["id"], db.session.get(User, body["handler_id"])
    api_client(handler).post(f"/api/v1/objections/{oid}/proposal", json={"outcome": "upheld", "reasons": "凭证属实"})
    clock.set(date(2026, 10, 14))
    resp = api_client(world.reviewer).post(f"/api/v1/objections/{oid}/decision", json={"decision": "confirmed"})
    assert resp.status_code == 201 and resp.get_json()["status"] == "upheld"
    rev = db.session.scalar(sa.select(Revocation).where(Revocation.record_id == world.record.id))
    assert (rev.reason, rev.revoked_date) == ("objection_upheld", date(2026, 10, 14))
    assert db.session.get(CreditState, world.household.id).score == 100  # recomputed at once
    restoration = db.session.scalar(sa.select(Restoration).where(Restoration.objection_id == oid))
    assert restoration.restored_date == date(2026, 10, 14)
    kinds = {n.kind for n in db.session.scalars(sa.select(Notice).where(Notice.household_id == world.household.id))}
    assert {"objection_result", "revocation", "restoration"} <= kinds
    events = [e.kind for e in db.session.scalars(sa.select(OutboxEvent).order_by(OutboxEvent.seq))]
    assert "record.revoked" in events and "credit.restored" in events
    assert appeals.objection_facts(world.household.id) == (appeals.ObjectionFact(
        id=oid, filed=date(2026, 9, 28), record_id=world.record.id, decided=date(2026, 10, 14), outcome="upheld"),)


def test_spec9_confirmed_revocation_of_a_record_that_counted_restores_notifies_and_pushes(world, clock):
    """恢复信誉 after a revocation decision (SPEC §4, §9): the record counted from its determination, so its
    tier's measures had applied; confirmed revocation → a restoration kept, the household notified, the platform
    told (status `restored`). A record revoked on its determination day never counted: no restoration."""
    from housingcredit.platform.payload import build
    from tests.records.helpers import revoke
    proposer = make_user("caseworker", "420100")
    clock.set(date(2026, 10, 12))
    revoke(world.record, proposer, world.reviewer, reason="error", note="登记错误")
    rev = db.session.scalar(sa.select(Revocation).where(Revocation.record_id == world.record.id))
    restoration = db.session.scalar(sa.select(Restoration).where(Restoration.revocation_id == rev.id))
    assert (restoration.restored_date, restoration.objection_id, restoration.household_id) == (
        date(2026, 10, 12), None, world.household.id)
    notice = db.session.scalar(sa.select(Notice).where(Notice.kind == "restoration",
                                                       Notice.household_id == world.household.id))
    assert notice.ref_type == "revocation" and "2026-10-12" in notice.body
    pushed = db.session.scalar(sa.select(OutboxEvent).where(OutboxEvent.kind == "credit.restored"))
    message = build(pushed)
    assert (message["status"], message["status_date"], message["source_ref"]) == (
        "restored", "2026-10-12", f"record:{world.record.id}")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "revocation.restore")) == 1
    # revoked on its determination day: it never counted, nothing to restore
    same_day = make_record(world.household, world.recorder, "HB08", occurred=date(2026, 10, 9))
    confirm(same_day, world.reviewer)
    revoke(same_day, proposer, world.reviewer)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Restoration)) == 1


def test_spec9_repeat_after_rejection_needs_new_materials_and_suspends_nothing(world, clock, api_client):
    checker = make_user("caseworker", "420100")
    clock.set(date(2026, 9, 28))
    body = _file(api_client, world.home, world.household, world.record).get_json()
    oid, handler = body["id"], db.session.get(User, body["handler_id"])
    api_client(handler).post(f"/api/v1/objections/{oid}/proposal", json={"outcome": "rejected", "reasons": "不成立"})
    clock.set(date(2026, 10, 9))
    api_client(world.reviewer).post(f"/api/v1/objections/{oid}/decision", json={"decision": "confirmed"})
    clock.set(date(2026, 10, 12))
    resp = _file(api_client, world.home, world.household, world.record)  # the same file again
    assert resp.status_code == 422 and "materials" in resp.get_json()["errors"]
    resp = _file(api_client, world.home, world.household, world.record, files=(("新凭证.png", PNG),))
    assert resp.status_code == 201 and resp.get_json()["repeat"] is True
    assert not any(m["suspended"] for m in _check(api_client, checker, world.household)["measures"])


def test_spec9_household_cannot_see_or_act_on_another_households_objection(world, clock, api_client, client):
    clock.set(date(2026, 9, 28))
    oid = _file(api_client, world.home, world.household, world.record).get_json()["id"]
    other = make_household("420102", head_name="李四")
    stranger = make_household_user(other)
    login(client, stranger)
    assert client.get(f"/objections/{oid}").status_code == 404
    assert client.get(f"/households/{world.household.id}/objections/new").status_code == 404
    assert oid not in [o.id for o in appeals.objections_for(other.id, stranger)]
    with pytest.raises(NotFound):
        appeals.get_objection(oid, stranger)
    with pytest.raises(NotFound):
        appeals.file_objection(world.household.id, {"record_id": world.record.id, "reason": "x"}, [], stranger)
    with pytest.raises(NotFound):
        appeals.objections_for(world.household.id, stranger)
    for url in (f"/objections/{oid}/proposal", f"/objections/{oid}/decision"):
        assert client.post(url, data={"csrf_token": csrf_token(client)}).status_code in (403, 404)
    # staff of another region do not see it
    assert api_client(make_user("caseworker", "420500")).get(f"/api/v1/objections/{oid}").status_code == 404
    assert api_client(world.reviewer).get(f"/api/v1/objections/{oid}").status_code == 200


def test_spec9_staff_see_open_objections_earliest_due_first_and_household_pages(world, clock, api_client,
                                                                                 login_as, client):
    clock.set(date(2026, 9, 28))
    second = make_record(world.household, world.recorder, "HB07", occurred=date(2026, 9, 25))
    confirm(second, world.reviewer)
    late = _file(api_client, world.home, world.household, second).get_json()["id"]
    counter = make_user("caseworker", "420102")
    early = _file(api_client, counter, world.household, world.record, received_date="2026-09-17").get_json()["id"]
    listed = api_client(world.reviewer).get("/api/v1/objections").get_json()
    assert [o["id"] for o in listed] == [early, late]
    login_as(world.home)
    page = client.get("/my/objections")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "2026-10-16" in html and "2026-10-08" in html and "HB06" not in html and "核实中" in html
    assert client.get("/my/objections/new").status_code == 200
