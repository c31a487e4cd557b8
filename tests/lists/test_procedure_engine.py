"""The list engine's procedures (失信联合惩戒, HB 六; SPEC §6, §7): schedule and state from facts, a clock stopped by
objections, one procedure at a time, and an ended procedure no longer blocking the watch list."""
from __future__ import annotations

from datetime import date

from housingcredit.lists.engine import (EndFact, ObjectionFact, OpeningFact, ProcedureFacts, StepFact,
                                        derive_lists, procedure_clock, procedure_schedule, watch_history)
from housingcredit.rules import default_rules
from housingcredit.scoring.engine import RecordFact

RULES = default_rules()
O = date(2026, 6, 8)  # Monday; earliest: response due 06-15, publicity 06-16 … 06-25, L 06-26 (cases.yaml)
LATE = date(2030, 1, 1)


def opening(on=O, record="a", id="p1", route="overdue_order"):
    return OpeningFact(date=on, route=route, record_id=record, id=id)


def objection(id, filed, decided=None, outcome=None, record="a", **kw):
    return ObjectionFact(id=id, record_id=record, filed=filed, decided=decided, outcome=outcome, **kw)


def test_spec7_pause_shifts_remaining_steps_and_says_so():
    # 06-18 … 06-24 leaves out 06-18, 06-22, 06-23, 06-24 (06-19 is the Dragon Boat Festival holiday)
    state = procedure_schedule(opening(), RULES, LATE,
                               objections=[objection("o1", date(2026, 6, 18), date(2026, 6, 24), "rejected")])
    assert (state.response_due, state.publicity_start, state.publicity_end, state.listing_effective,
            state.listed_through) == (date(2026, 6, 15), date(2026, 6, 16), date(2026, 7, 1), date(2026, 7, 2),
                                      date(2029, 7, 2))
    assert [(p.objection_id, p.start, p.through, p.left_out) for p in state.pauses] == [
        ("o1", date(2026, 6, 18), date(2026, 6, 24), 4)]
    assert any("Clock stopped 2026-06-18 … 2026-06-24 by objection o1" in line and "4 working days left out" in line
               for line in state.explanation)


def test_spec7_no_pause_schedule_is_the_earliest_clock():
    state = procedure_schedule(opening(on=date(2026, 9, 22)), RULES, LATE)
    clock = procedure_clock(date(2026, 9, 22), RULES.version_at(date(2026, 9, 22)))
    assert (state.response_due, state.publicity_start, state.publicity_end, state.listing_effective,
            state.listed_through) == (date(2026, 9, 30), date(2026, 10, 8), date(2026, 10, 15), date(2026, 10, 16),
                                      date(2029, 10, 16))
    assert clock.listing_effective == state.listing_effective and state.pauses == ()


def test_spec7_pending_objection_stops_the_clock_and_leaves_later_dates_open():
    state = procedure_schedule(opening(), RULES, date(2026, 7, 10), objections=[objection("o1", date(2026, 6, 18))])
    assert (state.state, state.publicity_start, state.publicity_end, state.listing_effective) == (
        "publicity", date(2026, 6, 16), None, None)
    assert state.clock_stopped is True and state.next_date is None
    assert any("Clock stopped since 2026-06-18 by objection o1 (pending)" in line for line in state.explanation)


def test_spec7_as_of_before_the_decision_sees_the_objection_pending():
    obj = objection("o1", date(2026, 6, 18), date(2026, 6, 24), "rejected")
    assert procedure_schedule(opening(), RULES, date(2026, 6, 23), objections=[obj]).clock_stopped is True
    after = procedure_schedule(opening(), RULES, date(2026, 6, 25), objections=[obj])
    assert (after.clock_stopped, after.listing_effective) == (False, date(2026, 7, 2))


def test_spec7_objection_filed_after_listing_changes_no_date():
    state = procedure_schedule(opening(), RULES, date(2026, 7, 20),
                               objections=[objection("o1", date(2026, 7, 6), date(2026, 7, 15), "rejected")])
    assert (state.state, state.listing_effective, state.listed_through) == ("listed", date(2026, 6, 26),
                                                                             date(2029, 6, 26))
    assert any("after listing on 2026-06-26: no date changes" in line for line in state.explanation)


def test_spec7_objection_filed_on_the_day_that_would_be_l_leaves_it_out():
    state = procedure_schedule(opening(), RULES, LATE,
                               objections=[objection("o1", date(2026, 6, 26), date(2026, 6, 26), "rejected")])
    assert state.listing_effective == date(2026, 6, 29)


def test_spec9_repeat_objection_stops_nothing():
    state = procedure_schedule(opening(), RULES, LATE, objections=[
        objection("o1", date(2026, 6, 18), date(2026, 6, 24), "rejected", repeat=True)])
    assert (state.listing_effective, state.pauses) == (date(2026, 6, 26), ())


def test_spec7_each_step_counts_from_when_the_step_before_happened():
    steps = [StepFact("p1", "publicity", date(2026, 6, 22)), StepFact("p1", "listed", date(2026, 7, 6))]
    state = procedure_schedule(opening(), RULES, date(2026, 6, 25), steps=steps)
    # publicity 06-22 … 06-30 (7 working days, the first being 06-22); L at the earliest 07-01
    assert (state.state, state.publicity_start, state.publicity_end, state.next_date) == (
        "publicity", date(2026, 6, 22), date(2026, 6, 30), date(2026, 7, 1))
    listed = procedure_schedule(opening(), RULES, date(2026, 7, 10), steps=steps, automatic_steps=False)
    assert (listed.state, listed.listing_effective, listed.listed_through) == ("listed", date(2026, 7, 6),
                                                                                date(2029, 7, 6))


def test_spec7_only_recorded_steps_count_without_automatic_steps():
    state = procedure_schedule(opening(), RULES, date(2026, 7, 10), automatic_steps=False)
    assert (state.state, state.next_step, state.next_date) == ("opened", "publicity", date(2026, 6, 16))


def test_spec7_a_statement_is_decided_before_publicity_may_start():
    held = procedure_schedule(opening(), RULES, date(2026, 6, 20), steps=[StepFact("p1", "statement", date(2026, 6, 10))])
    assert (held.state, held.next_date) == ("opened", None)
    steps = [StepFact("p1", "statement", date(2026, 6, 10)), StepFact("p1", "statement_continued", date(2026, 6, 18))]
    went_on = procedure_schedule(opening(), RULES, date(2026, 6, 20), steps=steps)
    assert (went_on.state, went_on.publicity_start) == ("publicity", date(2026, 6, 18))


def test_spec7_statement_accepted_ends_the_procedure():
    state = procedure_schedule(opening(), RULES, date(2026, 12, 1),
                               ends=[EndFact("p1", date(2026, 6, 12), "statement_accepted")])
    assert (state.state, state.end, state.end_reason, state.ban_through) == (
        "ended", date(2026, 6, 12), "statement_accepted", None)
    assert not state.listed_on(date(2026, 6, 26))


def test_spec7_listing_expires_the_day_after_its_term():
    state = procedure_schedule(opening(), RULES, date(2029, 6, 27))
    assert (state.state, state.end, state.end_reason) == ("ended", date(2029, 6, 27), "expired")
    assert state.listed_on(date(2029, 6, 26)) and not state.listed_on(date(2029, 6, 27))
    assert state.ban_through == date(2031, 6, 26)


def test_spec7_upheld_objection_on_the_last_ground_ends_the_listing_and_its_ban():
    records = [RecordFact("a", "HB04", date(2026, 2, 2), revoked=date(2026, 7, 15))]
    state = procedure_schedule(opening(), RULES, date(2026, 8, 1), records=records,
                               objections=[objection("o1", date(2026, 7, 6), date(2026, 7, 15), "upheld")])
    assert (state.end, state.end_reason, state.ban_through) == (date(2026, 7, 15), "objection_upheld",
                                                                date(2026, 7, 14))


def test_spec7_one_procedure_at_a_time_attaches_ground():
    records = [RecordFact("a", "HB04", date(2026, 2, 2), revoked=date(2026, 7, 1)),
               RecordFact("b", "HB09", date(2026, 6, 10), repaired=date(2026, 9, 1))]
    facts = ProcedureFacts(openings=(opening(), OpeningFact(date(2026, 6, 15), "court_judgment", "b", id="p2")))
    state = derive_lists(records, RULES, date(2026, 8, 1), facts)
    (proc,) = state.procedures
    assert (proc.id, proc.grounds, [a.id for a in proc.attached]) == ("p1", ("a", "b"), ["p2"])
    assert (proc.listing_effective, proc.state) == (date(2026, 6, 26), "listed")  # no date changed; a fell alone
    assert [o.id for o in state.opened] == ["p1"]
    later = derive_lists(records, RULES, date(2026, 9, 1), facts).procedures[0]
    assert (later.end, later.end_reason, later.ban_through) == (date(2026, 9, 1), "repaired", date(2026, 8, 31))


def test_spec6_ended_procedure_stops_blocking_watch_entries():
    records = [RecordFact("a", "HB04", date(2026, 2, 2)), RecordFact("b", "HB06", date(2026, 7, 1))]
    ended = ProcedureFacts(openings=(opening(),), ends=(EndFact("p1", date(2026, 6, 12), "statement_accepted"),))
    history = watch_history(records, RULES, date(2026, 12, 31), procedures=ended)
    assert [(e.start, e.end, e.reason) for e in history.entries] == [
        (date(2026, 2, 2), date(2026, 6, 8), "transferred"), (date(2026, 7, 1), None, None)]
    # the same procedure not ended blocks the moderate record of 07-01
    still = watch_history(records, RULES, date(2026, 12, 31), procedures=ProcedureFacts(openings=(opening(),)))
    assert [e.start for e in still.entries] == [date(2026, 2, 2)]


def test_spec6_a_procedure_ending_on_a_day_lets_that_days_record_enter():
    records = [RecordFact("a", "HB04", date(2026, 2, 2), repaired=date(2026, 9, 1)),
               RecordFact("b", "HB06", date(2026, 9, 1))]
    state = derive_lists(records, RULES, date(2026, 12, 31), ProcedureFacts(openings=(opening(),)))
    assert (state.procedures[0].end, state.procedures[0].end_reason) == (date(2026, 9, 1), "repaired")
    assert state.watch_on(date(2026, 9, 1)).start == date(2026, 9, 1)
