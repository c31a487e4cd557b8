"""Issue 18 (workbench), statistics: households by tier and region, behaviours by code and month, list entries
opened/ended per month, objections and repairs with outcome and the share answered on time, late entries per
office, credit checks per business — from the stored state, inside the region gate for every role, exported as
.xlsx with the same figures. No timing here (benchmarks/bench_pages.py measures the page at 1.1M households)."""
from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook

from housingcredit.appeals.models import Objection, ObjectionProposal, ObjectionReview
from housingcredit.clock import SHANGHAI
from housingcredit.extensions import db
from housingcredit.lists import service as lists
from housingcredit.stats import figures
from tests import factories
from tests.lists.helpers import Staff, confirm_on

from ..lists.test_pages_at_scale import _pending_record

TODAY = date(2026, 6, 15)


def _objection(h, record, filed, due, decided=None, outcome="upheld"):
    """An objection in the stored state the figures read (filed, due, and a confirmed decision)."""
    from datetime import datetime
    staff = factories.make_user("caseworker", "420100")
    o = Objection(household_id=h.id, region_code=h.region_code, record_id=record.id, filed_date=filed,
                  due_date=due, reason="r", filed_by_id=staff.id, filed_dt=datetime(2026, 1, 1, tzinfo=SHANGHAI))
    db.session.add(o)
    db.session.flush()
    if decided:
        p = ObjectionProposal(objection_id=o.id, outcome=outcome, reasons="r", by_id=staff.id,
                              proposed_date=decided, dt=datetime(2026, 1, 1, tzinfo=SHANGHAI))
        db.session.add(p)
        db.session.flush()
        db.session.add(ObjectionReview(proposal_id=p.id, confirmed=True, by_id=staff.id, decided_date=decided,
                                       dt=datetime(2026, 1, 1, tzinfo=SHANGHAI)))
    db.session.commit()


@pytest.fixture
def dataset(clock):
    """Wuhan: a moderate (on the watch list), a mild and a clean household, a late entry, two objections (one
    answered on time, one late), a credit check; Yichang: a mild household and a credit check of its own."""
    wuhan, yichang = Staff("420100"), Staff("420500")
    moderate, mild, _clean = (factories.make_household("420102") for _ in range(3))
    r1 = confirm_on(clock, wuhan, moderate, "HB06", date(2026, 3, 10))
    r2 = confirm_on(clock, wuhan, mild, "HB08", date(2026, 4, 2))
    other = factories.make_household("420502")
    confirm_on(clock, yichang, other, "HB08", date(2026, 4, 5))
    clock.set(TODAY)
    _pending_record(mild, wuhan.caseworker, "HB07", date(2026, 1, 5))  # entered late
    _objection(moderate, r1, date(2026, 3, 20), date(2026, 4, 3), decided=date(2026, 4, 1))
    _objection(mild, r2, date(2026, 4, 10), date(2026, 4, 24), decided=date(2026, 5, 6), outcome="rejected")
    lists.credit_check(moderate.head.id_number, "application", "申请", wuhan.caseworker)
    lists.credit_check(other.head.id_number, "renewal", "续租", yichang.caseworker)
    db.session.commit()
    return {"wuhan": wuhan, "yichang": yichang}


def _tables(data) -> dict:
    return {t["key"]: [r["cells"] for r in t["rows"]] for t in data["tables"]}


def test_statistics_figures_from_the_stored_state(app, dataset):
    supervisor = factories.make_user("supervisor", "420000")
    data = figures.figures({"from": "2026-01-01", "to": "2026-06-15"}, supervisor)
    t = _tables(data)
    assert data["months"] == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    # households by prefecture and tier (good, mild, moderate, severe …), the total last
    households = {row[0]: row[1:] for row in t["households"]}
    assert households["武汉市"][:3] == [1, 1, 1] and households["武汉市"][-1] == 3
    assert households["宜昌市"][:2] == [0, 1] and households["宜昌市"][-1] == 1
    # confirmed behaviours by code and formed month (the pending late one is not a behaviour yet)
    assert t["behaviours"] == [["HB06", 0, 0, 1, 0, 0, 0, 1], ["HB08", 0, 0, 0, 2, 0, 0, 2]]
    # the moderate record's watch entry opened in March
    march = next(r for r in t["list_entries"] if r[0] == "2026-03")
    assert march[1] == 1 and sum(r[1] for r in t["list_entries"]) == 1
    # objections: 2 filed, both decided, 1 upheld, 1 rejected, 1 on time (50 %); no repairs
    objections, repairs_row = t["appeals"]
    assert objections[1:] == [2, 2, 1, 1, 0, 0, 1, "50.0 %"]
    assert repairs_row[1:] == [0, 0, 0, 0, 0, 0, 0, "—"]
    assert t["late"] == [["湖北省 武汉市 江岸区", 1]]
    assert [[str(c) for c in row] for row in t["checks"]] == [["申请", "1", "0", "1"], ["续租", "1", "0", "1"]]


def test_statistics_region_gate_caseworker_sees_their_region_only(app, dataset):
    t = _tables(figures.figures({"from": "2026-01-01", "to": "2026-06-15"}, dataset["wuhan"].caseworker))
    assert [row[0] for row in t["households"]] == ["江岸区"]  # a prefecture's figures by county
    assert t["behaviours"] == [["HB06", 0, 0, 1, 0, 0, 0, 1], ["HB08", 0, 0, 0, 1, 0, 0, 1]]
    assert [row[-1] for row in t["checks"]] == [1]  # the Wuhan office's check only
    yc = _tables(figures.figures({"from": "2026-01-01", "to": "2026-06-15"}, dataset["yichang"].caseworker))
    assert [row[0] for row in yc["households"]] == ["西陵区"] and yc["late"] == []
    assert yc["appeals"][0][1] == 0


def test_statistics_region_gate_per_role(app, dataset, client, login_as):
    supervisor = factories.make_user("supervisor", "420000")
    allowed = {"supervisor": supervisor, "caseworker": dataset["wuhan"].caseworker}
    refused = {"reviewer": dataset["wuhan"].reviewer, "auditor": factories.make_user("auditor", "420000"),
               "household": factories.make_household_user(factories.make_household("420102"))}
    for role, user in allowed.items():
        login_as(user)
        page = client.get("/stats?from=2026-01-01&to=2026-06-15&lang=en")
        assert page.status_code == 200, role
        text = page.get_data(as_text=True)
        assert 'data-table="households"' in text and "<svg" in text and 'href="/stats"' in text  # in the menu
        assert client.get("/stats/export.xlsx").status_code == 200, role
    for role, user in refused.items():
        login_as(user)
        assert client.get("/stats").status_code in (403, 404), role
        assert client.get("/stats/export.xlsx").status_code in (403, 404), role
    login_as(dataset["wuhan"].caseworker)
    assert client.get("/stats?region=420502").status_code == 403  # Yichang lies outside Wuhan
    assert client.get("/stats/export.xlsx?region=420502").status_code == 403
    assert client.get("/stats?region=420102").status_code == 200
    assert client.get("/stats?from=2026-06-01&to=2026-01-01").status_code == 422
    assert client.get("/stats?from=2020-01-01&to=2026-06-01").status_code == 422  # more than five years
    assert client.get("/stats?from=not-a-date").status_code == 422


def test_statistics_export_holds_the_page_figures(app, dataset, client, login_as):
    login_as(dataset["wuhan"].caseworker)
    resp = client.get("/stats/export.xlsx?from=2026-01-01&to=2026-06-15")
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in resp.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(resp.data))
    assert wb.sheetnames == ["households", "behaviours", "list_entries", "appeals", "late", "checks"]
    rows = list(wb["behaviours"].iter_rows(values_only=True))
    assert rows[1][1] == "湖北省 武汉市" and rows[1][3] == "2026-01-01" and rows[1][5] == "2026-06-15"
    assert len(rows[2]) == 8  # code, six months, total
    assert [list(r) for r in rows[3:]] == [["HB06", 0, 0, 1, 0, 0, 0, 1], ["HB08", 0, 0, 0, 1, 0, 0, 1]]
    households = list(wb["households"].iter_rows(values_only=True))[3:]
    assert [r[0] for r in households] == ["江岸区"] and households[0][-1] == 3
    # nothing personal: no name or ID number anywhere in the workbook
    cells = [str(c) for ws in wb for row in ws.iter_rows(values_only=True) for c in row if c is not None]
    assert not any("张三丰" in c or c.startswith("420102") and len(c) == 18 for c in cells)

