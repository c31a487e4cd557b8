"""Issue 18 statistics, "households by tier and region" and "behaviours by code and month" (DESIGN rule 2:
figures from the same derived state as every other page): the households count reads the credit cache, whose
`region_code` is kept beside the tier — written with the tier, following a household's move at once, checked by
`flask credit verify`; the behaviours count reads the records' stored `confirmed_unrevoked`, written with the
determination and the revocation. For a small dataset the page's figures equal a direct count (every household's
tier asked of the engine from its facts; every record's determination and revocation joined) in both scopes, the
province (by prefecture) and a caseworker's prefecture (by county), and a region filter inside it; the page's
statements do not grow with the rows. No timing here (benchmarks/bench_stats.py measures it at 1.1M)."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

import pytest
import sqlalchemy as sa

from housingcredit.accounts import regions
from housingcredit.archives import service as archives
from housingcredit.archives.models import Household
from housingcredit.clock import get_clock
from housingcredit.extensions import db
from housingcredit.records.models import Decision, Determination, Record, Revocation
from housingcredit.scoring import service as scoring
from housingcredit.scoring.engine import compute_credit
from housingcredit.scoring.models import CreditState
from housingcredit.stats import figures
from tests import factories
from tests.lists.helpers import Staff, confirm_on
from tests.records.helpers import make_record, revoke

from ..lists.test_pages_at_scale import statements

TODAY = date(2026, 6, 15)
RANGE = {"from": "2026-01-01", "to": "2026-06-15"}


def _add(clock, staffs: dict, plan: list[tuple[str, str | None]], day: date) -> list[Household]:
    """Households of `plan` ((county, behaviour code or None)), each record confirmed on `day`."""
    made = []
    for county, code in plan:
        h = factories.make_household(county)
        if code:
            confirm_on(clock, staffs[county[:4] + "00"], h, code, day)
        made.append(h)
    clock.set(TODAY)
    return made


PLAN = [("420102", "HB06"), ("420102", "HB08"), ("420102", None), ("420102", None),
        ("420103", "HB08"), ("420103", None), ("420502", "HB06"), ("420502", None), ("420503", "HB08")]


@pytest.fixture
def spread(app, clock):
    """Wuhan (江岸区, 江汉区) and Yichang (西陵区, 伍家岗区): moderate, mild and clean households."""
    staffs = {"420100": Staff("420100"), "420500": Staff("420500")}
    made = _add(clock, staffs, PLAN, date(2026, 3, 10))
    return {"staffs": staffs, "households": made}


def _direct(scope: str, by_prefecture: bool) -> dict[str, Counter]:
    """Every household of `scope` with its tier from the engine (its facts, today), counted by region name."""
    rules, today = scoring.rules_book(), get_clock().today()
    out: dict[str, Counter] = defaultdict(Counter)
    for hid, code in db.session.execute(sa.select(Household.id, Household.region_code)):
        if not regions.covers(scope, code):
            continue
        tier = compute_credit(scoring.facts_for([hid])[hid], rules, today).tier
        out[regions.get(code[:4] + "00" if by_prefecture else code).name][tier] += 1
    return out


def _page(data) -> dict[str, Counter]:
    table = next(t for t in data["tables"] if t["key"] == "households")
    tiers = list(scoring.rules_book().version_at(get_clock().today()).tiers)
    out = {}
    for row in table["rows"]:
        name, *counts, total = row["cells"]
        assert sum(counts) == total
        out[name] = Counter({t: n for t, n in zip(tiers, counts) if n})
    return out


def test_statistics_households_by_tier_equal_a_direct_count_in_both_scopes(spread):
    supervisor = factories.make_user("supervisor", "420000")
    province = _page(figures.figures(RANGE, supervisor))
    assert province == _direct("420000", by_prefecture=True)
    assert province["武汉市"] == Counter({"good": 3, "mild": 2, "moderate": 1})  # the dataset is what it says
    wuhan = _page(figures.figures(RANGE, spread["staffs"]["420100"].caseworker))
    assert wuhan == _direct("420100", by_prefecture=False)
    assert set(wuhan) == {"江岸区", "江汉区"}
    yichang = _page(figures.figures(RANGE, spread["staffs"]["420500"].caseworker))
    assert yichang == _direct("420500", by_prefecture=False)
    one_county = _page(figures.figures({**RANGE, "region": "420103"}, supervisor))
    assert one_county == _direct("420103", by_prefecture=False) == {"江汉区": Counter({"good": 1, "mild": 1})}


def _direct_behaviours(scope: str) -> dict[str, int]:
    """Confirmed records without a revocation formed in the range, by code, from the facts themselves."""
    out: Counter = Counter()
    rows = db.session.execute(
        sa.select(Record.code, Record.region_code, Record.formed_date, Determination.decision, Revocation.id)
        .join(Determination, Determination.record_id == Record.id)
        .outerjoin(Revocation, Revocation.record_id == Record.id)).all()
    for code, region, formed, decision, revoked in rows:
        if decision == Decision.confirmed and revoked is None and regions.covers(scope, region) \
                and date(2026, 1, 1) <= formed <= TODAY:
            out[code] += 1
    return dict(out)


def test_statistics_behaviours_equal_a_direct_count_of_confirmed_unrevoked_records(spread, clock):
    wuhan = spread["staffs"]["420100"]
    clean = spread["households"][2]
    revoked = confirm_on(clock, wuhan, clean, "HB08", date(2026, 4, 20))
    clock.set(TODAY)
    revoke(revoked, factories.make_user("supervisor", "420000"), factories.make_user("supervisor", "420000"))
    rejected = make_record(spread["households"][3], wuhan.caseworker, "HB08")
    records_service_determine(rejected, wuhan.reviewer)
    supervisor = factories.make_user("supervisor", "420000")
    for who, scope, args in ((supervisor, "420000", RANGE), (wuhan.caseworker, "420100", RANGE),
                             (spread["staffs"]["420500"].caseworker, "420500", RANGE),
                             (supervisor, "420102", {**RANGE, "region": "420102"})):
        table = next(t for t in figures.figures(args, who)["tables"] if t["key"] == "behaviours")
        assert {r["cells"][0]: r["cells"][-1] for r in table["rows"]} == _direct_behaviours(scope), scope
    assert _direct_behaviours("420100") == {"HB06": 1, "HB08": 2}  # the revoked and the rejected one left out


def records_service_determine(record, reviewer):
    from housingcredit.records import service
    service.determine(record.id, "rejected", "HB 五", reviewer)
    db.session.commit()


def test_statistics_a_moved_household_counts_in_its_new_region_at_once(spread, runner):
    mild = spread["households"][1]  # 江岸区, mild
    h = archives.require_household(mild.id)
    data = {"region_code": "420503", "address": h.address, "protection_category": "physical",
            "protection_group": h.protection_group, "version": h.version,
            "members": [{"id": m.id, "name": m.name, "id_number": m.id_number, "relation": m.relation.value}
                        for m in h.members]}
    archives.update_household(mild.id, data, factories.make_user("supervisor", "420000"))
    db.session.commit()
    assert db.session.get(CreditState, mild.id, populate_existing=True).region_code == "420503"
    wuhan = _page(figures.figures(RANGE, spread["staffs"]["420100"].caseworker))
    yichang = _page(figures.figures(RANGE, spread["staffs"]["420500"].caseworker))
    assert wuhan["江岸区"] == Counter({"good": 2, "moderate": 1})
    assert yichang["伍家岗区"] == Counter({"mild": 2})
    assert yichang == _direct("420500", by_prefecture=False)
    result = runner.invoke(args=["credit", "verify"])
    assert result.exit_code == 0, result.output  # the cache followed the move: no drift


def test_statistics_page_statements_do_not_grow_with_rows(spread, clock, client, login_as):
    supervisor = factories.make_user("supervisor", "420000")
    users = {"supervisor": supervisor, "caseworker": spread["staffs"]["420100"].caseworker}

    def measure() -> dict:
        counts = {}
        for role, user in users.items():
            login_as(user)
            for url in ("/stats", "/stats?region=420102", "/stats/export.xlsx"):
                client.get(url)  # warm: first-time loads (rules, regions) are not the page's
                with statements() as seen:
                    assert client.get(url).status_code == 200, url
                counts[(role, url)] = len(seen)
        return counts

    small = measure()
    _add(clock, spread["staffs"], PLAN + PLAN, date(2026, 5, 4))  # 3N households, records, watch entries
    assert measure() == small
