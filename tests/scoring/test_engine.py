"""The pure scoring engine (HB 五; SPEC §5, §13), with properties checked by hypothesis."""
from __future__ import annotations

import dataclasses
from datetime import date, timedelta

from hypothesis import given, settings, strategies as st

from housingcredit.clock import add_months
from housingcredit.lists.engine import watch_status
from housingcredit.rules import default_rules
from housingcredit.scoring.engine import RecordFact, compute_credit, standing

RULES = default_rules()
VERSION = RULES.version_at(date(2026, 1, 1))
CODES = [b.code for b in VERSION.catalogue_for(None)]
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


def counts(r: RecordFact, as_of: date) -> bool:
    return standing(r, as_of) and as_of <= add_months(r.determined, RULES.behaviour_on(r.code, None, r.determined)
                                                      .use_months)


# ---- examples ----

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
    assert result.total_deduction == sum(i.deduct for i in result.items)
    assert result.score == max(0, 100 - result.total_deduction)
    assert result.tier == VERSION.tier_for_score(result.score)


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
        behaviour = RULES.behaviour_on(r.code, None, r.determined)
        gone = ((r.revoked and r.revoked <= as_of) or (r.repaired and r.repaired <= as_of)
                or as_of > add_months(r.determined, behaviour.use_months) or not r.confirmed)
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
