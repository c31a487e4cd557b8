"""Measures (惩戒措施清单, HB 六; SPEC §8): where each comes from, how long, suspension by objections (HB 七),
the credit check's conclusion, and the rules data behind them."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from housingcredit.lists.engine import ObjectionFact, OpeningFact, ProcedureFacts
from housingcredit.lists.measures import measures_on
from housingcredit.rules import default_rules
from housingcredit.rules.loader import RulesError, load_rules
from housingcredit.scoring.engine import RecordFact

RULES = default_rules()
DEFAULT = Path(__file__).resolve().parents[2] / "config" / "rules" / "2018-12-01-hubei.yaml"
LISTED = ProcedureFacts(openings=(OpeningFact(date(2026, 6, 8), "overdue_order", "a", id="p1"),))  # L 2026-06-26


def codes(measures):
    return sorted(m.code for m in measures)


def test_spec8_measures_name_the_businesses_they_restrict():
    version = RULES.version_at(date(2026, 1, 1))
    restricts = {code: m.restricts for code, m in version.measures.items() if m.restricts}
    assert restricts == {"no_swap_or_upgrade": ("swap",), "eligibility_review": ("allocation", "renewal"),
                         "recovery": ("renewal", "swap", "subsidy"),
                         "no_new_application": ("application", "allocation")}
    assert dict(version.measures_by_tier) == {
        "mild": ("interview", "education"),
        "moderate": ("written_warning", "quarterly_inspection", "no_swap_or_upgrade"),
        "severe": ("written_warning", "quarterly_inspection", "no_swap_or_upgrade", "eligibility_review")}
    assert version.measures_by_list["punishment"] == ("recovery", "market_rent", "public_disclosure",
                                                      "joint_punishment")
    ban = version.application_ban
    assert (ban.measure, ban.years) == ("no_new_application", 5) and "住房城乡建设部令第11号" in ban.clause


def test_spec8_procedure_routes_and_disclosed_tiers_are_rules_data():
    version = RULES.version_at(date(2026, 1, 1))
    assert version.route_clause("watch_transfer").startswith("HB 六 (重点关注期限内发生中度以上失信行为")
    assert version.procedure_routes["court_judgment"].clause == "HB 六 (根据法院判决…认定为失信联合惩戒对象)"
    assert [version.is_disclosed(t) for t in ("mild", "moderate", "severe")] == [False, True, True]
    assert "MOHURD 2(2)" in version.disclosure.clause
    assert version.behaviour("HB03").counts_through(date(2025, 8, 31)) == date(2026, 2, 28)


def _draft(tmp_path, mutate) -> Path:
    data = yaml.safe_load(DEFAULT.read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "rules"
    path.mkdir()
    (path / "2018-12-01-hubei.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("measure", ["recovery", "market_rent", "public_disclosure", "joint_punishment",
                                     "no_new_application"])
def test_spec8_list_only_measure_for_a_tier_is_refused(tmp_path, measure):
    path = _draft(tmp_path, lambda d: d["measures"]["tiers"]["severe"].append(measure))
    with pytest.raises(RulesError, match=f"measures.tiers.severe: grants list-only measure.*{measure}"):
        load_rules(path)


def test_spec8_a_measure_restricting_an_unknown_business_is_refused(tmp_path):
    path = _draft(tmp_path, lambda d: d["measures"]["items"][0].update(restricts=["lottery"]))
    with pytest.raises(RulesError, match="measures.items interview: restricts unknown business"):
        load_rules(path)


def test_spec10_disclosing_mild_items_is_refused(tmp_path):
    path = _draft(tmp_path, lambda d: d["disclosure"]["tiers"].append("mild"))
    with pytest.raises(RulesError, match="disclosure.tiers: mild items are collected only"):
        load_rules(path)


def test_spec8_severe_record_alone_gives_eligibility_review_never_list_measures():
    result = measures_on([RecordFact("a", "HB04", date(2026, 2, 2))], RULES, date(2026, 3, 2))
    assert codes(result.in_force) == ["eligibility_review", "no_swap_or_upgrade", "quarterly_inspection",
                                      "written_warning"]
    review = next(m for m in result.in_force if m.code == "eligibility_review")
    assert [(b.kind, b.ref, b.until) for b in review.bases] == [("tier", "severe", date(2029, 2, 2))]


def test_spec8_watch_measures_last_through_the_entrys_last_day():
    result = measures_on([RecordFact("a", "HB08", date(2026, 3, 2)), RecordFact("b", "HB08", date(2026, 5, 6))],
                         RULES, date(2026, 6, 1))
    swap = next(m for m in result.in_force if m.code == "no_swap_or_upgrade")
    assert [(b.kind, b.since, b.until) for b in swap.bases] == [("watch", date(2026, 5, 6), date(2027, 5, 6))]
    assert codes(result.in_force) == ["education", "interview", "no_swap_or_upgrade", "quarterly_inspection",
                                      "written_warning"]


def test_spec8_listing_measures_from_l_and_the_ban_through_l_plus_five_years():
    records = [RecordFact("a", "HB04", date(2026, 2, 2))]
    on_l = measures_on(records, RULES, date(2026, 6, 26), LISTED)
    recovery = next(m for m in on_l.in_force if m.code == "recovery")
    assert [(b.kind, b.ref, b.since, b.until) for b in recovery.bases] == [
        ("listing", "p1", date(2026, 6, 26), date(2029, 6, 26))]
    ban = next(m for m in on_l.in_force if m.code == "no_new_application")
    assert (ban.until, ban.clause) == (date(2031, 6, 26), "公共租赁住房管理办法（住房城乡建设部令第11号）")
    assert on_l.conclusion("application").conclusion == "restricted"


def test_spec8_ban_ends_when_the_ground_is_repaired_after_the_term():
    records = [RecordFact("a", "HB04", date(2026, 2, 2), repaired=date(2030, 1, 10))]
    before = measures_on(records, RULES, date(2030, 1, 9), LISTED)
    assert codes(before.in_force) == ["no_new_application"]
    assert next(m for m in before.in_force).until == date(2031, 6, 26)  # the repair of 2030-01-10 is not known yet
    after = measures_on(records, RULES, date(2030, 1, 10), LISTED)
    assert after.in_force == () and after.lists.procedures[0].ban_through == date(2030, 1, 9)


def test_spec8_suspended_measure_names_its_objection():
    records = [RecordFact("a", "HB04", date(2026, 2, 2))]
    facts = ProcedureFacts(openings=LISTED.openings,
                           objections=(ObjectionFact("o7", date(2026, 7, 6), record_id="a"),))
    result = measures_on(records, RULES, date(2026, 7, 6), facts)
    assert result.in_force == () and result.tier_without_disputed == "good"
    assert {m.code: m.suspended_by for m in result.suspended} == {
        c: ("o7",) for c in ("written_warning", "quarterly_inspection", "no_swap_or_upgrade", "eligibility_review",
                             "recovery", "market_rent", "public_disclosure", "joint_punishment", "no_new_application")}


def test_spec8_a_measure_in_force_on_another_basis_is_not_suspended():
    # a + b (mild, 10 + 10) make the watch entry on 03-16 and a moderate tier (80); c (mild, 5) comes later.
    records = [RecordFact("a", "HB03", date(2026, 1, 12)), RecordFact("b", "HB07", date(2026, 3, 16)),
               RecordFact("c", "HB08", date(2026, 4, 1))]
    facts = ProcedureFacts(objections=(ObjectionFact("o1", date(2026, 4, 8), record_id="a"),))
    result = measures_on(records, RULES, date(2026, 4, 10), facts)
    # without a: the entry falls (b alone), but the tier stays moderate (85): the watch measures stay in force
    assert result.suspended == ()
    warning = next(m for m in result.in_force if m.code == "written_warning")
    assert [(b.kind, b.suspended_by) for b in warning.bases] == [("tier", ()), ("watch", ("o1",))]


def test_spec8_a_repeat_objection_suspends_nothing():
    records = [RecordFact("a", "HB06", date(2026, 1, 15))]
    facts = ProcedureFacts(objections=(ObjectionFact("o2", date(2026, 3, 1), record_id="a", repeat=True),))
    result = measures_on(records, RULES, date(2026, 3, 2), facts)
    assert result.suspended == () and result.conclusion("swap").conclusion == "restricted"


def test_spec8_conclusion_names_each_restricting_measure_with_its_clause():
    result = measures_on([RecordFact("a", "HB04", date(2026, 2, 2))], RULES, date(2026, 6, 26), LISTED)
    conclusion = result.conclusion("renewal")
    assert conclusion.conclusion == "restricted"
    assert [(m.code, m.clause) for m in conclusion.restricted_by] == [
        ("eligibility_review", "HB 六; 省政府令第398号"), ("recovery", "HB 六(一)(四)")]
    assert result.conclusion("exit").conclusion == "may_proceed"
