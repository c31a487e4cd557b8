"""HB 八 / SPEC §1: nobody sees or changes a household outside their region; a household reaches only its own.

Three households — Jiang'an (420102) and Wuchang (420106) in Wuhan, Xiling (420502) in Yichang — against a
Wuhan city caseworker (420100), a Jiang'an county caseworker (420102) and a provincial supervisor (420000),
through the API (bearer token) and the web pages. Out of region means 404 (no hint it exists), no search hit,
nothing written.
"""
from __future__ import annotations

import itertools
import re

import pytest
import sqlalchemy as sa

from housingcredit.archives.models import Household
from housingcredit.audit.models import AuditEntry
from housingcredit.extensions import db
from tests.conftest import login
from tests.factories import csrf_token, make_household_user, make_user
from tests.factories import make_household

HOUSEHOLDS = {"jiangan": ("420102", "江岸甲"), "wuchang": ("420106", "武昌乙"), "yichang": ("420502", "宜昌丙")}
STAFF = {"wuhan_caseworker": ("caseworker", "420100"), "jiangan_caseworker": ("caseworker", "420102"),
         "supervisor": ("supervisor", "420000")}
VISIBLE = {"wuhan_caseworker": {"jiangan", "wuchang"}, "jiangan_caseworker": {"jiangan"},
           "supervisor": {"jiangan", "wuchang", "yichang"}}
PAIRS = list(itertools.product(STAFF, HOUSEHOLDS))
PAIR_IDS = [f"{u}-{h}" for u, h in PAIRS]


class _Users(dict):
    """Staff made on first use (password hashing is deliberately slow); the supervisor also made the archives."""

    def __missing__(self, key):
        role, region = STAFF[key]
        self[key] = make_user(role, region)
        return self[key]


@pytest.fixture
def world(app):
    users = _Users()
    households = {key: make_household(code, head_name=name, actor=users["supervisor"])
                  for key, (code, name) in HOUSEHOLDS.items()}
    return households, users


def _snapshot(h_id: int):
    db.session.expire_all()
    h = db.session.get(Household, h_id)
    writes = db.session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(
        AuditEntry.household_id == h_id, ~AuditEntry.action.like("%.read")))
    return h.address, h.version, [(m.name, m.id_number) for m in h.members], writes


def _api_edit_body(h, address: str) -> dict:
    return {"region_code": h.region_code, "address": address, "protection_category": h.protection_category.value,
            "version": h.version,
            "members": [{"id": m.id, "name": m.name, "id_number": m.id_number, "relation": m.relation.value}
                        for m in h.members]}


def _web_edit_form(client, h, address: str) -> dict:
    head = h.head
    return {"region_code": h.region_code, "address": address, "protection_category": h.protection_category.value,
            "version": str(h.version), "members-0-id": str(head.id), "members-0-name": head.name,
            "members-0-id_number": head.id_number, "members-0-relation": "head", "csrf_token": csrf_token(client)}


def _shows(html: str, h) -> bool:
    """A hit links to the archive (the page echoes the query itself, so the text alone proves nothing)."""
    return re.search(rf'href="/households/{h.id}"', html) is not None


# ---- API ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("user_key, household_key", PAIRS, ids=PAIR_IDS)
def test_hb_eight_api_read_only_inside_region(world, api_client, user_key, household_key):
    households, users = world
    h, visible = households[household_key], household_key in VISIBLE[user_key]
    api = api_client(users[user_key])
    archive = api.get(f"/api/v1/households/{h.id}")
    history = api.get(f"/api/v1/households/{h.id}/history")
    assert (archive.status_code, history.status_code) == ((200, 200) if visible else (404, 404))
    if not visible:
        assert h.head.name not in archive.get_data(as_text=True) + history.get_data(as_text=True)
    reads = db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.household_id == h.id, AuditEntry.action.like("%.read"),
        AuditEntry.actor_id == users[user_key].id).order_by(AuditEntry.id)).all()
    assert reads == (["household.read", "history.read"] if visible else [])


@pytest.mark.parametrize("user_key, household_key", PAIRS, ids=PAIR_IDS)
def test_hb_eight_api_search_finds_only_inside_region(world, api_client, user_key, household_key):
    households, users = world
    h, visible = households[household_key], household_key in VISIBLE[user_key]
    api = api_client(users[user_key])
    for q in (h.head.name, h.head.name[:1], h.head.id_number, h.archive_no):
        hits = [x["id"] for x in api.get("/api/v1/households", query_string={"q": q}).get_json()["items"]]
        assert (h.id in hits) == visible, q


@pytest.mark.parametrize("user_key", STAFF)
def test_hb_eight_api_list_is_the_region(world, api_client, user_key):
    households, users = world
    listed = api_client(users[user_key]).get("/api/v1/households").get_json()["items"]
    assert {x["id"] for x in listed} == {households[k].id for k in VISIBLE[user_key]}


@pytest.mark.parametrize("user_key, household_key", PAIRS, ids=PAIR_IDS)
def test_hb_eight_api_edit_only_inside_region(world, api_client, user_key, household_key):
    households, users = world
    h, visible = households[household_key], household_key in VISIBLE[user_key]
    before = _snapshot(h.id)
    resp = api_client(users[user_key]).put(f"/api/v1/households/{h.id}", json=_api_edit_body(h, "改过的地址"))
    assert resp.status_code == (200 if visible else 404)
    after = _snapshot(h.id)
    if visible:
        assert after[0] == "改过的地址" and after[3] == before[3] + 1
    else:
        assert after == before


def test_hb_eight_api_cannot_move_a_household_out_of_region(world, api_client):
    households, users = world
    h = households["jiangan"]
    before = _snapshot(h.id)
    body = _api_edit_body(h, h.address) | {"region_code": "420502"}
    resp = api_client(users["wuhan_caseworker"]).put(f"/api/v1/households/{h.id}", json=body)
    assert resp.status_code == 403
    assert _snapshot(h.id) == before


# ---- web pages ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("user_key, household_key", PAIRS, ids=PAIR_IDS)
def test_hb_eight_web_archive_and_edit_page_only_inside_region(world, client, user_key, household_key):
    households, users = world
    h, visible = households[household_key], household_key in VISIBLE[user_key]
    login(client, users[user_key])
    page = client.get(f"/households/{h.id}")
    edit = client.get(f"/households/{h.id}/edit")
    assert (page.status_code, edit.status_code) == ((200, 200) if visible else (404, 404))
    if visible:
        assert h.head.name in page.get_data(as_text=True)
    else:
        assert h.head.name not in page.get_data(as_text=True) + edit.get_data(as_text=True)


@pytest.mark.parametrize("user_key, household_key", PAIRS, ids=PAIR_IDS)
def test_hb_eight_web_search_finds_only_inside_region(world, client, user_key, household_key):
    households, users = world
    h, visible = households[household_key], household_key in VISIBLE[user_key]
    login(client, users[user_key])
    for q in (h.head.name, h.head.id_number, h.archive_no):
        resp = client.get("/households", query_string={"q": q})
        assert resp.status_code == 200
        assert _shows(resp.get_data(as_text=True), h) == visible, q


@pytest.mark.parametrize("user_key, household_key", PAIRS, ids=PAIR_IDS)
def test_hb_eight_web_edit_post_only_inside_region(world, client, user_key, household_key):
    households, users = world
    h, visible = households[household_key], household_key in VISIBLE[user_key]
    login(client, users[user_key])
    before = _snapshot(h.id)
    resp = client.post(f"/households/{h.id}/edit", data=_web_edit_form(client, h, "网页改的地址"))
    after = _snapshot(h.id)
    if visible:
        assert resp.status_code == 302, resp.get_data(as_text=True)[:1000]
        assert after[0] == "网页改的地址" and after[3] == before[3] + 1
    else:
        assert resp.status_code == 404
        assert after == before


# ---- a household ----------------------------------------------------------------------------------------------

@pytest.fixture
def household_session(world, client):
    households, _ = world
    own = households["jiangan"]
    login(client, make_household_user(own))
    return client, own, [households["wuchang"], households["yichang"]]


def test_spec_1_household_sees_its_own_archive_only(household_session):
    client, own, others = household_session
    assert own.head.name in client.get("/my").get_data(as_text=True)
    for other in others:
        for url in (f"/households/{other.id}", f"/households/{other.id}/edit"):
            resp = client.get(url)
            assert resp.status_code == 404, url
            assert other.head.name not in resp.get_data(as_text=True)
    assert client.get(f"/households/{own.id}/edit").status_code in (403, 404)  # read-only, even its own


def test_spec_1_household_cannot_search_or_edit_archives(household_session):
    client, own, others = household_session
    for other in others + [own]:
        resp = client.get("/households", query_string={"q": other.head.name})
        assert resp.status_code in (403, 404)
        assert not _shows(resp.get_data(as_text=True), other)
    for target in others + [own]:
        before = _snapshot(target.id)
        resp = client.post(f"/households/{target.id}/edit", data=_web_edit_form(client, target, "户改"))
        assert resp.status_code in (403, 404)
        assert _snapshot(target.id) == before


def _api_urls(client, ids: list[int]):
    """Every GET operation in the OpenAPI document, with each household id put into its path parameters."""
    spec = client.get("/api/v1/openapi.json").get_json()
    for path, item in spec["paths"].items():
        if "get" not in item or item["get"].get("security") == []:  # open to all: the public lists (masked)
            continue
        if "{" not in path:
            yield path
            continue
        for i in ids:
            yield re.sub(r"\{[^}]+\}", str(i), path)


def test_spec_1_household_session_gets_nothing_from_the_api(household_session):
    """The API is bearer-only for staff clients: a household's browser session opens no operation."""
    client, own, others = household_session
    ids = [own.id] + [o.id for o in others]
    urls = list(_api_urls(client, ids))
    assert f"/api/v1/households/{own.id}" in urls
    answered = {}
    for url in urls:
        resp = client.get(url)
        answered[url] = resp.status_code
        body = resp.get_data(as_text=True)
        assert not any(h.head.id_number in body for h in [own] + others), url
    assert {u: s for u, s in answered.items() if s not in (401, 403, 404)} == {}
    token = csrf_token(client)  # get past CSRF: it is the authentication that must refuse
    before = _snapshot(own.id)
    put = client.put(f"/api/v1/households/{own.id}", json=_api_edit_body(own, "户改"),
                     headers={"X-CSRFToken": token})
    post = client.post("/api/v1/households", json=_api_edit_body(own, "新"), headers={"X-CSRFToken": token})
    assert put.status_code == post.status_code == 401
    assert _snapshot(own.id) == before


# ---- objections (SPEC §9): by any URL, only inside the region; a household only its own --------------------

def _objection_on(household, staff):
    """A confirmed record of `household` and an objection registered on it at the counter (received today)."""
    from housingcredit.appeals import service as appeals
    from tests.records.helpers import confirm, make_record
    recorder = make_user("caseworker", household.region_code)
    record = make_record(household, recorder, "HB06")
    confirm(record, make_user("reviewer", household.region_code[:4] + "00"))
    from housingcredit.clock import get_clock
    from tests.records.helpers import PDF
    o = appeals.file_objection(household.id, {"record_id": record.id, "reason": "异议",
                                              "received_date": get_clock().today().isoformat()},
                               [("异议材料.pdf", PDF)], staff)
    db.session.commit()
    return o


@pytest.mark.parametrize("user_key, household_key", PAIRS, ids=PAIR_IDS)
def test_spec_9_api_objections_only_inside_region(world, api_client, user_key, household_key):
    households, users = world
    h, visible = households[household_key], household_key in VISIBLE[user_key]
    o = _objection_on(h, users["supervisor"])
    api = api_client(users[user_key])
    codes = (api.get(f"/api/v1/objections/{o.id}").status_code,
             api.get(f"/api/v1/households/{h.id}/objections").status_code)
    assert codes == ((200, 200) if visible else (404, 404))
    assert (o.id in [x["id"] for x in api.get("/api/v1/objections").get_json()]) == visible
    if not visible:
        for url, body in ((f"/api/v1/objections/{o.id}/proposal", {"outcome": "upheld", "reasons": "x"}),
                          (f"/api/v1/objections/{o.id}/decision", {"decision": "confirmed"}),
                          (f"/api/v1/objections/{o.id}/handler", {}),
                          (f"/api/v1/households/{h.id}/objections", {"record_id": o.record_id, "reason": "x",
                                                                     "received_date": "2026-06-10"})):
            assert api.post(url, json=body).status_code == 404, url


def test_spec_9_household_reaches_only_its_own_objections(world, client):
    households, users = world
    own, other = households["jiangan"], households["wuchang"]
    mine, theirs = _objection_on(own, users["supervisor"]), _objection_on(other, users["supervisor"])
    login(client, make_household_user(own))
    assert client.get("/my/objections").status_code == 200
    assert client.get(f"/objections/{mine.id}").status_code == 302  # its own: shown on /my/objections
    assert client.get(f"/objections/{theirs.id}").status_code == 404
    resp = client.get(f"/objection-materials/{mine.materials[0].id}")
    resp.close()
    assert resp.status_code == 200  # its own files
    assert client.get(f"/objection-materials/{theirs.materials[0].id}").status_code == 404
    for url in (f"/households/{other.id}/objections/new", f"/households/{own.id}/objections/new", "/objections"):
        assert client.get(url).status_code in (403, 404), url
    token = csrf_token(client)
    for url in (f"/objections/{theirs.id}/proposal", f"/objections/{theirs.id}/decision",
                f"/objections/{mine.id}/proposal", f"/objections/{mine.id}/decision"):
        assert client.post(url, data={"csrf_token": token, "outcome": "upheld", "reasons": "x",
                                      "decision": "confirmed"}).status_code in (403, 404), url
    assert client.post("/my/objections/new", data={"csrf_token": token, "item": f"record:{theirs.record_id}",
                                                   "reason": "x"}).status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(type(mine))) == 2


# ---- credit repair (SPEC §9): by any URL, only inside the region; a household only its own ------------------

def _repair_on(household, staff):
    """A confirmed mild record of `household` (no minimum period) and a repair application registered at the
    counter (received today)."""
    from housingcredit.appeals import repairs
    from housingcredit.clock import get_clock
    from tests.records.helpers import PDF, confirm, make_record
    recorder = make_user("caseworker", household.region_code)
    record = make_record(household, recorder, "HB08")
    confirm(record, make_user("reviewer", household.region_code[:4] + "00"))
    a = repairs.apply(household.id, {"record_id": record.id, "declaration": "已整改", "commitment_signed": True,
                                     "received_date": get_clock().today().isoformat()},
                      [("整改证明.pdf", PDF)], [], staff)
    db.session.commit()
    return a


@pytest.mark.parametrize("user_key, household_key", PAIRS, ids=PAIR_IDS)
def test_spec_9_api_repairs_only_inside_region(world, api_client, user_key, household_key):
    households, users = world
    h, visible = households[household_key], household_key in VISIBLE[user_key]
    a = _repair_on(h, users["supervisor"])
    api = api_client(users[user_key])
    codes = (api.get(f"/api/v1/repairs/{a.id}").status_code,
             api.get(f"/api/v1/households/{h.id}/repairs").status_code)
    assert codes == ((200, 200) if visible else (404, 404))
    assert (a.id in [x["id"] for x in api.get("/api/v1/repairs").get_json()]) == visible
    if not visible:
        for url, body in ((f"/api/v1/repairs/{a.id}/acceptance", {}),
                          (f"/api/v1/repairs/{a.id}/incomplete", {"missing": "x"}),
                          (f"/api/v1/repairs/{a.id}/extension", {"reason": "x"}),
                          (f"/api/v1/repairs/{a.id}/proposal", {"outcome": "refused", "reasons": "x"}),
                          (f"/api/v1/repairs/{a.id}/decision", {"decision": "confirmed"}),
                          (f"/api/v1/repairs/{a.id}/handler", {}),
                          (f"/api/v1/households/{h.id}/repairs/check", {"record_id": a.record_id}),
                          (f"/api/v1/households/{h.id}/repairs", {"record_id": a.record_id,
                                                                  "received_date": "2026-06-10"})):
            assert api.post(url, json=body).status_code == 404, url


def test_spec_9_household_reaches_only_its_own_repairs(world, client):
    from housingcredit.appeals import repairs
    from housingcredit.errors import DomainError, NotFound
    households, users = world
    own, other = households["jiangan"], households["wuchang"]
    mine, theirs = _repair_on(own, users["supervisor"]), _repair_on(other, users["supervisor"])
    home = make_household_user(own)
    assert repairs.get_repair(mine.id, home).id == mine.id
    for call in (lambda: repairs.get_repair(theirs.id, home), lambda: repairs.repairs_for(other.id, home),
                 lambda: repairs.complete(theirs.id, {}, [], [], home),
                 lambda: repairs.apply(other.id, {"record_id": theirs.record_id}, [], [], home)):
        with pytest.raises(NotFound):
            call()
    for call in (lambda: repairs.accept(mine.id, home), lambda: repairs.decide(mine.id, {"decision": "confirmed"},
                                                                                 home)):
        with pytest.raises(DomainError):
            call()
    login(client, home)
    assert client.get("/my/repairs").status_code == 200
    assert client.get(f"/repairs/{mine.id}").status_code == 302  # its own: shown on /my/repairs
    assert client.get(f"/repairs/{theirs.id}").status_code == 404
    resp = client.get(f"/repair-materials/{mine.materials[0].id}")
    resp.close()
    assert resp.status_code == 200  # its own files
    assert client.get(f"/repair-materials/{theirs.materials[0].id}").status_code == 404
    for url in (f"/households/{other.id}/repairs/new", f"/households/{own.id}/repairs/new", "/repairs"):
        assert client.get(url).status_code in (403, 404), url
    token = csrf_token(client)
    for url in (f"/repairs/{theirs.id}/materials", f"/repairs/{theirs.id}/accept", f"/repairs/{theirs.id}/decision",
                f"/repairs/{mine.id}/accept", f"/repairs/{mine.id}/proposal"):
        resp = client.post(url, data={"csrf_token": token, "decision": "confirmed", "outcome": "granted"})
        assert resp.status_code in (403, 404), url
    db.session.expire_all()
    assert all(not a.steps and not a.proposals for a in (db.session.get(type(mine), mine.id),
                                                         db.session.get(type(theirs), theirs.id)))
    resp = client.post("/my/repairs/new", data={"csrf_token": token, "record_id": str(theirs.record_id),
                                                "declaration": "x", "commitment_signed": "y", "action": "submit"})
    assert resp.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(type(mine))) == 2


@pytest.mark.parametrize("user_key, household_key", PAIRS, ids=PAIR_IDS)
def test_spec_9_web_objection_and_repair_materials_only_inside_region(world, client, user_key, household_key):
    """The uploaded files of an objection or a repair application: staff of the household's region download
    them (audited as a read), anyone else gets 404 — no hint the file exists."""
    households, users = world
    h, visible = households[household_key], household_key in VISIBLE[user_key]
    o, a = _objection_on(h, users["supervisor"]), _repair_on(h, users["supervisor"])
    login(client, users[user_key])
    before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "materials.read", AuditEntry.household_id == h.id))
    for url in (f"/objection-materials/{o.materials[0].id}", f"/repair-materials/{a.materials[0].id}"):
        resp = client.get(url)
        resp.close()
        assert resp.status_code == (200 if visible else 404), url
    after = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "materials.read", AuditEntry.household_id == h.id))
    assert after - before == (2 if visible else 0)


@pytest.mark.parametrize("user_key, household_key", PAIRS, ids=PAIR_IDS)
def test_spec_9_web_objection_and_repair_pages_only_inside_region(world, client, user_key, household_key):
    """The staff pages of an objection and a repair application, the open lists and every form posting to them:
    staff of the household's region see them; anyone else gets 404 — no hint, no entry in a list, nothing
    written."""
    households, users = world
    h, visible = households[household_key], household_key in VISIBLE[user_key]
    o, a = _objection_on(h, users["supervisor"]), _repair_on(h, users["supervisor"])
    login(client, users[user_key])
    for url in (f"/objections/{o.id}", f"/repairs/{a.id}"):
        assert client.get(url).status_code == (200 if visible else 404), url
    assert (f'href="/objections/{o.id}"' in client.get("/objections").get_data(as_text=True)) == visible
    assert (f'href="/repairs/{a.id}"' in client.get("/repairs").get_data(as_text=True)) == visible
    if visible:
        return
    for url in (f"/households/{h.id}/objections/new", f"/households/{h.id}/repairs/new"):
        assert client.get(url).status_code == 404, url
    token = csrf_token(client)
    form = {"csrf_token": token, "outcome": "upheld", "reasons": "x", "effect": "correct", "facts": "y",
            "decision": "confirmed", "text": "x"}
    for url in (f"/objections/{o.id}/proposal", f"/objections/{o.id}/decision", f"/repairs/{a.id}/accept",
                f"/repairs/{a.id}/incomplete", f"/repairs/{a.id}/extend", f"/repairs/{a.id}/proposal",
                f"/repairs/{a.id}/decision"):
        assert client.post(url, data=form).status_code == 404, url
    db.session.expire_all()
    assert not db.session.get(type(o), o.id).proposals
    assert not db.session.get(type(a), a.id).steps and not db.session.get(type(a), a.id).proposals
