"""The lists over HTTP: credit check (HB 六 查询信用状况), orders, procedures, steps, watch list, what is due."""
from __future__ import annotations

import io
import re
from datetime import date

import sqlalchemy as sa

from housingcredit.audit.models import AuditEntry
from housingcredit.extensions import db
from housingcredit.lists.models import CreditCheck, RectificationOrder
from tests import factories

from .helpers import PDF, Staff, confirm_on, procedures


def _check_logs():
    return db.session.scalars(sa.select(CreditCheck).order_by(CreditCheck.id)).all()


def _text(resp) -> str:
    """The visible text of a page, tags dropped and white space folded, to assert what a reader sees."""
    html = re.sub(r"(?s)<(script|style|head)\b.*?</\1>", " ", resp.get_data(as_text=True))
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_hb_six_credit_check_answers_tier_lists_measures_and_logs(app, clock, api_client):
    staff = Staff("420100")
    h = factories.make_household("420102")
    id_number = h.head.id_number
    confirm_on(clock, staff, h, "HB06", date(2026, 6, 1))  # moderate: tier moderate, on the watch list
    api = api_client(staff.caseworker)
    resp = api.get(f"/api/v1/credit-check?id_number={id_number}&business=allocation&purpose=配租审核")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert (body["found"], body["score"], body["tier"]) == (True, 85, "moderate")
    assert body["watch"] == {"start_date": "2026-06-01", "until_date": "2027-06-01", "last_day": "2027-06-01"}
    assert (body["scope"], body["conclusion"], body["region_code"]) == ("full", "may_proceed", "420102")
    codes = {m["code"]: m for m in body["measures"]}
    assert {"written_warning", "quarterly_inspection", "no_swap_or_upgrade"} <= set(codes)  # SPEC §8
    assert codes["written_warning"]["clause"] == "HB 六 (发出警示)"
    assert sorted(codes["written_warning"]["basis"]) == ["tier", "watch"]
    assert body["suspended"] is False and not any(m["suspended"] for m in body["measures"])
    assert id_number not in resp.get_data(as_text=True)  # masked in the answer
    (log,) = _check_logs()
    assert (log.user_id, log.business, log.purpose, log.tier, log.household_id) == (
        staff.caseworker.id, "allocation", "配租审核", "moderate", h.id)
    assert log.id_number_masked == id_number[:6] + "********" + id_number[-4:]
    audit = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "credit.check"))
    assert audit.household_id == h.id and id_number not in str(audit.after)


def test_hb_six_credit_check_of_a_listed_household_applies_the_punishment_measures(app, clock, api_client):
    staff = Staff("420100")
    h = factories.make_household("420102")
    clock.set(date(2026, 3, 2))
    from housingcredit.lists import service
    service.open_procedure(h.id, "administrative_penalty", "江岸区住房保障局行政处罚决定书", ("d.pdf", PDF),
                           staff.caseworker)
    db.session.commit()
    from .helpers import run_jobs_on
    run_jobs_on(clock, date(2026, 3, 10))  # O + 6 working days: publicity
    run_jobs_on(clock, date(2026, 3, 19))  # O + 13 working days: listed
    api = api_client(staff.reviewer)
    body = api.get(f"/api/v1/credit-check?id_number={h.head.id_number}&business=renewal&purpose=续租").get_json()
    assert body["listed"] is True and body["tier"] == "good"
    assert body["procedure"]["state"] == "listed" and body["listing"]["listed_date"] == "2026-03-19"
    assert body["listing"]["listed_through"] == "2029-03-19"
    assert body["conclusion"] == "restricted"  # recovery (HB 六(一)(四)) restricts renewal
    assert {"no_new_application", "joint_punishment", "market_rent"} <= {m["code"] for m in body["measures"]}


def test_hb_six_credit_check_bad_checksum_is_422(app, api_client):
    staff = Staff("420100")
    good = factories.id_number("420102")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    resp = api_client(staff.caseworker).get(f"/api/v1/credit-check?id_number={bad}&business=application&purpose=申请")
    assert resp.status_code == 422
    assert "id_number" in resp.get_json()["errors"]
    resp = api_client(staff.caseworker).get(f"/api/v1/credit-check?id_number={good}&business=lottery&purpose=x")
    assert resp.status_code == 422 and "business" in resp.get_json()["errors"]


def test_hb_six_credit_check_page_for_the_service_desk(app, clock, client, login_as):
    staff = Staff("420100")
    h = factories.make_household("420102")
    confirm_on(clock, staff, h, "HB06", date(2026, 6, 1))  # moderate: 85, on the watch list
    clock.set(date(2026, 6, 15))
    login_as(staff.caseworker)
    page = client.get("/credit-check")
    assert page.status_code == 200 and 'name="id_number"' in page.get_data(as_text=True)
    token = factories.csrf_token(client)
    resp = client.post("/credit-check", data={"csrf_token": token, "id_number": h.head.id_number,
                                              "business": "allocation", "purpose": "配租"})
    assert resp.status_code == 200
    text = _text(resp)
    masked = h.head.id_number[:6] + "********" + h.head.id_number[-4:]
    assert h.archive_no in text and masked in text and h.head.id_number not in resp.get_data(as_text=True)
    assert "信用分 85" in text and "中度失信" in text and "配租" in text
    assert "自 2026-06-01 至 2027-06-01" in text  # the watch entry with both dates
    for measure in ("书面警示", "每季度入户巡查", "期内不予调换、升级住房"):
        assert measure in text
    resp = client.post("/credit-check", data={"csrf_token": token, "id_number": "123", "business": "allocation"})
    assert resp.status_code == 422
    assert len(_check_logs()) == 1


def test_hb_six_orders_and_compliance_over_the_api(app, clock, api_client):
    staff = Staff("420100")
    h = factories.make_household("420102")
    api = api_client(staff.caseworker)
    resp = api.post(f"/api/v1/households/{h.id}/orders",
                    json={"ground": "use_change", "deadline": "2026-06-30", "requirement": "恢复原状"})
    assert resp.status_code == 201, resp.get_json()
    order = resp.get_json()
    assert (order["status"], order["clause"]) == ("open", "HB 六(二)")
    assert api.post(f"/api/v1/households/{h.id}/orders", json={"ground": "use_change"}).status_code == 422
    resp = api.post(f"/api/v1/orders/{order['id']}/compliance", json={"complied_date": "2026-06-15"})
    assert resp.status_code == 201 and resp.get_json()["status"] == "complied"
    assert api.post(f"/api/v1/orders/{order['id']}/compliance",
                    json={"complied_date": "2026-06-15"}).status_code == 409
    listing = api.get(f"/api/v1/households/{h.id}/orders").get_json()
    assert [o["status"] for o in listing] == ["complied"]
    outsider = api_client(factories.make_user("caseworker", "420600"))
    assert outsider.get(f"/api/v1/households/{h.id}/orders").status_code == 404
    assert api.post("/api/v1/orders/99999/compliance", json={"complied_date": "2026-06-15"}).status_code == 404


def test_hb_six_procedure_from_a_judgment_over_the_api_with_steps(app, clock, api_client):
    staff = Staff("420100")
    h = factories.make_household("420102")
    api = api_client(staff.caseworker)
    resp = api.post(f"/api/v1/households/{h.id}/procedures",
                    data={"route": "criminal_penalty", "basis": "刑事判决书"}, content_type="multipart/form-data")
    assert resp.status_code == 422 and "document" in resp.get_json()["errors"]
    resp = api.post(f"/api/v1/households/{h.id}/procedures", content_type="multipart/form-data",
                    data={"route": "criminal_penalty", "basis": "刑事判决书",
                          "document": (io.BytesIO(PDF), "judgment.pdf")})
    assert resp.status_code == 201, resp.get_json()
    p = resp.get_json()
    assert (p["state"], p["evidence_id"] is not None) == ("opened", True)
    # O = 2026-06-15 (Mon); 2026-06-19 (Fri) is the Dragon Boat Festival: O + 5 working days = 06-23
    assert (p["opened_date"], p["response_due"]) == ("2026-06-15", "2026-06-23")
    resp = api.post(f"/api/v1/procedures/{p['id']}/steps", json={"step": "publicity"})
    assert resp.status_code == 409
    assert "2026-06-24" in resp.get_json()["message"]  # publicity from O + 6 working days
    clock.set(date(2026, 6, 24))
    resp = api.post(f"/api/v1/procedures/{p['id']}/steps", json={"step": "publicity"})
    assert resp.status_code == 201 and resp.get_json()["state"] == "publicity"
    assert api.post(f"/api/v1/procedures/{p['id']}/steps", json={"step": "opened"}).status_code == 422
    steps = api.get(f"/api/v1/households/{h.id}/procedures").get_json()[0]["steps"]
    assert [s["step"] for s in steps] == ["opened", "publicity"]


def test_hb_six_watch_list_and_due_for_the_region(app, clock, api_client):
    staff = Staff("420100")
    wuhan = factories.make_household("420102")
    yichang = factories.make_household("420602")
    yichang_staff = Staff("420600")
    confirm_on(clock, staff, wuhan, "HB06", date(2025, 6, 18))  # its period ends 2026-06-18: due this week
    confirm_on(clock, yichang_staff, yichang, "HB01", date(2026, 6, 1))
    clock.set(date(2026, 6, 15))
    api = api_client(staff.caseworker)
    rows = api.get("/api/v1/watch-list").get_json()
    assert [r["household_id"] for r in rows] == [wuhan.id]
    assert api.get("/api/v1/watch-list?status=ended").get_json() == []
    assert api.get("/api/v1/watch-list?region=420600").status_code == 403
    assert api.get("/api/v1/watch-list?status=maybe").status_code == 422
    due = api.get("/api/v1/due").get_json()
    assert [w["household_id"] for w in due["watch_ending"]] == [wuhan.id]
    province = api_client(factories.make_user("supervisor", "420000"))
    assert len(province.get("/api/v1/watch-list?status=active").get_json()) == 2


def test_hb_six_pages_render_for_staff(app, clock, client, login_as):
    staff = Staff("420100")
    h = factories.make_household("420102")
    confirm_on(clock, staff, h, "HB06", date(2026, 6, 1))
    clock.set(date(2026, 6, 15))
    login_as(staff.caseworker)
    watch = _text(client.get("/watch"))
    # the row: archive, masked head (张三丰 → 张*丰), district, both dates, in force
    assert f"{h.archive_no} 张*丰 江岸区 2026-06-01 2027-06-01 在名单中" in watch
    filtered = _text(client.get("/watch?status=active&reason=expired"))
    assert h.archive_no not in filtered and "没有符合条件的重点关注名单记录" in filtered
    due = _text(client.get("/due"))
    assert "到期事项 · 2026-06-15" in due and h.archive_no not in due  # its period ends 2027-06-01
    lists = _text(client.get(f"/households/{h.id}/lists"))
    assert "信用分 85 中度失信" in lists and "自 2026-06-01 至 2027-06-01" in lists
    for measure in ("书面警示 (湖北意见 六 (发出警示))", "每季度入户巡查", "期内不予调换、升级住房"):
        assert measure in lists
    assert client.get("/watch?status=bogus").status_code == 422
    token = factories.csrf_token(client)
    resp = client.post(f"/households/{h.id}/orders", data={
        "csrf_token": token, "order-ground": "ineligible", "order-deadline": "2026-06-30",
        "order-requirement": "退出公租房", "next": f"/households/{h.id}/lists"})
    assert resp.status_code == 303
    page = client.get(f"/households/{h.id}/lists").get_data(as_text=True)
    assert "退出公租房" in page
    resp = client.post(f"/households/{h.id}/procedures", data={
        "csrf_token": token, "proc-route": "court_judgment", "proc-basis": "民事判决",
        "proc-document": (io.BytesIO(PDF), "j.pdf")}, content_type="multipart/form-data")
    assert resp.status_code == 303
    assert len(procedures(h.id)) == 1


def test_spec_1_a_household_sees_its_own_lists_only(app, clock, client, login_as):
    staff = Staff("420100")
    own = factories.make_household("420102")
    other = factories.make_household("420102", head_name="李四")
    confirm_on(clock, staff, own, "HB06", date(2026, 6, 1))
    login_as(factories.make_household_user(own))
    page = client.get(f"/households/{own.id}/lists")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "2027-06-01" in text and "csrf_token" in text  # its watch period; no action forms for a household
    assert f'action="/households/{own.id}/orders"' not in text
    assert client.get(f"/households/{other.id}/lists").status_code == 404
    assert client.get("/watch").status_code == 403


def test_hb_six_a_rejected_order_form_keeps_what_was_typed(app, clock, client, login_as):
    staff = Staff("420100")
    h = factories.make_household("420102")
    login_as(staff.caseworker)
    token = factories.csrf_token(client)
    resp = client.post(f"/households/{h.id}/orders", data={  # a deadline before today (2026-06-15) is refused
        "csrf_token": token, "order-ground": "ineligible", "order-deadline": "2026-01-05",
        "order-requirement": "限期退出公租房并补缴租金", "next": f"/households/{h.id}/lists"})
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "限期退出公租房并补缴租金" in page and 'value="2026-01-05"' in page
    assert "<details open>" in page
    assert db.session.scalar(sa.select(sa.func.count(RectificationOrder.id))) == 0  # nothing half-written
