"""The archives API (SPEC §2 archive, §11 disclosure and staff-read logging) under /api/v1, bearer tokens only."""
from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from housingcredit.archives.models import Household
from housingcredit.audit.models import AuditEntry
from housingcredit.extensions import db
from tests.factories import id_number, make_household, make_user


def _body(region="420102", head="赵六", number=None, **extra):
    data = {"region_code": region, "address": "江岸区解放大道1号", "protection_category": "physical",
            "protection_group": "低保",
            "members": [{"name": head, "id_number": number or id_number(region, date(1995, 5, 5)),
                         "relation": "head"}]}
    data.update(extra)
    return data


def _edit_body(archive: dict, **changes) -> dict:
    """A PUT body from an archive as the API returned it."""
    body = {k: archive[k] for k in ("region_code", "address", "hukou", "marital_status", "housing_status",
                                    "protection_category", "protection_mode", "protection_group",
                                    "priority_flags", "version")}
    body["members"] = [{"id": m["id"], "name": m["name"], "id_number": m["id_number"], "relation": m["relation"]}
                       for m in archive["members"]]
    body.update(changes)
    return body


def _audit(action=None):
    stmt = sa.select(AuditEntry).order_by(AuditEntry.id)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    return db.session.scalars(stmt).all()


def test_spec_2_api_create_household_answers_201_with_the_archive(app, api_client):
    caseworker = make_user("caseworker", "420100")
    number = id_number("420102")
    resp = api_client(caseworker).post("/api/v1/households", json=_body(number=number))
    assert resp.status_code == 201, resp.get_json()
    archive = resp.get_json()
    assert archive["archive_no"] == f"420102-{archive['id']:08d}"
    assert archive["region_name"] == "湖北省 武汉市 江岸区"
    assert archive["members"][0]["id_number"] == number  # the caseworker may read full ID numbers
    created = _audit("household.create")
    assert [(e.object_id, e.actor_id) for e in created] == [(str(archive["id"]), caseworker.id)]


def test_spec_1_api_create_outside_own_region_is_refused_and_writes_nothing(app, api_client):
    caseworker = make_user("caseworker", "420100")
    before = db.session.scalar(sa.select(sa.func.count(Household.id)))
    resp = api_client(caseworker).post("/api/v1/households", json=_body(region="420502"))
    assert resp.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(Household.id))) == before


@pytest.mark.parametrize("role", ["auditor", "reviewer"])
def test_spec_1_api_read_only_roles_cannot_create(app, api_client, role):
    resp = api_client(make_user(role, "420100")).post("/api/v1/households", json=_body())
    assert resp.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(Household.id))) == 0


def test_spec_11_api_search_masks_id_numbers_and_stays_in_region(app, api_client):
    wuhan = make_household("420102", head_name="王大明")
    make_household("420502", head_name="王小明")  # Yichang: outside a Wuhan caseworker's region
    api = api_client(make_user("caseworker", "420100"))
    resp = api.get("/api/v1/households", query_string={"q": "王"})
    assert resp.status_code == 200
    page = resp.get_json()
    assert [h["id"] for h in page["items"]] == [wuhan.id]
    hit = page["items"][0]
    assert hit["head_id_number"] == wuhan.head.id_number[:6] + "********" + wuhan.head.id_number[-4:]
    assert wuhan.head.id_number not in resp.get_data(as_text=True)


def test_spec_2_api_search_by_full_id_number_and_by_archive_number(app, api_client):
    h = make_household("420102", head_name="钱七")
    make_household("420102", head_name="孙八")
    api = api_client(make_user("caseworker", "420102"))
    by_id = api.get("/api/v1/households", query_string={"q": h.head.id_number}).get_json()
    by_no = api.get("/api/v1/households", query_string={"q": h.archive_no}).get_json()
    assert [x["id"] for x in by_id["items"]] == [h.id]
    assert [x["id"] for x in by_no["items"]] == [h.id]


def test_api_search_pages_through_results(app, api_client):
    app.config["PAGE_SIZE"] = 2
    ids = [make_household("420102", head_name=f"周{i}").id for i in range(3)]
    api = api_client(make_user("caseworker", "420100"))
    first = api.get("/api/v1/households?page=1").get_json()
    second = api.get("/api/v1/households?page=2").get_json()
    assert ([h["id"] for h in first["items"]], first["has_more"]) == (ids[:2], True)
    assert ([h["id"] for h in second["items"]], second["has_more"]) == (ids[2:], False)


@pytest.mark.parametrize("role, full", [("caseworker", True), ("supervisor", True), ("reviewer", False),
                                        ("auditor", False)])
def test_spec_11_api_full_id_number_only_for_archive_read_id_number(app, api_client, role, full):
    h = make_household("420102", head_name="吴九", members=1)
    resp = api_client(make_user(role, "420100")).get(f"/api/v1/households/{h.id}")
    assert resp.status_code == 200
    numbers = [m["id_number"] for m in resp.get_json()["members"]]
    real = [m.id_number for m in h.members]
    if full:
        assert numbers == real
    else:
        assert numbers == [n[:6] + "********" + n[-4:] for n in real]
        assert not any(n in resp.get_data(as_text=True) for n in real)


def test_spec_11_api_staff_read_is_logged_with_reader(app, api_client):
    h = make_household("420102")
    reviewer = make_user("reviewer", "420100")
    assert _audit("household.read") == []
    assert api_client(reviewer).get(f"/api/v1/households/{h.id}").status_code == 200
    reads = _audit("household.read")
    assert [(e.household_id, e.actor_id, e.actor_label) for e in reads] == [(h.id, reviewer.id, reviewer.username)]


def test_spec_2_api_edit_with_current_version_keeps_history(app, api_client):
    caseworker = make_user("caseworker", "420100")
    api = api_client(caseworker)
    archive = api.post("/api/v1/households", json=_body()).get_json()
    resp = api.put(f"/api/v1/households/{archive['id']}", json=_edit_body(archive, address="江岸区新华路8号"))
    assert resp.status_code == 200, resp.get_json()
    edited = resp.get_json()
    assert edited["address"] == "江岸区新华路8号"
    assert edited["version"] == archive["version"] + 1

    history = api.get(f"/api/v1/households/{archive['id']}/history").get_json()
    assert [e["action"] for e in history] == ["household.update", "household.create"]  # newest first, no reads
    change = history[0]
    assert change["actor"] == caseworker.username
    assert (change["before"]["address"], change["after"]["address"]) == ("江岸区解放大道1号", "江岸区新华路8号")
    assert change["after"]["members"][0]["id_number"] == re.sub(r"^(\d{6})\d{8}", r"\1********",
                                                                archive["members"][0]["id_number"])


def test_spec_2_api_edit_with_stale_version_is_409_and_changes_nothing(app, api_client):
    api = api_client(make_user("caseworker", "420100"))
    archive = api.post("/api/v1/households", json=_body()).get_json()
    first = api.put(f"/api/v1/households/{archive['id']}", json=_edit_body(archive, address="第一次"))
    assert first.status_code == 200
    entries = len(_audit())
    stale = api.put(f"/api/v1/households/{archive['id']}", json=_edit_body(archive, address="第二次"))
    assert stale.status_code == 409
    assert stale.get_json()["code"] == "conflict" and "version" in stale.get_json()["errors"]
    assert db.session.get(Household, archive["id"]).address == "第一次"
    assert len(_audit()) == entries


def test_spec_2_api_edit_without_version_is_422(app, api_client):
    api = api_client(make_user("caseworker", "420100"))
    archive = api.post("/api/v1/households", json=_body()).get_json()
    body = _edit_body(archive, address="无版本")
    del body["version"]
    resp = api.put(f"/api/v1/households/{archive['id']}", json=body)
    assert resp.status_code == 422
    assert list(resp.get_json()["errors"]) == ["version"]
    assert db.session.get(Household, archive["id"]).address == "江岸区解放大道1号"


@pytest.mark.parametrize("role", ["reviewer", "auditor"])
def test_spec_1_api_read_only_roles_cannot_edit(app, api_client, role):
    h = make_household("420102")
    resp = api_client(make_user(role, "420100")).put(
        f"/api/v1/households/{h.id}", json=_body(address="改", version=h.version,
                                                 members=[{"id": h.head.id, "name": h.head.name,
                                                           "id_number": h.head.id_number, "relation": "head"}]))
    assert resp.status_code == 403
    assert db.session.get(Household, h.id).address == "江岸区测试路1号"


@pytest.mark.parametrize("method, path", [("get", "/api/v1/households"), ("post", "/api/v1/households"),
                                          ("get", "/api/v1/households/1"), ("put", "/api/v1/households/1"),
                                          ("get", "/api/v1/households/1/history"), ("get", "/api/v1/me")])
def test_api_without_a_valid_bearer_token_is_401(app, client, method, path):
    make_household("420102")
    write = method in ("post", "put")
    resp = getattr(client, method)(path, headers={"Authorization": "Bearer not-a-token"}, json={} if write else None)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].lower().startswith("bearer")
    assert resp.get_json()["code"] == "unauthorized"
    bare = getattr(client, method)(path, json={} if write else None)
    # No credentials at all (Hardening: a write too answers 401, not a CSRF 400: the API acts only for a token).
    assert bare.status_code == 401
    assert bare.get_json()["code"] == "unauthorized"
    assert db.session.scalar(sa.select(sa.func.count(Household.id))) == 1


def test_api_token_expires(app, api_client, clock):
    app.config["API_TOKEN_DAYS"] = 90
    api = api_client(make_user("caseworker", "420100"))
    clock.advance(days=89)
    assert api.get("/api/v1/households").status_code == 200
    clock.advance(days=1)
    assert api.get("/api/v1/households").status_code == 401


def test_api_openapi_declares_bearer_security_on_every_operation(app, client):
    """DESIGN rule 5: bearer authentication declared once — the document's default security, which no operation
    overrides, and every operation documents its 401."""
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert spec["security"] == [{"bearer": []}]
    ops = {(path, method): op for path, item in spec["paths"].items() for method, op in item.items()
           if method in ("get", "post", "put", "patch", "delete")}
    assert ("/api/v1/me", "get") in ops and ("/api/v1/households/{household_id}/history", "get") in ops
    public = {key for key, op in ops.items() if op.get("security") == []}  # the public lists (SPEC §11), no login
    assert public == {("/api/v1/public/lists/punishment", "get"), ("/api/v1/public/lists/watch", "get")}
    for key, op in ops.items():
        if key in public:
            continue
        assert "security" not in op, key
        assert "401" in op["responses"], key
    body = ops[("/api/v1/households", "post")]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/HouseholdIn"}


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]


def test_design_8_api_docs_page_loads_only_local_assets(app, client):
    resp = client.get("/api/v1/docs")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    parser = _Refs()
    parser.feed(html)
    assert parser.urls, "the docs page loads Swagger UI"
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html, re.I)  # no outside host anywhere
    for url in parser.urls:
        assert url.startswith("/") and not url.startswith("//"), url
        with client.get(url) as asset:
            assert asset.status_code == 200, url
            assert len(asset.get_data()) > 1000
    assert 'url: "/api/v1/openapi.json"' in html
    assert client.get("/api/v1/docs/assets/index.html").status_code == 404  # only the listed assets


def test_spec_2_api_edits_racing_past_the_version_check_answer_409(app, api_client, monkeypatch):
    """Another edit commits between our read and our write: the optimistic lock turns it into a 409."""
    from housingcredit.archives import service
    h = make_household("420102")
    api = api_client(make_user("caseworker", "420100"))
    archive = api.get(f"/api/v1/households/{h.id}").get_json()
    load = service.load_household

    def load_then_someone_else_edits(*args, **kwargs):
        household = load(*args, **kwargs)
        with db.engine.begin() as other:  # a second connection: the concurrent request
            other.execute(sa.text("UPDATE households SET address = '别人改的', version = version + 1 WHERE id = :id"),
                          {"id": h.id})
        return household

    monkeypatch.setattr(service, "load_household", load_then_someone_else_edits)
    entries = len(_audit())
    resp = api.put(f"/api/v1/households/{h.id}", json=_edit_body(archive, address="我改的"))
    assert resp.status_code == 409
    assert list(resp.get_json()["errors"]) == ["version"]
    assert db.session.get(Household, h.id).address == "别人改的"
    assert len(_audit()) == entries
