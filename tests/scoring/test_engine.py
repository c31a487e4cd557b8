"""The pure scoring engine (HB 五; SPEC §5, §13), with properties checked by hypothesis."""
from __future__ import annotations

import dataclasses
from datetime import date, timedelta

from hypothesis import given, settings, strategies as st

import calendar

import pytest

from housingcredit.lists.engine import watch_status
from housingcredit.rules import default_rules
from housingcredit.scoring.engine import RecordFact, compute_credit

RULES = default_rules()
# The SPEC §3 catalogue, written out here so that the properties below do not take their expectations from the
# rules loader or the clock they check: (deduction, tier, use period in months).
SPEC_3 = {"HB01": (20, "moderate", 12), "HB02": (50, "severe", 36), "HB03": (10, "mild", 6),
          "HB04": (30, "severe", 36), "HB05": (20, "moderate", 12), "HB06": (15, "moderate", 12),
          "HB07": (10, "mild", 6), "HB08": (5, "mild", 6), "HB09": (30, "severe", 36), "HB10": (20, "moderate", 12)}
CODES = sorted(SPEC_3)
FIRST, LAST = date(2019, 1, 1), date(2027, 12, 31)
PROPERTY = settings(max_examples=300, database=None, deadline=None)

days = st.dates(min_value=FIRST, max_value=LAST)


@st.composite
def a_record(draw, ids=st.integers(0, 10**6), determined=days):
    d = draw(determined)
    later = st.one_of(st.none(), st.dates(min_value=d, max_value=d + timedelta(days=1500)))
    return RecordFact(id=draw(ids), code=draw(st.sampled_from(CODES)), determined=d, revoked=draw(later),
                      repaired=draw(later), confirmed=draw(st.sampled_from([True, True, True, False])))


def records(max_size=8, determined=days):
    return st.lists(a_record(determined=determined), max_size=max_size, unique_by=lambda r: r.id)


def spec_5_tier(score: int) -> str:
    """The SPEC §5 table: 100 good; 90–99 mild; 71–89 moderate; 70 or below severe."""
    return "good" if score == 100 else "mild" if score >= 90 else "moderate" if score >= 71 else "severe"


def last_day_counted(d: date, months: int) -> date:
    """SPEC §3 `D + N months`, worked out independently of housingcredit.clock: step to the first day of the
    target month, then take D's day number or that month's last day."""
    first = date(d.year + (d.month - 1 + months) // 12, (d.month - 1 + months) % 12 + 1, 1)
    return first.replace(day=min(d.day, calendar.monthrange(first.year, first.month)[1]))


def counts(r: RecordFact, as_of: date) -> bool:
    """SPEC §5: confirmed, determined on or before as_of, within its use period, neither revoked nor repaired by then."""
    return (r.confirmed and r.determined <= as_of <= last_day_counted(r.determined, SPEC_3[r.code][2])
            and (r.revoked is None or r.revoked > as_of) and (r.repaired is None or r.repaired > as_of))


# ---- examples ----

def test_spec_3_the_default_catalogue_is_the_spec_table():
    version = RULES.version_at(date(2026, 1, 1))
    assert {b.code: (b.deduct, b.tier, b.use_months) for b in version.catalogue_for(None) if b.code != "HB11"} \
        == SPEC_3


@pytest.mark.parametrize("code, determined, as_of, score, tier", [
    # SPEC §3: a use period of N months from D counts from D through D + N months inclusive, no longer the day after
    ("HB08", date(2026, 6, 15), date(2026, 6, 14), 100, "good"),     # not yet determined
    ("HB08", date(2026, 6, 15), date(2026, 6, 15), 95, "mild"),      # D itself
    ("HB08", date(2026, 6, 15), date(2026, 12, 15), 95, "mild"),     # D + 6 months: still counts
    ("HB08", date(2026, 6, 15), date(2026, 12, 16), 100, "good"),    # the day after
    ("HB03", date(2025, 8, 31), date(2026, 2, 28), 90, "mild"),      # 31 Aug + 6 months = 28 Feb
    ("HB03", date(2025, 8, 31), date(2026, 3, 1), 100, "good"),
    ("HB07", date(2023, 8, 31), date(2024, 2, 29), 90, "mild"),      # ... or 29 Feb in a leap year
    ("HB07", date(2023, 8, 31), date(2024, 3, 1), 100, "good"),
    ("HB06", date(2024, 2, 29), date(2025, 2, 28), 85, "moderate"),  # 29 Feb + 12 months = 28 Feb
    ("HB06", date(2024, 2, 29), date(2025, 3, 1), 100, "good"),
    ("HB01", date(2025, 3, 31), date(2026, 3, 31), 80, "moderate"),  # a 31st that exists 12 months later
    ("HB01", date(2025, 3, 31), date(2026, 4, 1), 100, "good"),
    ("HB04", date(2026, 3, 31), date(2029, 3, 31), 70, "severe"),    # 3 years
    ("HB04", date(2026, 3, 31), date(2029, 4, 1), 100, "good"),
])
def test_spec_3_use_period_counts_from_d_through_d_plus_n_months_inclusive(code, determined, as_of, score, tier):
    result = compute_credit([RecordFact(id=1, code=code, determined=determined)], RULES, as_of)
    assert (result.score, result.tier) == (score, tier)


@pytest.mark.parametrize("code, determined, counts_through, next_change", [
    ("HB08", date(2026, 6, 15), date(2026, 12, 15), date(2026, 12, 16)),
    ("HB03", date(2025, 8, 31), date(2026, 2, 28), date(2026, 3, 1)),
    ("HB07", date(2023, 8, 31), date(2024, 2, 29), date(2024, 3, 1)),
    ("HB06", date(2024, 2, 29), date(2025, 2, 28), date(2025, 3, 1)),
    ("HB04", date(2026, 3, 31), date(2029, 3, 31), date(2029, 4, 1)),
])
def test_spec_3_explanation_states_the_last_day_counted(code, determined, counts_through, next_change):
    result = compute_credit([RecordFact(id=1, code=code, determined=determined)], RULES, determined)
    (item,) = result.items
    assert (item.counts_through, result.next_change) == (counts_through, next_change)


@pytest.mark.parametrize("codes, total, score, tier", [
    ((), 0, 100, "good"),
    (("HB08",), 5, 95, "mild"),                    # one behaviour lands in its own tier (SPEC §5)
    (("HB07",), 10, 90, "mild"),                    # the lowest mild score
    (("HB06",), 15, 85, "moderate"),
    (("HB03", "HB07", "HB08"), 25, 75, "moderate"),  # three mild records: 100 - 25
    (("HB04",), 30, 70, "severe"),                  # 70 or below is severe
    (("HB06", "HB03", "HB08"), 30, 70, "severe"),
    (("HB02", "HB04"), 80, 20, "severe"),
    (("HB02", "HB04", "HB09"), 110, 0, "severe"),   # 110 deducted: floor 0
    (("HB02", "HB04", "HB09", "HB10", "HB01"), 150, 0, "severe"),
])
def test_spec_5_score_is_100_minus_deductions_floored_at_zero_with_its_tier(codes, total, score, tier):
    recs = [RecordFact(id=i, code=c, determined=date(2026, 3, 2)) for i, c in enumerate(codes)]
    result = compute_credit(recs, RULES, date(2026, 3, 2))
    assert (result.total_deduction, result.score, result.tier) == (total, score, tier)


def test_spec_5_a_repaired_record_counts_before_the_repair_date_and_not_from_it():
    rec = RecordFact(id=1, code="HB04", determined=date(2026, 3, 2), repaired=date(2026, 5, 6))
    assert compute_credit([rec], RULES, date(2026, 5, 5)).score == 70
    assert compute_credit([rec], RULES, date(2026, 5, 6)).score == 100
    assert compute_credit([rec], RULES, date(2026, 5, 6)).items == ()


def test_spec_5_a_revoked_record_counts_before_the_revocation_date_and_not_from_it():
    rec = RecordFact(id=1, code="HB06", determined=date(2026, 3, 2), revoked=date(2026, 4, 20))
    assert compute_credit([rec], RULES, date(2026, 4, 19)).score == 85
    assert compute_credit([rec], RULES, date(2026, 4, 20)).score == 100

def test_hb_five_explanation_names_record_clause_and_version():
    result = compute_credit([RecordFact(id=7, code="HB06", determined=date(2026, 5, 20))], RULES, date(2026, 6, 1))
    (item,) = result.items
    assert (item.record_id, item.clause, item.version, item.deduct, item.tier) == \
        (7, "HB 四(六)", "hubei-2018", 15, "moderate")
    assert item.counts_through == date(2027, 5, 20)
    assert result.next_change == date(2027, 5, 21)
    assert (result.score, result.tier, result.total_deduction) == (85, "moderate", 15)


def test_spec_4_an_unconfirmed_record_never_counts():
    pending = RecordFact(id=1, code="HB04", determined=date(2026, 2, 3), confirmed=False)
    assert compute_credit([pending], RULES, date(2026, 2, 3)).score == 100


def test_items_are_sorted_by_determination_then_id():
    recs = [RecordFact(id=i, code="HB08", determined=d) for i, d in
            [(10, date(2026, 3, 1)), (9, date(2026, 3, 1)), (2, date(2026, 4, 1))]]
    assert [i.record_id for i in compute_credit(recs, RULES, date(2026, 4, 2)).items] == [9, 10, 2]


def test_spec_13_a_record_is_judged_by_the_version_of_its_determination_date(tmp_path):
    import yaml
    from housingcredit import clock
    from housingcredit.rules import load_rules

    source = clock.CONFIG_DIR / "rules" / "2018-12-01-hubei.yaml"
    (tmp_path / "a.yaml").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    data.update(effective=date(2026, 1, 1), name="hubei-2026")
    next(i for i in data["catalogue"] if i["code"] == "HB06")["deduct"] = 20
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    book = load_rules(tmp_path)

    before = RecordFact(id=1, code="HB06", determined=date(2025, 12, 31))
    after = RecordFact(id=2, code="HB06", determined=date(2026, 1, 5))
    result = compute_credit([before, after], book, date(2026, 3, 1))
    assert [(i.deduct, i.version) for i in result.items] == [(15, "hubei-2018"), (20, "hubei-2026")]
    assert result.score == 65


# ---- properties ----

@PROPERTY
@given(records(), days)
def test_spec_5_score_is_base_minus_counting_deductions_floored_at_zero(recs, as_of):
    result = compute_credit(recs, RULES, as_of)
    assert {i.record_id for i in result.items} == {r.id for r in recs if counts(r, as_of)}
    expected_total = sum(SPEC_3[r.code][0] for r in recs if counts(r, as_of))
    assert result.total_deduction == expected_total
    assert result.score == max(0, 100 - expected_total)
    assert result.tier == spec_5_tier(result.score)


@PROPERTY
@given(records(), a_record(ids=st.just(-1)), days)
def test_hb_five_adding_a_confirmed_record_never_raises_the_score(recs, extra, as_of):
    extra = dataclasses.replace(extra, confirmed=True)
    assert compute_credit(recs + [extra], RULES, as_of).score <= compute_credit(recs, RULES, as_of).score


@PROPERTY
@given(records(), days)
def test_spec_5_revoked_repaired_and_expired_records_never_count(recs, as_of):
    counted = {i.record_id for i in compute_credit(recs, RULES, as_of).items}
    for r in recs:
        gone = ((r.revoked and r.revoked <= as_of) or (r.repaired and r.repaired <= as_of)
                or as_of > last_day_counted(r.determined, SPEC_3[r.code][2]) or not r.confirmed)
        if gone:
            assert r.id not in counted


@st.composite
def history_and_later_facts(draw, period=days):
    """Records known on as_of, and the same world with facts dated after as_of added."""
    as_of = draw(period)
    recs = draw(records(determined=period))
    later_day = st.dates(min_value=as_of + timedelta(days=1), max_value=LAST + timedelta(days=400))
    grown = []
    for r in recs:
        if r.determined <= as_of:  # later revocations or repairs of what was known
            if r.revoked is None or r.revoked > as_of:
                r = dataclasses.replace(r, revoked=draw(st.one_of(st.none(), later_day)))
            if r.repaired is None or r.repaired > as_of:
                r = dataclasses.replace(r, repaired=draw(st.one_of(st.none(), later_day)))
        grown.append(r)
    new = draw(st.lists(a_record(ids=st.integers(-10**6, -1), determined=later_day), max_size=4,
                        unique_by=lambda r: r.id))
    return as_of, recs, grown + new


@PROPERTY
@given(history_and_later_facts())
def test_spec_5_a_past_answer_never_changes_when_later_facts_are_added(case):
    as_of, known, grown = case
    assert compute_credit(known, RULES, as_of) == compute_credit(grown, RULES, as_of)


@PROPERTY
@given(history_and_later_facts(period=st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 12, 31))))
def test_spec_6_past_watch_status_never_changes_when_later_facts_are_added(case):
    as_of, known, grown = case
    assert watch_status(known, RULES, as_of) == watch_status(grown, RULES, as_of)
