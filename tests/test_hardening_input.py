"""Hardening issue, input items: answers that were 500s become 4xx naming the field; validation gaps closed;
procedure documents downloadable by the staff who may read the procedure.

Many of these only failed on PostgreSQL (NUL characters, numbers beyond BIGINT): run with TEST_DATABASE_URL too.
"""
from __future__ import annotations

import io
import re
from datetime import date

import pytest
import sqlalchemy as sa

from housingcredit.archives import service as archives
from housingcredit.archives.models import Household
from housingcredit.audit.models import AuditEntry
from housingcredit.errors import InvalidInput
from housingcredit.extensions import db
from housingcredit.lists import service as lists
from housingcredit.lists.models import RectificationOrder
from housingcredit.records.models import Record
from tests import factories
from tests.conftest import login
from tests.factories import id_number, make_household, make_user
from tests.lists.helpers import Staff
from tests.records.helpers import PDF, record_data

TOO_BIG = "9223372036854775808"  # 2**63: no BIGINT holds it


def _errors(resp) -> dict:
    return resp.get_json()["errors"]


def _page_token(client, url) -> str:
    page = client.get(url).get_data(as_text=True)
    m = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page)
    return m.group(1)


def _swap_rules(app, tmp_path, **top):
    """Run on a rules book whose single version differs from the default by the top-level keys given."""
    from housingcredit.rules import load_rules
    from tests.rules.test_loader import write_version
    write_version(tmp_path / "rules", **top)
    app.extensions["rules"] = load_rules(tmp_path / "rules")


# ---- ids of 2**63 or more ---------------------------------------------------------------------------------------

def _int_rules(app, prefix_api: bool):
    for rule in app.url_map.iter_rules():
        if any(type(c).__name__ == "IdConverter" for c in rule._converters.values()) and \
                rule.rule.startswith("/api/") == prefix_api:
            yield rule


def test_hardening_an_id_of_2_63_or_more_in_any_page_path_is_404(app, client):
    login(client, make_user("supervisor", "420000"))
    assert client.get(f"/households/{TOO_BIG}").status_code == 404
    assert client.get(f"/households/{'9' * 40}/edit").status_code == 404
    urls = [re.sub(r"<int:\w+>", TOO_BIG, r.rule) for r in _int_rules(app, prefix_api=False) if "GET" in r.methods]
    assert len(urls) >= 5
    for url in urls:
        assert client.get(url).status_code == 404, url


def test_hardening_an_id_of_2_63_or_more_in_any_api_path_is_404(app, api_client):
    api = api_client(make_user("supervisor", "420000"))
    resp = api.get(f"/api/v1/households/{TOO_BIG}")
    assert resp.status_code == 404 and resp.get_json()["code"] == "not_found"
    rules = list(_int_rules(app, prefix_api=True))
    assert len(rules) >= 8
    for rule in rules:
        url = re.sub(r"<int:\w+>", TOO_BIG, rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            assert api.client.open(url, method=method, json={},
                                   headers={"Authorization": f"Bearer {api.token}"}).status_code == 404, (method, url)


def test_hardening_a_member_id_of_2_63_is_a_422_naming_it(app, api_client):
    caseworker = make_user("caseworker", "420100")
    h = make_household("420102", actor=caseworker)
    api = api_client(caseworker)
    body = {"region_code": "420102", "address": "江岸区1号", "protection_category": "physical", "version": h.version,
            "members": [{"id": int(TOO_BIG), "name": h.head.name, "id_number": h.head.id_number,
                         "relation": "head"}]}
    resp = api.put(f"/api/v1/households/{h.id}", json=body)
    assert resp.status_code == 422 and set(_errors(resp)) == {"members"}
    assert set(_errors(resp)["members"]["0"]) == {"id"}
    resp = api.put(f"/api/v1/households/{h.id}", json={**body, "members": [
        {"id": h.head.id, "name": h.head.name, "id_number": h.head.id_number, "relation": "head"}],
        "version": int(TOO_BIG)})
    assert resp.status_code == 409 and set(_errors(resp)) == {"version"}  # not the current version: stale


def test_hardening_a_huge_order_record_id_is_a_422_naming_it(app, client, api_client):
    staff = Staff("420100")
    h = make_household("420102")
    resp = api_client(staff.caseworker).post(f"/api/v1/households/{h.id}/orders", json={
        "ground": "fraud", "deadline": "2026-07-15", "requirement": "退回", "record_id": int("9" * 30)})
    assert resp.status_code == 422 and set(_errors(resp)) == {"record_id"}
    login(client, staff.caseworker)
    token = _page_token(client, f"/households/{h.id}/lists")
    resp = client.post(f"/households/{h.id}/orders", data={
        "csrf_token": token, "order-ground": "fraud", "order-deadline": "2026-07-15",
        "order-requirement": "退回租赁补贴", "order-record_id": "9" * 30})
    assert resp.status_code == 422
    assert "record_id" in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(RectificationOrder.id))) == 0


def test_hardening_an_audit_page_before_2_63_lists_every_entry(app, client):
    make_household("420102")
    login(client, make_user("auditor", "420000"))
    rows = client.get("/audit").get_data(as_text=True).count("<tr")
    resp = client.get(f"/audit?before={'9' * 30}")
    assert resp.status_code == 200 and resp.get_data(as_text=True).count("<tr") == rows > 1


# ---- dates before the first rules version -----------------------------------------------------------------------

def test_hardening_credit_as_of_before_the_first_rules_version_is_a_422_naming_the_field(app, api_client):
    h = make_household("420102")
    api = api_client(make_user("caseworker", "420100"))
    resp = api.get(f"/api/v1/households/{h.id}/credit?as_of=2018-11-30")
    assert resp.status_code == 422 and set(_errors(resp)) == {"as_of"}
    assert "2018-12-01" in _errors(resp)["as_of"][0]
    assert api.get(f"/api/v1/households/{h.id}/credit?as_of=2018-12-01").status_code == 200
    resp = api.get(f"/api/v1/households/{h.id}/credit/history?from=2010-01-01")
    assert resp.status_code == 422 and set(_errors(resp)) == {"from"} and "2018-12-01" in _errors(resp)["from"][0]
    resp = api.get(f"/api/v1/households/{h.id}/credit/history?to=2018-06-01")
    assert resp.status_code == 422 and set(_errors(resp)) == {"to"}
    # the default range (two years back) starts no earlier than the first version
    points = api.get(f"/api/v1/households/{h.id}/credit/history?to=2019-03-01").get_json()["points"]
    assert points[0]["date"] == "2018-12-01"


def test_hardening_the_archive_page_as_of_before_the_rules_shows_the_message(app, client):
    h = make_household("420102")
    login(client, make_user("caseworker", "420100"))
    resp = client.get(f"/households/{h.id}?as_of=1999-01-01")
    assert resp.status_code == 200 and "2018-12-01" in resp.get_data(as_text=True)


def test_hardening_the_first_rules_date_comes_from_the_rules_book(app, api_client, tmp_path):
    _swap_rules(app, tmp_path, effective=date(2020, 1, 1))
    h = make_household("420102")
    resp = api_client(make_user("caseworker", "420100")).get(f"/api/v1/households/{h.id}/credit?as_of=2019-06-01")
    assert resp.status_code == 422 and "2020-01-01" in _errors(resp)["as_of"][0]


def test_hardening_a_nul_in_the_api_search_text_is_a_422_naming_q(app, api_client):
    api = api_client(make_user("caseworker", "420100"))
    for q in ("%00王", "42010219900101%00"):
        resp = api.get(f"/api/v1/households?q={q}")
        assert resp.status_code == 422 and set(_errors(resp)) == {"q"}, q


# ---- login and multipart ----------------------------------------------------------------------------------------

def test_hardening_a_nul_in_the_staff_login_username_is_a_failed_login(app, client):
    make_user("caseworker", "420100", username="caseworker-nul")
    client.get("/login")
    resp = client.post("/login", data={"mode": "staff", "staff-username": "caseworker\x00-nul",
                                       "staff-password": factories.PASSWORD,
                                       "staff-csrf_token": factories.csrf_token(client)})
    assert resp.status_code == 401


NAMELESS = b'--XX\r\nContent-Disposition: form-data\r\n\r\nvalue\r\n--XX--\r\n'
NAMELESS_FILE = (b'--XX\r\nContent-Disposition: form-data; filename="a.pdf"\r\nContent-Type: application/pdf'
                 b'\r\n\r\n%PDF-1.4\r\n--XX--\r\n')


@pytest.mark.parametrize("body", [NAMELESS, NAMELESS_FILE], ids=["field", "file"])
def test_hardening_a_multipart_part_without_a_name_is_a_400(app, client, api_client, body):
    staff = Staff("420100")
    h = make_household("420102")
    kw = {"data": body, "content_type": "multipart/form-data; boundary=XX"}
    assert client.post("/login", **kw).status_code == 400
    login(client, staff.caseworker)
    for url in (f"/households/{h.id}/orders", f"/households/{h.id}/records/new", "/households/new"):
        assert client.post(url, **kw).status_code == 400, url
    assert api_client(staff.caseworker).post(f"/api/v1/households/{h.id}/records", **kw).status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(Record.id))) == 0


# ---- records: no retroactive record, none in the future ---------------------------------------------------------

def test_hb_five_a_behaviour_before_the_first_rules_version_cannot_be_recorded(app, api_client):
    caseworker = make_user("caseworker", "420100")
    h = make_household("420102")
    api = api_client(caseworker)
    data = record_data(occurred=date(2018, 11, 30), formed=date(2026, 6, 10))
    resp = api.post(f"/api/v1/households/{h.id}/records",
                    data={**data, "evidence": (io.BytesIO(PDF), "e.pdf")}, content_type="multipart/form-data")
    assert resp.status_code == 422 and set(_errors(resp)) == {"occurred_date"}
    assert "2018-12-01" in _errors(resp)["occurred_date"][0]
    resp = api.post(f"/api/v1/households/{h.id}/records", json=record_data(occurred=date(2026, 6, 16)))
    assert resp.status_code == 422 and "occurred_date" in _errors(resp)
    assert db.session.scalar(sa.select(sa.func.count(Record.id))) == 0
    ok = api.post(f"/api/v1/households/{h.id}/records", data={
        **record_data(occurred=date(2018, 12, 1), formed=date(2026, 6, 10)), "evidence": (io.BytesIO(PDF), "e.pdf")},
        content_type="multipart/form-data")
    assert ok.status_code == 201


# ---- rectification orders: the deadline ------------------------------------------------------------------------

def test_hb_six_an_order_deadline_falls_after_the_order_and_within_the_rules_maximum(app, api_client):
    # today is 2026-06-15; the rules' maximum is 6 months: the latest deadline is 2026-12-15
    staff = Staff("420100")
    h = make_household("420102")
    api = api_client(staff.caseworker)

    def order(deadline):
        return api.post(f"/api/v1/households/{h.id}/orders",
                        json={"ground": "use_change", "deadline": deadline, "requirement": "恢复原状"})

    for refused in ("2026-06-14", "2026-06-15", "2026-12-16", "2036-01-01"):
        resp = order(refused)
        assert resp.status_code == 422 and set(_errors(resp)) == {"deadline"}, refused
    assert "2026-12-15" in _errors(order("2026-12-16"))["deadline"][0]
    assert db.session.scalar(sa.select(sa.func.count(RectificationOrder.id))) == 0
    assert order("2026-06-16").status_code == 201
    assert order("2026-12-15").status_code == 201


def test_hb_six_the_order_deadline_maximum_comes_from_the_rules(app, tmp_path):
    _swap_rules(app, tmp_path, rectification_deadline={"max_months": {"value": 1, "clause": "本地细则 第3条"}})
    staff = Staff("420100")
    h = make_household("420102")
    with pytest.raises(InvalidInput) as err:
        lists.issue_order(h.id, "fraud", "2026-07-16", "退回", None, staff.caseworker)
    assert set(err.value.errors) == {"deadline"} and "本地细则 第3条" in err.value.errors["deadline"][0]
    db.session.rollback()
    assert lists.issue_order(h.id, "fraud", "2026-07-15", "退回", None, staff.caseworker).deadline == \
        date(2026, 7, 15)


def test_hb_six_rules_data_carries_the_order_deadline_maximum_with_its_clause():
    from housingcredit.rules import default_rules
    limit = default_rules().versions[0].rectification_deadline
    assert limit.max_months == 6 and "责令限期" in limit.clauses["max_months"]


# ---- the archive edit page: NUL refused, version required -------------------------------------------------------

def _edit_form(client, h, **changes) -> dict:
    token = _page_token(client, f"/households/{h.id}/edit")
    data = {"csrf_token": token, "region_code": h.region_code, "address": h.address,
            "protection_category": h.protection_category.value, "version": str(h.version),
            "members-0-id": str(h.head.id), "members-0-name": h.head.name,
            "members-0-id_number": h.head.id_number, "members-0-relation": "head"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_hardening_the_archive_edit_page_refuses_a_nul_naming_the_field(app, client):
    caseworker = make_user("caseworker", "420100")
    h = make_household("420102", actor=caseworker)
    login(client, caseworker)
    resp = client.post(f"/households/{h.id}/edit", data=_edit_form(client, h, address="江岸区\x00幸福路"))
    assert resp.status_code == 422
    # the message sits on the address field, and what was typed is kept (without the NUL nothing is rendered)
    assert re.search(r'<input[^>]*aria-invalid="true"[^>]*id="address"', resp.get_data(as_text=True))
    resp = client.post(f"/households/{h.id}/edit", data=_edit_form(client, h, **{"members-0-name": "张\x00三"}))
    assert resp.status_code == 422
    assert re.search(r'<input[^>]*aria-invalid="true"[^>]*id="members-0-name"', resp.get_data(as_text=True))
    db.session.expire_all()
    assert (db.session.get(Household, h.id).address, db.session.get(Household, h.id).head.name) == (
        "江岸区测试路1号", "张三丰")


def test_hardening_the_archive_create_page_refuses_a_nul(app, client):
    login(client, make_user("caseworker", "420100"))
    token = _page_token(client, "/households/new")
    resp = client.post("/households/new", data={
        "csrf_token": token, "region_code": "420102", "address": "幸福路\x008号", "protection_category": "physical",
        "members-0-name": "王建国", "members-0-id_number": id_number("420102"), "members-0-relation": "head"})
    assert resp.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count(Household.id))) == 0


def test_hardening_an_archive_edit_page_without_version_is_refused_409(app, client):
    caseworker = make_user("caseworker", "420100")
    h = make_household("420102", actor=caseworker)
    login(client, caseworker)
    for version in (None, ""):
        resp = client.post(f"/households/{h.id}/edit", data=_edit_form(client, h, address="我的修改", version=version))
        assert resp.status_code == 409, version
    resp = client.post(f"/households/{h.id}/edit", data=_edit_form(client, h, address="我的修改", version="abc"))
    assert resp.status_code == 422  # a version that is no number: named like any other malformed field
    db.session.expire_all()
    assert db.session.get(Household, h.id).address == "江岸区测试路1号"
    with pytest.raises(Exception) as err:  # the service is the one judge, for every caller
        archives.update_household(h.id, {"region_code": "420102", "address": "x", "protection_category": "physical",
                                         "members": [{"id": h.head.id, "name": "张三丰", "id_number": h.head.id_number,
                                                      "relation": "head"}]}, caseworker)
    assert getattr(err.value, "status", None) == 409 and err.value.field == "version"
    db.session.rollback()


# ---- procedure documents ---------------------------------------------------------------------------------------

def test_hb_six_a_procedure_document_downloads_for_staff_who_may_read_the_procedure(app, client, clock):
    staff = Staff("420100")
    h = make_household("420102")
    p = lists.open_procedure(h.id, "court_judgment", "（2026）鄂0102民初123号", ("判决书.pdf", PDF), staff.caseworker)
    db.session.commit()
    assert p.evidence_id is not None
    url = f"/evidence/{p.evidence_id}"
    for user in (staff.caseworker, staff.reviewer, make_user("supervisor", "420000"), make_user("auditor", "420000")):
        login(client, user)
        resp = client.get(url)
        assert resp.status_code == 200, user.role
        assert resp.data == PDF and "attachment" in resp.headers["Content-Disposition"]
        resp.close()
        client.post("/logout", data={"csrf_token": _page_token(client, f"/households/{h.id}")})
    login(client, make_user("caseworker", "420500"))  # another region
    assert client.get(url).status_code == 404
    household_client = app.test_client()
    login(household_client, factories.make_household_user(h))
    assert household_client.get(url).status_code == 404
    reads = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "evidence.read")).all()
    assert len(reads) == 4 and {e.household_id for e in reads} == {h.id}
    login(client, staff.caseworker)
    assert url in client.get(f"/households/{h.id}/lists").get_data(as_text=True)
