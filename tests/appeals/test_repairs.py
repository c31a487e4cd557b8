"""Credit repair (信用修复, HB 七; LN 第十一–十三条; SPEC §4, §9): the conditions checked before submission, the
minimum period, the non-intentional path, the one notice of what is missing, the extension once, the decision with
two people and its effect on the record."""
from __future__ import annotations

import io
from datetime import date

import pytest
import sqlalchemy as sa

from housingcredit.accounts.models import User
from housingcredit.appeals import repairs
from housingcredit.appeals.schemas import RepairApplicationOut
from housingcredit.errors import DomainError
from housingcredit.extensions import db
from housingcredit.notices.models import Notice
from housingcredit.records.models import RecordRepair
from housingcredit.scoring.models import CreditState
from tests.factories import make_household, make_household_user, make_user
from tests.records.helpers import PDF, confirm, make_record


@pytest.fixture
def world(app, clock):
    """A Wuhan household with a moderate record (HB06, 15 points) determined on 2026-01-15."""
    household = make_household("420102")
    home = make_household_user(household)
    recorder = make_user("caseworker", "420100")
    handler = make_user("caseworker", "420100")
    reviewer = make_user("reviewer", "420100")
    clock.set(date(2026, 1, 15))
    record = make_record(household, recorder, "HB06", occurred=date(2026, 1, 12))
    confirm(record, reviewer)
    return type("World", (), dict(household=household, home=home, recorder=recorder, handler=handler,
                                  reviewer=reviewer, record=record))


class _Answer:
    def __init__(self, status_code, body):
        self.status_code, self._body = status_code, body

    def get_json(self):
        return self._body


FULL = {"declaration": "欠缴租金已于2026年3月全部补缴，并签订按月缴费承诺。", "commitment_signed": "true"}


def _apply(world, files=(("补缴凭证.pdf", PDF),), **data):
    """The household applies from its page (the service its page calls)."""
    body = {"record_id": str(world.record.id), **data}
    try:
        a = repairs.apply(world.household.id, body, list(files), [], world.home)
    except DomainError as err:
        db.session.rollback()
        return _Answer(err.status, {"errors": err.errors, "message": str(err.message)})
    db.session.commit()
    return _Answer(201, RepairApplicationOut().dump(a))


def _staff(api_client, aid):
    """A client for the application's handler (assigned at filing and locked)."""
    return api_client(db.session.get(repairs.RepairApplication, aid).handler)


def _score(household):
    return db.session.get(CreditState, household.id).score


def test_ln_eleven_repair_refused_before_the_minimum_period_and_accepted_from_its_first_day(
        world, clock, api_client):
    staff = api_client(world.handler)
    clock.set(date(2026, 4, 15))
    check = staff.post(f"/api/v1/households/{world.household.id}/repairs/check",
                       json={"record_id": world.record.id, **FULL})
    assert check.status_code == 200
    body = check.get_json()
    # moderate: 3 months from the determination 2026-01-15 → met from the day after 2026-04-15
    assert body["ok"] is False and body["repairable_from"] == "2026-04-16"
    assert set(body["missing"]) == {"record_id", "materials"}
    resp = _apply(world, **FULL)
    assert resp.status_code == 422 and "2026-04-16" in resp.get_json()["errors"]["record_id"][0]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(repairs.RepairApplication)) == 0

    clock.set(date(2026, 4, 16))
    resp = _apply(world, **FULL)
    assert resp.status_code == 201, resp.get_json()
    a = resp.get_json()
    # R + 3 working days: Apr 17, 20, 21
    assert (a["status"], a["received_date"], a["acceptance_due"]) == ("submitted", "2026-04-16", "2026-04-21")
    handler = db.session.get(User, a["handler_id"])
    assert handler.role.value == "caseworker" and handler.id != world.recorder.id  # never the recorder
    staff = api_client(handler)
    assert staff.post(f"/api/v1/repairs/{a['id']}/acceptance").status_code == 201
    resp = staff.post(f"/api/v1/repairs/{a['id']}/proposal", json={"outcome": "granted", "reasons": "已整改"})
    assert resp.status_code == 201
    assert _score(world.household) == 85
    resp = api_client(world.reviewer).post(f"/api/v1/repairs/{a['id']}/decision", json={"decision": "confirmed"})
    assert resp.status_code == 201 and resp.get_json()["status"] == "granted"
    assert resp.get_json()["decided_date"] == "2026-04-16"
    rep = db.session.scalar(sa.select(RecordRepair).where(RecordRepair.record_id == world.record.id))
    assert rep.repaired_date == date(2026, 4, 16)
    assert _score(world.household) == 100
    kinds = set(db.session.scalars(sa.select(Notice.kind).where(Notice.household_id == world.household.id)))
    assert "repair_result" in kinds


def test_hb_seven_non_intentional_repair_early(world, clock, api_client):
    clock.set(date(2026, 2, 2))
    resp = _apply(world, non_intentional="因住院治疗未能按时缴租，出院后已全部补缴。", **FULL)
    assert resp.status_code == 201, resp.get_json()
    aid = resp.get_json()["id"]
    staff = _staff(api_client, aid)
    assert staff.post(f"/api/v1/repairs/{aid}/acceptance").status_code == 201
    # before 2026-04-16 a grant needs the handler's judgement that it was not intentional, with a stated reason
    resp = staff.post(f"/api/v1/repairs/{aid}/proposal", json={"outcome": "granted", "reasons": "已补缴"})
    assert resp.status_code == 409
    resp = staff.post(f"/api/v1/repairs/{aid}/proposal", json={"outcome": "granted", "non_intentional": True})
    assert resp.status_code == 422 and "reasons" in resp.get_json()["errors"]
    resp = staff.post(f"/api/v1/repairs/{aid}/proposal", json={
        "outcome": "granted", "non_intentional": True, "reasons": "住院证明属实，非因主观故意。"})
    assert resp.status_code == 201 and resp.get_json()["non_intentional"] is True
    # two people: the handler cannot confirm their own proposal, nor can the recorder
    assert api_client(world.recorder).post(f"/api/v1/repairs/{aid}/decision",
                                           json={"decision": "confirmed"}).status_code == 403
    resp = api_client(world.reviewer).post(f"/api/v1/repairs/{aid}/decision", json={"decision": "confirmed"})
    assert resp.status_code == 201 and resp.get_json()["status"] == "granted"
    assert _score(world.household) == 100


def test_ln_thirteen_extension_only_once(world, clock, api_client):
    clock.set(date(2026, 6, 1))
    aid = _apply(world, **FULL).get_json()["id"]
    staff = _staff(api_client, aid)
    assert staff.post(f"/api/v1/repairs/{aid}/extension", json={"reason": "需核实"}).status_code == 409
    body = staff.post(f"/api/v1/repairs/{aid}/acceptance").get_json()
    # A + 7 working days: Jun 2, 3, 4, 5, 8, 9, 10
    assert (body["accepted_date"], body["decision_due"], body["extended"]) == ("2026-06-01", "2026-06-10", False)
    assert staff.post(f"/api/v1/repairs/{aid}/extension", json={}).status_code == 422
    resp = staff.post(f"/api/v1/repairs/{aid}/extension", json={"reason": "需向社区核实整改情况"})
    # A + 17: Jun 11, 12, 15, 16, 17, 18, (19 Dragon Boat) 22, 23, 24, 25
    assert resp.status_code == 201 and resp.get_json()["decision_due"] == "2026-06-25"
    resp = staff.post(f"/api/v1/repairs/{aid}/extension", json={"reason": "再次延长"})
    assert resp.status_code == 409
    assert api_client(world.reviewer).post(f"/api/v1/repairs/{aid}/extension",
                                           json={"reason": "x"}).status_code == 403
    # a refusal always states its reason
    assert staff.post(f"/api/v1/repairs/{aid}/proposal", json={"outcome": "refused"}).status_code == 422


def test_ln_thirteen_repair_deadlines_cross_national_day_2026_and_the_adjusted_working_days(world, clock, api_client):
    """The acceptance (R + 3) and decision (A + 7, A + 17 once extended) deadlines on the working-day calendar:
    across the 2026 National Day holiday (Oct 1–7), the adjusted working Saturday Oct 10 and the adjusted working
    Sunday Sep 20 — through the service the pages and the API use."""
    clock.set(date(2026, 9, 14))
    mild = make_record(world.household, world.recorder, "HB08", occurred=date(2026, 9, 11))
    confirm(mild, world.reviewer)
    clock.set(date(2026, 9, 29))
    resp = _apply(world, **FULL)
    assert resp.status_code == 201, resp.get_json()
    a = resp.get_json()
    # R = Sep 29: Sep 30, (Oct 1–7 holiday) Oct 8, Oct 9
    assert (a["received_date"], a["acceptance_due"]) == ("2026-09-29", "2026-10-09")
    staff = _staff(api_client, a["id"])
    clock.set(date(2026, 10, 9))
    body = staff.post(f"/api/v1/repairs/{a['id']}/acceptance").get_json()
    # A = Oct 9: Oct 10 (adjusted working Saturday), 12, 13, 14, 15, 16, 19
    assert (body["accepted_date"], body["decision_due"]) == ("2026-10-09", "2026-10-19")
    body = staff.post(f"/api/v1/repairs/{a['id']}/extension", json={"reason": "需核实"}).get_json()
    # A + 17: Oct 20, 21, 22, 23, 26, 27, 28, 29, 30, Nov 2
    assert body["decision_due"] == "2026-11-02"
    # a paper application received on Thursday Sep 17, registered at the counter later: R is the received date;
    # Sep 18, 20 (adjusted working Sunday), 21
    resp = staff.post(f"/api/v1/households/{world.household.id}/repairs", data={
        "record_id": str(mild.id), "received_date": "2026-09-17", **FULL,
        "materials": [(io.BytesIO(PDF), "证明.pdf")]}, content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_json()
    assert (resp.get_json()["received_date"], resp.get_json()["acceptance_due"]) == ("2026-09-17", "2026-09-21")


def test_ln_twelve_incomplete_application_gets_one_notice_listing_everything(world, clock, api_client):
    clock.set(date(2026, 6, 1))
    resp = _apply(world, files=())
    assert resp.status_code == 422
    assert set(resp.get_json()["errors"]) == {"declaration", "commitment", "materials"}
    aid = _apply(world, **FULL).get_json()["id"]
    staff = _staff(api_client, aid)
    resp = staff.post(f"/api/v1/repairs/{aid}/incomplete",
                      json={"missing": "1. 社区出具的整改证明；2. 近3个月缴租记录"})
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["status"] == "incomplete" and body["received_date"] is None
    assert staff.post(f"/api/v1/repairs/{aid}/incomplete", json={"missing": "再补"}).status_code == 409
    assert staff.post(f"/api/v1/repairs/{aid}/acceptance").status_code == 409
    notices = db.session.scalars(sa.select(Notice).where(Notice.kind == "repair_incomplete")).all()
    assert len(notices) == 1 and "社区出具的整改证明" in notices[0].body and "近3个月缴租记录" in notices[0].body
    clock.set(date(2026, 6, 3))
    a = repairs.complete(aid, {}, [("整改证明.pdf", PDF)], [], world.home)
    db.session.commit()
    view = repairs.view_of(a)
    # R becomes the day the materials are complete; acceptance due R + 3 working days: Jun 4, 5, 8
    assert (view.status, view.received, view.acceptance_due) == ("submitted", date(2026, 6, 3), date(2026, 6, 8))
    assert staff.post(f"/api/v1/repairs/{aid}/acceptance").status_code == 201
    assert len(db.session.scalars(sa.select(Notice).where(Notice.kind == "repair_incomplete")).all()) == 1


def test_spec9_a_household_cannot_reach_another_households_repair(world, clock, api_client):
    clock.set(date(2026, 6, 1))
    aid = _apply(world, **FULL).get_json()["id"]
    other = make_household_user(make_household("420102"))
    with pytest.raises(DomainError) as err:
        repairs.get_repair(aid, other)
    assert err.value.status == 404
    # at the counter: the received date is given, never before the determination nor in the future
    counter = api_client(make_user("caseworker", "420102"))
    for received in ("2026-01-14", "2026-06-02", None):
        body = {"record_id": world.record.id, **FULL}
        if received:
            body["received_date"] = received
        resp = counter.post(f"/api/v1/households/{world.household.id}/repairs", json=body)
        assert resp.status_code == 422 and "received_date" in resp.get_json()["errors"], received
    # staff of another region see nothing either
    assert api_client(make_user("caseworker", "420500")).get(f"/api/v1/repairs/{aid}").status_code == 404
    opened = _staff(api_client, aid).get("/api/v1/repairs").get_json()
    assert [o["id"] for o in opened] == [aid]


def test_spec9_household_checks_before_submission_and_follows_its_repair_on_its_pages(world, clock, client,
                                                                                      api_client):
    from tests.conftest import login
    from tests.factories import csrf_token
    clock.set(date(2026, 4, 15))
    login(client, world.home)
    assert client.get("/my/repairs/new").status_code == 200
    token = csrf_token(client)
    form = {"csrf_token": token, "record_id": str(world.record.id), "declaration": FULL["declaration"],
            "commitment_signed": "y"}
    page = client.post("/my/repairs/new", data={**form, "action": "check"}).get_data(as_text=True)
    assert 'data-field="record_id"' in page and 'data-field="materials"' in page and "2026-04-16" in page
    assert 'data-field="declaration"' not in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(repairs.RepairApplication)) == 0
    clock.set(date(2026, 4, 16))
    resp = client.post("/my/repairs/new", data={**form, "action": "submit",
                                                "materials": [(io.BytesIO(PDF), "补缴凭证.pdf")]},
                       content_type="multipart/form-data")
    assert resp.status_code == 302
    page = client.get("/my/repairs").get_data(as_text=True)
    assert 'data-status="submitted"' in page and "2026-04-21" in page
    a = db.session.scalar(sa.select(repairs.RepairApplication))
    assert client.get(f"/repairs/{a.id}").status_code == 302  # its own: shown on /my/repairs
    assert a.at_counter is False
    # the due page lists it with its deadline, the staff pages show it
    staff = make_user("caseworker", "420100")
    other = client.application.test_client()
    login(other, staff)
    page = other.get("/due").get_data(as_text=True)
    assert 'data-kind="repair"' in page and "2026-04-21" in page
    assert other.get(f"/repairs/{a.id}").status_code == 200 and other.get("/repairs").status_code == 200


def test_spec9_handler_and_reviewer_decide_on_the_repair_page(world, clock, client):
    from tests.conftest import login
    from tests.factories import csrf_token
    clock.set(date(2026, 6, 1))
    aid = _apply(world, **FULL).get_json()["id"]
    handler = db.session.get(repairs.RepairApplication, aid).handler
    login(client, handler)
    page = client.get(f"/repairs/{aid}").get_data(as_text=True)
    assert "2026-06-04" in page  # acceptance due R + 3 working days: Jun 2, 3, 4
    token = csrf_token(client)
    assert client.post(f"/repairs/{aid}/accept", data={"csrf_token": token}).status_code == 302
    assert client.post(f"/repairs/{aid}/proposal", data={"csrf_token": token, "outcome": "refused",
                                                         "reasons": ""}).status_code == 302
    assert not db.session.get(repairs.RepairApplication, aid).proposals  # a refusal needs its reason
    client.post(f"/repairs/{aid}/proposal", data={"csrf_token": token, "outcome": "refused",
                                                  "reasons": "未提交整改证明"})
    reviewer = client.application.test_client()
    login(reviewer, world.reviewer)
    assert reviewer.post(f"/repairs/{aid}/decision", data={"csrf_token": csrf_token(reviewer),
                                                           "decision": "confirmed"}).status_code == 302
    a = db.session.get(repairs.RepairApplication, aid)
    db.session.refresh(a)
    assert repairs.view_of(a).status == "refused" and _score(world.household) == 85
    notice = db.session.scalar(sa.select(Notice).where(Notice.kind == "repair_result"))
    assert "未提交整改证明" in notice.body


def test_ln_ten_catalogue_item_marked_not_repairable_is_refused_with_the_reason(world, clock, app, tmp_path):
    from pathlib import Path
    from housingcredit.rules import load_rules
    source = Path(app.root_path).parent / "config" / "rules" / "2018-12-01-hubei.yaml"
    text = source.read_text(encoding="utf-8")
    at = text.index("  - code: HB06")
    end = text.index("repairable: true", at)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / source.name).write_text(text[:end] + "repairable: false" + text[end + 16:],
                                                  encoding="utf-8")
    app.extensions["rules"] = load_rules(tmp_path / "rules")
    clock.set(date(2026, 6, 1))
    resp = _apply(world, **FULL)
    assert resp.status_code == 409, resp.get_json()
    assert resp.get_json()["message"] == "该行为在目录中标注为不可修复（LN 第十条），不能予以信用修复。"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(repairs.RepairApplication)) == 0


def _repair_clock_cases():
    from tests.test_conformance import CASES
    return [c for c in CASES if c["kind"] == "repair_clock"]


@pytest.mark.parametrize("case", _repair_clock_cases(), ids=lambda c: c["name"])
def test_ln_thirteen_golden_repair_clock_cases_through_the_service(app, clock, api_client, case):
    """Each repair_clock golden case through the real path: applied on R, accepted on A, extended once."""
    household = make_household("420102")
    home = make_household_user(household)
    recorder = make_user("caseworker", "420100")
    make_user("caseworker", "420100")  # the handler: a caseworker of the region other than the recorder
    clock.set(date(2026, 1, 15))
    record = make_record(household, recorder, "HB08", occurred=date(2026, 1, 12))  # mild: repairable at once
    confirm(record, make_user("reviewer", "420100"))
    clock.set(case["received"])
    a = repairs.apply(household.id, {"record_id": record.id, **FULL}, [("补缴凭证.pdf", PDF)], [], home)
    db.session.commit()
    assert repairs.view_of(a).acceptance_due == case["expect"]["acceptance_due"]
    clock.set(case["accepted"])
    staff = _staff(api_client, a.id)
    body = staff.post(f"/api/v1/repairs/{a.id}/acceptance").get_json()
    assert body["decision_due"] == case["expect"]["decision_due"].isoformat()
    body = staff.post(f"/api/v1/repairs/{a.id}/extension", json={"reason": "需核实"}).get_json()
    assert body["decision_due"] == case["expect"]["decision_due_extended"].isoformat()
