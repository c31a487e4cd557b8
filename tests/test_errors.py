"""DESIGN rule 7 — errors are answers: bad input gets a 422 naming the field with a translated message (Chinese
by default, English on request), nothing is half-written, and no request yields a 500 (StrictClient asserts it).
"""
from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from housingcredit.archives.models import Household, Member
from housingcredit.audit.models import AuditEntry
from housingcredit.extensions import db
from tests.factories import id_number, make_household, make_user

CJK = re.compile(r"[\u4e00-\u9fff]")


def _valid():
    return {"region_code": "420102", "address": "江岸区解放大道1号", "protection_category": "physical",
            "members": [{"name": "赵六", "id_number": id_number("420102", date(1990, 1, 1)), "relation": "head"}]}


def _bad_checksum(number: str) -> str:
    last = number[-1]
    return number[:-1] + ("0" if last != "0" else "1")


def _counts():
    return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in (Household, Member, AuditEntry))


def _with(path, value):
    """The valid body with one field (a dotted path, list indexes as numbers) replaced."""
    body = _valid()
    target, keys = body, path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    target[int(keys[-1]) if keys[-1].isdigit() else keys[-1]] = value
    return body


def _field_errors(errors: dict, path: str) -> list[str]:
    node = errors
    for key in path.split("."):
        assert key in node, (path, errors)
        node = node[key]
    return node


# (case, dotted field, value, the English message)
CASES = [
    ("bad ID checksum", "members.0.id_number", "BAD", "The resident ID number is not valid (check the digits and the checksum)."),
    ("unknown region", "region_code", "429999", "Unknown region code; choose a county-level region."),
    ("region not a code", "region_code", "Wuhan", "String does not match expected pattern."),
    ("malformed decimal", "income_yuan", "12,5元", "Not a valid number."),
    ("oversized address", "address", "长" * 201, "Length must be between 1 and 200."),
    ("oversized name", "members.0.name", "名" * 41, "Length must be between 1 and 40."),
    ("wrong type: number for text", "address", 12345, "Not a valid string."),
    ("wrong type: text for list", "members", "赵六", "Not a valid list."),
    ("wrong type: bad enum", "protection_category", "castle", None),
    ("missing required", "address", None, "Field may not be null."),
]


@pytest.mark.parametrize("case, field, value, english", CASES, ids=[c[0] for c in CASES])
def test_design_7_api_bad_input_is_422_naming_the_field_in_chinese_and_english(app, api_client, case, field, value,
                                                                               english):
    api = api_client(make_user("caseworker", "420100"))
    if value == "BAD":
        value = _bad_checksum(_valid()["members"][0]["id_number"])
    body = _with(field, value)
    before = _counts()

    zh = api.post("/api/v1/households", json=body)
    en = api.post("/api/v1/households", json=body, headers={"Accept-Language": "en"})
    en_query = api.post("/api/v1/households?lang=en", json=body)

    for resp in (zh, en, en_query):
        assert resp.status_code == 422, resp.get_json()
        assert resp.get_json()["code"] == "invalid"
    zh_messages = _field_errors(zh.get_json()["errors"], field)
    en_messages = _field_errors(en.get_json()["errors"], field)
    assert en_query.get_json() == en.get_json()
    assert zh_messages and all(CJK.search(m) for m in zh_messages), zh_messages  # Chinese by default
    assert CJK.search(zh.get_json()["message"])
    assert not any(CJK.search(m) for m in en_messages)
    assert en.get_json()["message"] == "The input is not valid."
    if english:
        assert en_messages == [english]
    assert _counts() == before  # nothing written, not even an audit entry


def test_design_7_unknown_field_is_named(app, api_client):
    api = api_client(make_user("caseworker", "420100"))
    body = _valid() | {"salary": 3000}
    before = _counts()
    zh = api.post("/api/v1/households", json=body).get_json()
    en = api.post("/api/v1/households", json=body, headers={"Accept-Language": "en"}).get_json()
    assert zh["errors"] == {"salary": ["未知字段。"]}
    assert en["errors"] == {"salary": ["Unknown field."]}
    assert _counts() == before


@pytest.mark.parametrize("raw, content_type", [("{not json", "application/json"), ("[1, 2]", "application/json"),
                                               ("address=x", "application/x-www-form-urlencoded")])
def test_design_7_body_that_is_not_a_json_object_is_422(app, api_client, raw, content_type):
    api = api_client(make_user("caseworker", "420100"))
    resp = api.post("/api/v1/households", data=raw, headers={"Content-Type": content_type, "Accept-Language": "en"})
    assert resp.status_code == 422
    assert resp.get_json()["errors"] == {"_schema": ["Send a JSON object as the request body."]}
    assert db.session.scalar(sa.select(sa.func.count(Household.id))) == 0


def test_design_7_duplicate_person_is_422_and_first_archive_untouched(app, api_client):
    existing = make_household("420102", head_name="李雷")
    api = api_client(make_user("caseworker", "420100"))
    before = _counts()
    body = _with("members.0.id_number", existing.head.id_number)
    resp = api.post("/api/v1/households", json=body, headers={"Accept-Language": "en"})
    assert resp.status_code == 422
    assert resp.get_json()["errors"]["members"]["0"]["id_number"] == [
        "This person already belongs to another household archive."]
    assert _counts() == before


@pytest.mark.parametrize("query, field", [({"page": "abc"}, "page"), ({"page": "0"}, "page"),
                                          ({"q": "x" * 41}, "q")])
def test_design_7_webargs_query_errors_have_the_same_translated_shape(app, api_client, query, field):
    api = api_client(make_user("caseworker", "420100"))
    zh = api.get("/api/v1/households", query_string=query)
    en = api.get("/api/v1/households", query_string=query, headers={"Accept-Language": "en"})
    assert zh.status_code == en.status_code == 422
    assert set(zh.get_json()) == {"code", "message", "errors"}
    assert zh.get_json()["code"] == "invalid"
    assert list(zh.get_json()["errors"]) == [field] == list(en.get_json()["errors"])
    assert all(CJK.search(m) for m in zh.get_json()["errors"][field])
    assert not any(CJK.search(m) for m in en.get_json()["errors"][field])
    by_query = api.get("/api/v1/households", query_string={**query, "lang": "en"})  # ?lang is not an unknown field
    assert by_query.status_code == 422 and by_query.get_json() == en.get_json()


def test_design_7_edit_with_bad_input_changes_nothing(app, api_client):
    h = make_household("420102", head_name="韩梅")
    api = api_client(make_user("caseworker", "420100"))
    before = _counts()
    body = {"region_code": "420102", "address": "", "protection_category": "physical", "version": h.version,
            "income_yuan": "很多",
            "members": [{"id": h.head.id, "name": h.head.name, "id_number": _bad_checksum(h.head.id_number),
                         "relation": "head"}]}
    resp = api.put(f"/api/v1/households/{h.id}", json=body, headers={"Accept-Language": "en"})
    assert resp.status_code == 422
    assert {"address", "income_yuan"} <= set(resp.get_json()["errors"])
    assert _counts() == before
    db.session.expire_all()
    assert db.session.get(Household, h.id).address == "江岸区测试路1号"


@pytest.mark.parametrize("bad", ["2026-13-45", "15/06/2026", "yesterday", 20260615])
def test_design_7_malformed_date_is_422_naming_the_field(app, api_client, bad):
    """A date field in the records API (the archive itself has none): occurred_date."""
    from housingcredit.records.models import Record
    h = make_household("420102")
    api = api_client(make_user("caseworker", "420100"))
    body = {"code": "HB06", "occurred_date": bad, "formed_date": "2026-06-01", "source": "management",
            "facts": "欠租"}
    zh = api.post(f"/api/v1/households/{h.id}/records", json=body)
    en = api.post(f"/api/v1/households/{h.id}/records", json=body, headers={"Accept-Language": "en"})
    assert zh.status_code == en.status_code == 422
    assert en.get_json()["errors"]["occurred_date"] == ["Not a valid date."]
    assert zh.get_json()["errors"]["occurred_date"] == ["不是有效的日期。"]
    assert db.session.scalar(sa.select(sa.func.count(Record.id))) == 0


def test_design_7_unknown_api_url_and_method_answer_json_4xx(app, api_client):
    api = api_client(make_user("caseworker", "420100"))
    missing = api.get("/api/v1/no-such-thing")
    assert missing.status_code == 404 and missing.get_json()["code"] == "not_found"
    assert api.get("/api/v1/households/999999").status_code == 404
    wrong = api.delete("/api/v1/households/1")
    assert wrong.status_code == 405
    assert "GET" in wrong.headers["Allow"]


def test_design_7_a_nul_character_is_a_422_not_a_database_error(app, api_client):
    from tests.factories import id_number, make_user
    api = api_client(make_user("caseworker", "420100"))
    body = {"region_code": "420102", "address": "江岸区\x00路", "protection_category": "physical",
            "members": [{"name": "张三", "id_number": id_number("420102"), "relation": "head"}]}
    resp = api.post("/api/v1/households", json=body)
    assert resp.status_code == 422
    assert "address" in resp.get_json()["errors"]


def test_design_7_api_language_follows_each_requests_accept_language(app, api_client):
    """The API's language is negotiated per request from its own Accept-Language (q-values honoured), whatever
    the request before it asked for: the same headers answer the same way each time they come."""
    api = api_client(make_user("caseworker", "420100"))
    body = _with("address", None)
    asks = [("en;q=0.9, zh-CN;q=0.1", "en"), ("zh-CN, en;q=0.5", "zh"), ("fr", "zh"), ("en-GB", "en"), ("", "zh")]
    for header, expected in asks + asks[::-1]:
        message = api.post("/api/v1/households", json=body, headers={"Accept-Language": header}).get_json()["message"]
        assert (message == "The input is not valid.") == (expected == "en"), (header, message)
        assert bool(CJK.search(message)) == (expected == "zh"), (header, message)
