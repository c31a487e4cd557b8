"""The watch list (重点关注名单, HB 六; SPEC §6) and the procedure clock (SPEC §7), beyond the golden cases."""
from __future__ import annotations

from datetime import date

import pytest

from housingcredit.lists.engine import WATCH_TRANSFER, procedure_clock, watch_history, watch_status
from housingcredit.rules import default_rules
from housingcredit.scoring.engine import RecordFact

RULES = default_rules()


def rec(id, code, determined, **kw):
    return RecordFact(id=id, code=code, determined=determined, **kw)


def test_hb_six_two_mild_on_the_same_day_enter_with_both_as_grounds():
    history = watch_history([rec("a", "HB03", date(2026, 3, 2)), rec("b", "HB08", date(2026, 3, 2))],
                            RULES, date(2026, 12, 31))
    (entry,) = history.entries
    assert (entry.start, entry.until, entry.end, entry.grounds) == (date(2026, 3, 2), date(2027, 3, 2), None,
                                                                   ("a", "b"))


def test_hb_six_one_mild_alone_does_not_enter():
    assert watch_history([rec("a", "HB08", date(2026, 3, 2))], RULES, date(2027, 12, 31)).entries == []


def test_spec_6_expired_mild_still_counts_as_earlier_behaviour():
    # a's 6-month use period is over on 2026-09-14, but it is within the 12-month window
    history = watch_history([rec("a", "HB08", date(2026, 1, 5)), rec("b", "HB07", date(2026, 9, 14))],
                            RULES, date(2026, 12, 31))
    assert [(e.start, e.grounds) for e in history.entries] == [(date(2026, 9, 14), ("a", "b"))]


def test_spec_6_one_fallen_mild_ground_leaves_the_entry_when_two_remain():
    recs = [rec("a", "HB03", date(2026, 3, 2), revoked=date(2026, 4, 1)), rec("b", "HB07", date(2026, 3, 2)),
            rec("c", "HB08", date(2026, 3, 2), repaired=date(2026, 5, 6))]
    (entry,) = watch_history(recs, RULES, date(2026, 12, 31)).entries
    assert (entry.end, entry.reason) == (date(2026, 5, 6), "grounds_fell")


def test_spec_6_a_moderate_entry_stands_while_one_moderate_ground_stands():
    recs = [rec("a", "HB06", date(2026, 3, 2), revoked=date(2026, 4, 1)), rec("b", "HB05", date(2026, 3, 2))]
    (entry,) = watch_history(recs, RULES, date(2026, 12, 31)).entries
    assert (entry.grounds, entry.end) == (("a", "b"), None)


def test_spec_6_within_a_day_expiry_comes_before_revocation():
    recs = [rec("a", "HB06", date(2025, 3, 3), revoked=date(2026, 3, 4))]
    (entry,) = watch_history(recs, RULES, date(2026, 12, 31)).entries
    assert (entry.until, entry.end, entry.reason) == (date(2026, 3, 3), date(2026, 3, 4), "expired")


def test_spec_6_within_a_day_revocation_comes_before_determination():
    # the earlier mild falls on the day the second is determined: no repeated mild behaviour that day
    recs = [rec("a", "HB03", date(2026, 1, 5), revoked=date(2026, 3, 2)), rec("b", "HB08", date(2026, 3, 2))]
    assert watch_history(recs, RULES, date(2026, 12, 31)).entries == []


def test_spec_6_an_ended_entry_never_comes_back_and_a_later_record_starts_a_new_one():
    recs = [rec("a", "HB06", date(2026, 1, 15), repaired=date(2026, 4, 20)), rec("b", "HB05", date(2026, 6, 1))]
    entries = watch_history(recs, RULES, date(2026, 12, 31)).entries
    assert [(e.start, e.end, e.reason) for e in entries] == [
        (date(2026, 1, 15), date(2026, 4, 20), "grounds_fell"), (date(2026, 6, 1), None, None)]


def test_hb_six_watch_transfer_opens_a_procedure_that_blocks_new_entries():
    opened = date(2026, 8, 17)
    recs = [rec("a", "HB06", date(2026, 2, 10)), rec("b", "HB04", opened), rec("c", "HB05", date(2027, 3, 1))]
    history = watch_history(recs, RULES, date(2029, 12, 31))
    (entry,) = history.entries
    assert (entry.end, entry.reason) == (opened, "transferred")
    (opening,) = history.procedures_opened
    assert (opening.date, opening.record_id, opening.route) == (opened, "b", WATCH_TRANSFER)

    # O = 2026-08-17 (Mon): L = O + 13 working days = 2026-09-03, listed through L + 3 years = 2029-09-03
    blocked = watch_history(recs + [rec("d", "HB01", date(2029, 9, 3))], RULES, date(2029, 12, 31))
    assert [e.start for e in blocked.entries] == [date(2026, 2, 10)]
    history = watch_history(recs + [rec("d", "HB01", date(2029, 9, 4))], RULES, date(2029, 12, 31))
    assert [e.start for e in history.entries] == [date(2026, 2, 10), date(2029, 9, 4)]


def test_spec_7_revoking_the_transferring_record_ends_its_procedure_and_the_block():
    recs = [rec("a", "HB06", date(2026, 2, 10)), rec("b", "HB04", date(2026, 8, 17), revoked=date(2026, 9, 1)),
            rec("c", "HB05", date(2026, 10, 12))]
    history = watch_history(recs, RULES, date(2026, 12, 31))
    assert [(e.start, e.reason) for e in history.entries] == [(date(2026, 2, 10), "transferred"),
                                                              (date(2026, 10, 12), None)]


def test_hb_six_a_procedure_by_another_route_ends_the_entry_and_blocks():
    recs = [rec("a", "HB06", date(2026, 2, 10)), rec("b", "HB05", date(2026, 5, 4))]
    history = watch_history(recs, RULES, date(2026, 12, 31), other_procedures=[date(2026, 4, 1)])
    (entry,) = history.entries
    assert (entry.end, entry.reason) == (date(2026, 4, 1), "transferred")
    assert [(p.date, p.record_id, p.route) for p in history.procedures_opened] == [(date(2026, 4, 1), None, "other")]


def test_hb_six_no_entry_while_in_a_procedure_opened_by_another_route():
    history = watch_history([rec("a", "HB06", date(2026, 5, 4))], RULES, date(2026, 12, 31),
                            other_procedures=[date(2026, 4, 1)])
    assert history.entries == []


def test_spec_6_watch_status_is_the_entry_in_force():
    recs = [rec("a", "HB06", date(2026, 2, 10))]
    assert watch_status(recs, RULES, date(2026, 2, 9)) is None
    assert watch_status(recs, RULES, date(2026, 2, 10)).until == date(2027, 2, 10)
    assert watch_status(recs, RULES, date(2027, 2, 10)) is not None
    assert watch_status(recs, RULES, date(2027, 2, 11)) is None


def test_spec_6_unconfirmed_records_play_no_part():
    recs = [rec("a", "HB06", date(2026, 2, 10), confirmed=False)]
    assert watch_history(recs, RULES, date(2026, 12, 31)).entries == []


@pytest.mark.parametrize("opened, response_due, publicity_start, publicity_end, listing, listed_through", [
    # 2026-06-08 (Mon); 2026-06-19 (Fri) is the Dragon Boat Festival
    (date(2026, 6, 8), date(2026, 6, 15), date(2026, 6, 16), date(2026, 6, 25), date(2026, 6, 26),
     date(2029, 6, 26)),
    # 2026-09-28 (Mon): National Day 10-01..10-07 off, Saturday 10-10 an adjusted working day
    (date(2026, 9, 28), date(2026, 10, 10), date(2026, 10, 12), date(2026, 10, 20), date(2026, 10, 21),
     date(2029, 10, 21)),
    # 2026-09-18 (Fri): Sunday 09-20 is worked in lieu, 09-25 (Fri) is the Mid-autumn Festival
    (date(2026, 9, 18), date(2026, 9, 24), date(2026, 9, 28), date(2026, 10, 12), date(2026, 10, 13),
     date(2029, 10, 13)),
])
def test_spec_7_procedure_clock_o_plus_5_6_12_13_working_days_and_l_plus_3_years(
        opened, response_due, publicity_start, publicity_end, listing, listed_through):
    clock = procedure_clock(opened, RULES.version_at(opened))
    assert (clock.response_due, clock.publicity_start, clock.publicity_end, clock.listing_effective,
            clock.listed_through) == (response_due, publicity_start, publicity_end, listing, listed_through)
    assert clock.warning is None  # 2026 is a known year


def test_spec_6_period_is_t_through_t_plus_12_months_inclusive_a_moderate_on_the_last_day_transfers():
    recs = [rec("a", "HB06", date(2026, 2, 10)), rec("b", "HB05", date(2027, 2, 10))]
    history = watch_history(recs, RULES, date(2027, 12, 31))
    assert [(e.start, e.until, e.end, e.reason) for e in history.entries] == [
        (date(2026, 2, 10), date(2027, 2, 10), date(2027, 2, 10), "transferred")]
    assert [(p.date, p.record_id) for p in history.procedures_opened] == [(date(2027, 2, 10), "b")]


def test_spec_6_expiry_from_the_day_after_t_plus_12_months_a_moderate_then_starts_a_new_entry():
    recs = [rec("a", "HB06", date(2026, 2, 10)), rec("b", "HB05", date(2027, 2, 11))]
    history = watch_history(recs, RULES, date(2027, 12, 31))
    assert [(e.start, e.until, e.end, e.reason) for e in history.entries] == [
        (date(2026, 2, 10), date(2027, 2, 10), date(2027, 2, 11), "expired"),
        (date(2027, 2, 11), date(2028, 2, 11), None, None)]
    assert history.procedures_opened == []


def test_spec_6_a_mild_record_during_the_period_changes_nothing():
    recs = [rec("a", "HB06", date(2026, 2, 10)), rec("m", "HB08", date(2026, 12, 1))]
    history = watch_history(recs, RULES, date(2027, 12, 31))
    assert [(e.start, e.until, e.end, e.reason, e.grounds) for e in history.entries] == [
        (date(2026, 2, 10), date(2027, 2, 10), date(2027, 2, 11), "expired", ("a",))]


@pytest.mark.parametrize("earlier, enters", [
    (date(2023, 2, 28), True),   # 2024-02-29 - 12 months = 2023-02-28: on it counts
    (date(2023, 2, 27), False),  # the day before does not
])
def test_spec_6_within_12_months_before_t_means_on_or_after_t_minus_12_months(earlier, enters):
    recs = [rec("a", "HB03", earlier), rec("b", "HB08", date(2024, 2, 29))]
    entries = watch_history(recs, RULES, date(2024, 12, 31)).entries
    expected = [(date(2024, 2, 29), date(2025, 2, 28), ("a", "b"))] if enters else []
    assert [(e.start, e.until, e.grounds) for e in entries] == expected


def test_spec_6_two_standing_mild_in_the_window_keep_the_entry_when_the_day_t_record_falls():
    # a and b were blocked by a procedure whose ground (s) was later revoked; r on T starts an entry on {a, b, r}.
    recs = [rec("m", "HB06", date(2025, 9, 1)), rec("s", "HB04", date(2025, 10, 1), revoked=date(2026, 1, 5)),
            rec("a", "HB03", date(2025, 11, 3)), rec("b", "HB07", date(2025, 12, 1)),
            rec("r", "HB08", date(2026, 2, 2), revoked=date(2026, 3, 2))]
    history = watch_history(recs, RULES, date(2026, 12, 31))
    last = history.entries[-1]
    assert (last.start, last.grounds) == (date(2026, 2, 2), ("a", "b", "r"))
    assert (last.end, last.reason) == (None, None)  # "unless another standing mild record in the window keeps two"


def test_spec_6_one_fallen_ground_of_a_mild_and_mild_entry_ends_it_grounds_fell():
    recs = [rec("a", "HB03", date(2026, 3, 2), revoked=date(2026, 5, 4)), rec("b", "HB08", date(2026, 4, 1))]
    (entry,) = watch_history(recs, RULES, date(2026, 12, 31)).entries
    assert (entry.start, entry.until, entry.end, entry.reason, entry.grounds) == (
        date(2026, 4, 1), date(2027, 4, 1), date(2026, 5, 4), "grounds_fell", ("a", "b"))
