"""The public lists (SPEC §6, §7, §8, §9, §11): the joint-punishment list in force and the watch list, masked,
without login, paged, searchable, as HTML and JSON from the same data; which fields appear is data."""
from __future__ import annotations

import re
from datetime import date

import pytest

from housingcredit.accounts import regions
from housingcredit.appeals import service as appeals
from housingcredit.disclosure.masking import mask_id_number, mask_name
from housingcredit.errors import DomainError
from housingcredit.extensions import db
from housingcredit.lists import service as lists
from housingcredit.public.scopes import DisclosureError, load_scopes
from housingcredit.records import service as records
from tests import factories
from tests.lists.helpers import PDF, Staff, confirm_on, procedures, run_jobs_on
from tests.records.helpers import revoke

TODAY = date(2026, 6, 15)
FULL_ID = re.compile(r"(?<![\d*])\d{17}[\dX](?![\d*])")
MILD_TITLES = ("租赁期内在房屋及其附属设施设备出现损坏时", "承租的公共租赁住房无故连续空置超过6个月")


def _judgment(clock, staff, household, on: date, record_id=None):
    clock.set(on)
    p = lists.open_procedure(household.id, "court_judgment", "（2026）鄂0102民初123号", ("judgment.pdf", PDF),
                             staff.caseworker, record_id=record_id)
    db.session.commit()
    return p


def _object(clock, staff, household, on: date, **item):
    clock.set(on)
    o = appeals.file_objection(household.id, {**item, "reason": "认定有误", "received_date": on}, [],
                               staff.caseworker)
    db.session.commit()
    return o


@pytest.fixture
def seeded(app, clock):
    """Households in every state a public list must handle, built through the services in date order; shown on
    2026-06-15: A listed and C in publicity (punishment list), E watched for a moderate behaviour (watch list)."""
    staff = Staff("420100")
    hh = {key: factories.make_household(region, name) for key, region, name in (
        ("A", "420102", "张三丰"), ("B", "420102", "李四光"), ("C", "420103", "王小明"),
        ("D", "420104", "赵铁柱"), ("E", "420103", "欧阳娜娜"), ("F", "420102", "钱多多"),
        ("G", "420102", "孙悟空"), ("H", "420102", "周杰伦"), ("X", "420102", "吴承恩"))}
    confirm_on(clock, staff, hh["X"], "HB06", date(2025, 5, 6))  # watched until 2026-05-06: expired
    repaired = confirm_on(clock, staff, hh["H"], "HB06", date(2026, 1, 5))  # watched, repaired on 06-10
    _judgment(clock, staff, hh["A"], date(2026, 3, 2))
    _judgment(clock, staff, hh["B"], date(2026, 3, 2))  # listed, then an objection on the listing
    severe = confirm_on(clock, staff, hh["D"], "HB04", date(2026, 3, 2))
    _judgment(clock, staff, hh["D"], date(2026, 3, 2), record_id=severe.id)  # its only ground revoked 06-10
    run_jobs_on(clock, date(2026, 3, 10))
    run_jobs_on(clock, date(2026, 3, 19))  # A, B, D listed from 03-19
    confirm_on(clock, staff, hh["F"], "HB08", date(2026, 4, 1))
    confirm_on(clock, staff, hh["E"], "HB06", date(2026, 5, 4))
    disputed = confirm_on(clock, staff, hh["G"], "HB05", date(2026, 5, 4))
    confirm_on(clock, staff, hh["F"], "HB07", date(2026, 5, 6))  # mild + mild: a watch entry, never public
    _judgment(clock, staff, hh["C"], date(2026, 6, 1))
    run_jobs_on(clock, date(2026, 6, 9))  # C in publicity 06-09 … 06-17
    clock.set(date(2026, 6, 10))
    revoke(severe, staff.caseworker, staff.reviewer)
    records.record_repair(repaired.id, "已整改", staff.caseworker)
    db.session.commit()
    _object(clock, staff, hh["B"], TODAY, procedure_id=procedures(hh["B"].id)[0].id)
    _object(clock, staff, hh["G"], TODAY, record_id=disputed.id)
    clock.set(TODAY)
    states = {k: [p.state for p in procedures(h.id)] for k, h in hh.items()}
    assert states["A"] == ["listed"] and states["B"] == ["listed"] and states["C"] == ["publicity"]
    assert states["D"] == ["ended"]
    return hh


def _walk_json(client, list_name, **params) -> list[dict]:
    """Every row of a public list through the JSON pages, following `next` to the end."""
    rows, after, pages = [], None, 0
    while True:
        query = dict(params, **({"after": after} if after else {}))
        resp = client.get(f"/api/v1/public/lists/{list_name}", query_string=query)
        assert resp.status_code == 200, resp.get_json()
        body = resp.get_json()
        _assert_nothing_personal(resp.get_data(as_text=True))
        rows += body["items"]
        pages += 1
        after = body["next"]
        if not after:
            return rows
        assert pages < 50


def _walk_html(client, list_name, **params) -> tuple[list[list[str]], list[str]]:
    """Every row of a public page (cells as text), following the `next` link to the end."""
    url = f"/public/lists/{list_name}"
    rows, pages = [], []
    query = params
    while url:
        resp = client.get(url, query_string=query)
        assert resp.status_code == 200
        html = resp.get_data(as_text=True)
        _assert_nothing_personal(html)
        pages.append(html)
        body = html.split("<tbody>")[1].split("</tbody>")[0]
        for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S):
            cells = [re.sub(r"\s+", " ", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
            if len(cells) > 1:
                rows.append(cells)
        link = re.search(r'<a rel="next" href="([^"]+)"', html)
        url, query = (link.group(1).replace("&amp;", "&"), None) if link else (None, None)
    return rows, pages


def _assert_nothing_personal(text: str) -> None:
    assert not FULL_ID.search(text)
    for name in ("张三丰", "李四光", "王小明", "赵铁柱", "欧阳娜娜", "钱多多", "孙悟空", "周杰伦", "吴承恩"):
        assert name not in text
    assert "测试路" not in text  # the street address never leaves the archive
    for title in MILD_TITLES:
        assert title not in text


def test_spec11_public_lists_walk_every_row_masked_in_force_only(app, seeded):
    app.config["PUBLIC_PAGE_SIZE"] = 1  # one entry a page: the walk crosses every page boundary
    public = app.test_client()
    a, c, e = seeded["A"], seeded["C"], seeded["E"]
    punishment = _walk_json(public, "punishment")
    assert [r["name"] for r in punishment] == ["王*明", "张*丰"]  # newest first; B, D never
    listed, publicity = punishment[1], punishment[0]
    assert listed == {"name": "张*丰", "id_number": mask_id_number(a.head.id_number),
                      "address": regions.district_name("420102"), "stage": "已列入名单",
                      "behaviour": "人民法院判决", "clause": "HB 六 (根据法院判决…认定为失信联合惩戒对象)",
                      "effective_date": "2026-03-19", "end_date": "2029-03-19"}
    assert re.fullmatch(r"420102\*{8}\d{3}[\dX]", listed["id_number"])
    assert (publicity["stage"], publicity["effective_date"], publicity["end_date"]) == (
        "公示中", "2026-06-09", "2026-06-17")
    assert publicity["id_number"] == mask_id_number(c.head.id_number)

    watch = _walk_json(public, "watch")
    assert [r["name"] for r in watch] == ["欧**娜"]  # F mild+mild, G disputed, H repaired, X expired, D ended
    assert watch[0]["behaviour"] == "无正当理由拖欠租金累计6个月以上" and watch[0]["clause"] == "HB 四(六)"
    assert (watch[0]["effective_date"], watch[0]["end_date"]) == ("2026-05-04", "2027-05-04")
    assert watch[0]["id_number"] == mask_id_number(e.head.id_number)

    # the pages show the same rows, field by field in the scope's order
    html_rows, _pages = _walk_html(public, "punishment")
    assert html_rows == [[r[f] for f in ("name", "id_number", "address", "stage", "behaviour", "clause",
                                         "effective_date", "end_date")] for r in punishment]
    html_rows, _pages = _walk_html(public, "watch")
    assert html_rows == [[r[f] for f in ("name", "id_number", "address", "behaviour", "clause",
                                         "effective_date", "end_date")] for r in watch]


def test_spec7_a_stopped_clock_hides_the_household_until_the_objection_is_decided(app, seeded, clock):
    """SPEC §7: while the clock is stopped, public pages do not show the household."""
    c = seeded["C"]
    staff = Staff("420100")
    objection = _object(clock, staff, c, TODAY, procedure_id=procedures(c.id)[0].id)
    public = app.test_client()
    assert [r["name"] for r in _walk_json(public, "punishment")] == ["张*丰"]
    handler = db.session.get(type(staff.caseworker), objection.handler_id)
    appeals.propose(objection.id, {"outcome": "rejected", "reasons": "理由不成立"}, handler)
    db.session.commit()
    appeals.decide(objection.id, {"decision": "confirmed"}, staff.reviewer)
    db.session.commit()
    assert [r["name"] for r in _walk_json(public, "punishment")] == ["王*明", "张*丰"]


def test_spec11_public_lists_search_by_masked_name_or_district(app, seeded):
    public = app.test_client()

    def names(list_name, **q):
        return [r["name"] for r in _walk_json(public, list_name, **q)]

    assert names("punishment", q="张*丰") == ["张*丰"]
    assert names("punishment", q="张") == ["张*丰"]
    assert names("punishment", q="王*明", district="江汉区") == ["王*明"]
    assert names("punishment", district="420103") == ["王*明"]
    assert names("punishment", district="武汉市") == ["王*明", "张*丰"]
    assert names("punishment", q="张**丰") == []  # a three-character mask is a three-character name
    assert names("watch", q="欧**娜") == ["欧**娜"]
    assert names("watch", district="420102") == []
    html = public.get("/public/lists/punishment", query_string={"q": "张*丰"}).get_data(as_text=True)
    assert "张*丰" in html and "王*明" not in html
    # a full name is refused: the public searches what it sees
    for bad in ({"q": "张三丰"}, {"q": "**"}, {"q": "张*三*"}, {"q": "%"}, {"district": "火星"}, {"after": "x"}):
        resp = public.get("/api/v1/public/lists/punishment", query_string=bad)
        assert resp.status_code == 422 and set(resp.get_json()["errors"]) == set(bad)
        assert "张三丰" not in resp.get_data(as_text=True) or bad == {"q": "张三丰"}
    assert public.get("/public/lists/punishment", query_string={"q": "张三丰"}).status_code == 422
    assert public.get("/public/lists/nope").status_code == 404


def test_spec11_which_fields_appear_is_data(app, seeded, tmp_path):
    public = app.test_client()
    first = public.get("/api/v1/public/lists/punishment").get_json()
    assert [f["name"] for f in first["fields"]][:3] == ["name", "id_number", "address"]
    data = tmp_path / "disclosure.yaml"
    data.write_text("""
scopes:
  public:
    lists:
      punishment:
        stages: [listed]
        fields:
          - {field: end_date}
          - {field: name, mask: name}
""", encoding="utf-8")
    app.extensions["disclosure_scopes"] = load_scopes(data)
    body = public.get("/api/v1/public/lists/punishment").get_json()
    assert [f["name"] for f in body["fields"]] == ["end_date", "name"]
    assert body["items"] == [{"end_date": "2029-03-19", "name": "张*丰"}]  # publicity is no longer a stage
    html = public.get("/public/lists/punishment").get_data(as_text=True)
    assert mask_id_number(seeded["A"].head.id_number) not in html and "2029-03-19" in html
    assert public.get("/api/v1/public/lists/watch").status_code == 404  # the data publishes no watch list
    assert public.get("/public/lists/watch").status_code == 404


@pytest.mark.parametrize("fields, message", [
    ("- {field: name}", "must carry mask 'name'"),
    ("- {field: id_number, mask: name}", "must carry mask 'id_number'"),
    ("- {field: address}", "must carry mask 'district'"),
    ("- {field: behaviour, mask: name}", "takes no mask"),
    ("- {field: phone}", "`field` must be one of"),
])
def test_spec11_disclosure_data_never_publishes_an_unmasked_personal_field(tmp_path, fields, message):
    data = tmp_path / "disclosure.yaml"
    data.write_text("scopes:\n  public:\n    lists:\n      watch:\n        stages: [watch]\n        fields:\n"
                    f"          {fields}\n", encoding="utf-8")
    with pytest.raises(DisclosureError, match=re.escape(message)):
        load_scopes(data)


def test_spec11_public_lists_are_cacheable_with_etag_and_304(app, seeded):
    public = app.test_client()
    for url in ("/public/lists/punishment", "/api/v1/public/lists/watch"):
        first = public.get(url)
        assert first.status_code == 200
        assert first.headers["Cache-Control"] == "public, max-age=300"
        etag = first.headers["ETag"]
        again = public.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.get_data() == b""
        assert again.headers["ETag"] == etag
        assert public.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
        assert "Set-Cookie" not in first.headers
    bad = public.get("/api/v1/public/lists/punishment", query_string={"q": "张三丰"})
    assert bad.headers["Cache-Control"] == "no-store"


def test_spec11_public_lists_are_rate_limited_html_and_json_together(app):
    app.config["RATELIMIT_PUBLIC"] = "3/minute"
    public = app.test_client()
    codes = [public.get(url).status_code for url in ("/public/lists/punishment", "/api/v1/public/lists/watch",
                                                     "/public/lists/watch", "/api/v1/public/lists/punishment")]
    assert codes == [200, 200, 200, 429]
    resp = public.get("/api/v1/public/lists/punishment")
    assert resp.status_code == 429 and resp.get_json()["code"] == "too_many_requests"
    assert resp.headers["Cache-Control"] == "no-store"


def test_spec11_public_lists_linked_from_the_login_page(app, client):
    html = client.get("/login").get_data(as_text=True)
    assert 'href="/public/lists/punishment"' in html and 'href="/public/lists/watch"' in html


def test_spec11_public_lists_documented_open_to_all(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/public/lists/punishment", "/api/v1/public/lists/watch"):
        op = spec["paths"][path]["get"]
        assert op["security"] == [] and "401" not in op["responses"]
        assert {"200", "304", "422", "429"} <= set(op["responses"])
    entry = spec["components"]["schemas"]["PublicEntry"]["properties"]
    assert set(entry) == {"name", "id_number", "address", "stage", "behaviour", "clause", "effective_date",
                          "end_date"}


def test_spec11_one_mask_for_the_public_pages():
    from housingcredit.disclosure.masking import mask
    assert mask("name", "张三丰") == "张*丰" == mask_name("张三丰")
    assert mask("name", "欧阳娜娜") == "欧**娜" and mask("name", "李四") == "李*"
    assert mask("id_number", "420102198503070011") == "420102********0011"
    assert mask("district", "420102") == "湖北省 武汉市 江岸区"
    with pytest.raises(KeyError):
        mask("nothing", "x")
    assert DomainError  # the service's refusals are DomainErrors (422) — see the search test


def test_spec8_only_what_the_rules_data_discloses_is_public(app, seeded):
    """The rules data decides: a listing is public only while its measures include public_disclosure; a record only
    when its tier is in `disclosure.tiers`."""
    from dataclasses import replace

    from housingcredit.rules.loader import DisclosureRules, RuleBook
    rules = app.extensions["rules"]
    public = app.test_client()
    app.extensions["rules"] = RuleBook(versions=tuple(replace(v, measures_by_list={
        **v.measures_by_list, "punishment": tuple(c for c in v.measures_by_list["punishment"]
                                                  if c != "public_disclosure")}) for v in rules.versions))
    assert [r["name"] for r in _walk_json(public, "punishment")] == ["王*明"]  # publicity only
    app.extensions["rules"] = RuleBook(versions=tuple(replace(v, disclosure=DisclosureRules(
        tiers=("severe",), clause="test")) for v in rules.versions))
    assert _walk_json(public, "watch") == []  # E's ground is moderate
    app.extensions["rules"] = rules
    assert [r["name"] for r in _walk_json(public, "watch")] == ["欧**娜"]
