"""The pure list engine: watch list (重点关注名单, HB 六; SPEC §6) and joint-punishment procedures (失信联合惩戒,
SPEC §7) — derived from facts, no database, no Flask.

Facts in (plain frozen dataclasses):
- `RecordFact` (scoring engine): each behaviour record with its determination, revocation and repair dates;
- `OpeningFact`: a route that opened, or would have opened, a procedure on a date (overdue order, court judgment,
  criminal or administrative penalty; a watch transfer is derived from the records, a stored one only lends its id);
- `StepFact`: a step actually taken on a date (publicity started, listed, statement received / decided to continue);
- `EndFact`: an end written on a date (statement accepted, or an end the service recorded);
- `ObjectionFact`: an objection on a record (or on a procedure itself): filed, decided, outcome, repeat flag.

Out: `derive_lists(...) -> ListsState` — every watch entry, every procedure with its schedule and state on `as_of`
and an explanation; `procedure_schedule(...)` for one procedure; `watch_history(...)` / `watch_status(...)` and
`procedure_clock(...)` keep their earlier shape.

Answers about `as_of` use only facts dated on or before it: an objection decided later is still pending on as_of, a
record revoked later still stands — the answer the system would have given that day (SPEC §5).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Hashable, Iterable

from ..clock import add_months, add_working_days, add_years, is_working_day, working_days_warning
from ..rules.loader import RuleBook, RuleVersion
from ..scoring.engine import RecordFact, record_sort_key, standing

MILD = "mild"
SERIOUS = frozenset({"moderate", "severe"})  # 中度以上 (HB 六)
WATCH_TRANSFER = "watch_transfer"
OTHER_ROUTE = "other"

# procedure states and steps (SPEC §7)
OPENED, PUBLICITY, LISTED, ENDED = "opened", "publicity", "listed", "ended"
STATEMENT, STATEMENT_CONTINUED = "statement", "statement_continued"  # 陈述申辩 received; decided: continue
# end reasons (SPEC §7)
EXPIRED, STATEMENT_ACCEPTED = "expired", "statement_accepted"
OBJECTION_UPHELD, REVOKED, REPAIRED = "objection_upheld", "revoked", "repaired"
UPHELD, REJECTED = "upheld", "rejected"
_DAY = timedelta(days=1)


# ---- facts ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OpeningFact:
    """A route that opens a procedure on `date` (HB 六). `id` names the procedure it opened (the stored procedure's
    id) — steps, ends and objections on the procedure refer to it; `record_id` is its grounding record, if any.
    While another procedure or listing is open, the opening attaches its ground to that one instead (SPEC §7)."""

    date: date
    route: str
    record_id: Hashable | None = None
    id: Hashable | None = None
    order_id: Hashable | None = None


@dataclass(frozen=True)
class StepFact:
    """A step of procedure `procedure_id` actually taken on `date`: "publicity", "listed", "statement" (a statement
    received) or "statement_continued" (the statement decided: continue)."""

    procedure_id: Hashable
    step: str
    date: date


@dataclass(frozen=True)
class EndFact:
    """An end of procedure `procedure_id` written on `date`, e.g. reason "statement_accepted"."""

    procedure_id: Hashable
    date: date
    reason: str


@dataclass(frozen=True)
class ObjectionFact:
    """An objection (异议, HB 七) on a record (`record_id`) or on a procedure itself (`procedure_id`).

    `decided` is the decision's (confirmation) date, None while pending; `outcome` "upheld" | "rejected" | None.
    A repeat objection (after a rejection on the same item) stops no clock and suspends nothing (SPEC §9)."""

    id: Hashable
    filed: date
    record_id: Hashable | None = None
    procedure_id: Hashable | None = None
    decided: date | None = None
    outcome: str | None = None
    repeat: bool = False

    def pending_on(self, on: date) -> bool:
        """Filed on or before `on` and not decided by then (on the decision day the decision applies)."""
        return self.filed <= on and (self.decided is None or on < self.decided)


@dataclass(frozen=True)
class ProcedureFacts:
    """Everything known of the household's procedures: openings, steps, ends, objections."""

    openings: tuple[OpeningFact, ...] = ()
    steps: tuple[StepFact, ...] = ()
    ends: tuple[EndFact, ...] = ()
    objections: tuple[ObjectionFact, ...] = ()


# ---- results -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WatchPeriod:
    """One stay on the watch list: from `start` (T) through `until` (T + period); `end` is the first day off it."""

    start: date
    until: date
    end: date | None = None
    reason: str | None = None  # 'expired' | 'transferred' | 'grounds_fell' | None while still on the list
    grounds: tuple[Hashable, ...] = ()
    mild: bool = False  # a mild+mild entry (needs two standing mild grounds) rather than a moderate/severe one

    def in_force(self, on: date) -> bool:
        """On the list on `on`: from its start through its last day (`until`, or the day before `end`)."""
        return self.start <= on <= self.until and (self.end is None or on < self.end)

    @property
    def last_day(self) -> date:
        return self.end - _DAY if self.end is not None else self.until


@dataclass(frozen=True)
class ProcedureOpening:
    """A joint-punishment procedure opened on `date`: by a watch transfer (with its record) or by another route."""

    date: date
    record_id: Hashable | None
    route: str
    id: Hashable | None = None


@dataclass(frozen=True)
class WatchHistory:
    entries: list[WatchPeriod] = field(default_factory=list)
    procedures_opened: list[ProcedureOpening] = field(default_factory=list)


@dataclass(frozen=True)
class ProcedureClock:
    """The earliest dates of a procedure opened (and its risk notice issued) on O, no clock stopped (SPEC §7)."""

    response_due: date
    publicity_start: date
    publicity_end: date
    listing_effective: date
    listed_through: date
    warning: str | None = None  # set when a year's holiday arrangement is missing


@dataclass(frozen=True)
class Pause:
    """The clock stopped by a (non-repeat) objection: from `start` (its filing) through `through` (its decision,
    which never counts), `through` None while pending. `left_out` working days after O were not counted."""

    objection_id: Hashable
    start: date
    through: date | None
    left_out: int


@dataclass(frozen=True)
class ProcedureState:
    """A procedure's schedule and its state on `as_of` (SPEC §7).

    Dates are actual where the step happened on or before as_of, else the earliest the step may happen; None when
    a pending objection stops the clock before it (the date follows from the decision). `listed_through` is
    L + listing years; `ban_through` the last day of the application ban (L + ban years, or the day before the
    listing's last ground fell). `end`/`end_reason` are set once the procedure ended on or before as_of.
    """

    id: Hashable | None
    opened: date
    route: str
    record_id: Hashable | None
    grounds: tuple[Hashable, ...]
    attached: tuple[OpeningFact, ...]
    as_of: date
    state: str
    response_due: date | None
    publicity_start: date | None
    publicity_end: date | None
    listing_effective: date | None
    listed_through: date | None
    ban_through: date | None
    next_step: str | None
    next_date: date | None
    end: date | None
    end_reason: str | None
    clock_stopped: bool
    pauses: tuple[Pause, ...]
    taken: tuple[tuple[str, date], ...]
    explanation: tuple[str, ...]
    warning: str | None = None

    @property
    def open(self) -> bool:
        return self.state != ENDED

    def listed_on(self, on: date) -> bool:
        """Listed on `on`: from L through its last day (listed_through, or the day before an early end)."""
        if self.listing_effective is None or (LISTED, self.listing_effective) not in self.taken:
            return False
        return (self.listing_effective <= on <= self.listed_through
                and (self.end is None or on < self.end))

    def banned_on(self, on: date) -> bool:
        """The application ban is in force on `on`: from L through ban_through (it outlives the listing)."""
        return (self.ban_through is not None and (LISTED, self.listing_effective) in self.taken
                and self.listing_effective <= on <= self.ban_through)


@dataclass(frozen=True)
class ListsState:
    """The household's lists on `as_of`: every watch entry, every procedure (with schedule), the openings."""

    as_of: date
    watch: tuple[WatchPeriod, ...]
    procedures: tuple[ProcedureState, ...]
    opened: tuple[ProcedureOpening, ...]

    def watch_on(self, on: date | None = None) -> WatchPeriod | None:
        on = on or self.as_of
        return next((e for e in self.watch if e.in_force(on)), None)

    def open_procedure(self) -> ProcedureState | None:
        """The procedure or listing open on as_of (at most one: SPEC §7 "one at a time")."""
        return next((p for p in self.procedures if p.open), None)


# ---- the procedure clock -------------------------------------------------------------------------------------

def procedure_clock(opened: date, rules_version: RuleVersion) -> ProcedureClock:
    """Response due O + 5 wd; publicity the next working day through 7 wd later; listed the working day after,
    through L + 3 years (figures from the rules version). The no-pause special case of `procedure_schedule`."""
    p = rules_version.procedure
    response_due = add_working_days(opened, p.response_working_days)
    publicity_end = add_working_days(response_due, p.publicity_working_days)
    listing_effective = add_working_days(publicity_end, 1)
    return ProcedureClock(response_due=response_due, publicity_start=add_working_days(response_due, 1),
                          publicity_end=publicity_end, listing_effective=listing_effective,
                          listed_through=add_years(listing_effective, p.listing_years),
                          warning=working_days_warning(opened, listing_effective))


class _Counter:
    """Counts working days leaving out every day of a pause (filing through decision; open-ended while pending)."""

    def __init__(self, pauses: list[tuple[Hashable, date, date | None]]):
        self.pauses = pauses
        self.open_from = min((s for _, s, t in pauses if t is None), default=None)

    def paused(self, d: date) -> bool:
        return any(s <= d and (t is None or d <= t) for _, s, t in self.pauses)

    def nth_after(self, start: date, n: int) -> date | None:
        """The n-th counted day after `start` (start not counted); None when a pending objection stops it."""
        d = start
        while n:
            d += _DAY
            if self.open_from is not None and d >= self.open_from:
                return None
            if is_working_day(d) and not self.paused(d):
                n -= 1
        return d

    def first_on_or_after(self, d: date) -> date | None:
        return self.nth_after(d - _DAY, 1)


def _fell_on(record: RecordFact) -> tuple[date, str] | None:
    dates = [(d, reason) for d, reason in ((record.revoked, REVOKED), (record.repaired, REPAIRED)) if d]
    return min(dates) if dates else None


def _grounds_fall(grounds: list[tuple[Hashable, date]], records: dict, objections: list[ObjectionFact],
                  opened: date, as_of: date) -> tuple[date, str] | None:
    """The first day (from the opening, on or before as_of) on which no ground attached by then still stands.

    A ground without a record (a judgment or penalty opened on its document alone) falls by no record: once it is
    attached, the grounds no longer fall this way."""
    known = [(rid, on) for rid, on in grounds if rid is not None]
    if not known:
        return None
    days = sorted({opened} | {f[0] for rid, _ in known if rid in records and (f := _fell_on(records[rid]))
                              and opened <= f[0] <= as_of})
    for day in days:
        if day > as_of:
            break
        if any(rid is None and on <= day for rid, on in grounds):
            break
        now = [rid for rid, on in known if on <= day]
        if now and all(rid in records and not standing(records[rid], day) for rid in now):
            falls = [f for rid in now if (f := _fell_on(records[rid])) is not None]
            on_day = [f for f in falls if f[0] == day] or sorted(falls, reverse=True)
            upheld = any(o.outcome == UPHELD and o.decided == day and o.record_id in now for o in objections)
            return day, OBJECTION_UPHELD if upheld else on_day[0][1]
    return None


def procedure_schedule(opening: OpeningFact, rules: RuleBook, as_of: date, *,
                       records: Iterable[RecordFact] = (), steps: Iterable[StepFact] = (),
                       ends: Iterable[EndFact] = (), objections: Iterable[ObjectionFact] = (),
                       attached: Iterable[OpeningFact] = (), grounds: Iterable[Hashable] | None = None,
                       automatic_steps: bool = True) -> ProcedureState:
    """One procedure's schedule and state on `as_of` (SPEC §7), from its facts dated on or before as_of.

    - Working days after O are counted leaving out every day from a (non-repeat) objection's filing through its
      decision, for objections on any of the procedure's grounds or on the procedure itself; a pending one stops
      the clock (later dates None). Days before O are not counted anyway (an objection pending at the opening
      counts from its filing). An objection filed after L changes no date; the listing term never pauses.
    - Response due O + 5 counted days; publicity from O + 6 at the earliest, and not before a received statement
      is decided; publicity runs 7 counted days from the day it actually started; L the counted day after it ends;
      listed through L + 3 years. Each step's earliest date counts from the step before it as actually taken.
    - `automatic_steps`: publicity and listing not recorded are deemed taken on their earliest date when that date
      has come (the daily job's choice, see lists.service); False → only recorded steps count.
    - The end: a recorded end (e.g. statement_accepted), the day the last standing ground is revoked or repaired
      (objection_upheld / revoked / repaired), an upheld objection on the procedure itself, or the day after the
      term (expired) — the earliest on or before as_of.
    """
    version = rules.version_at(opening.date)
    rule = version.procedure
    pid, opened = opening.id, opening.date
    by_id = {r.id: r for r in records if r.confirmed and r.determined <= as_of}
    by_id = {rid: _as_known(r, as_of) for rid, r in by_id.items()}
    attached = tuple(attached)
    ground_list = ([(g, opened) for g in grounds] if grounds is not None
                   else [(opening.record_id, opened)] + [(a.record_id, a.date) for a in attached])
    ground_ids = [g for g, _ in ground_list if g is not None]
    mine = [s for s in steps if pid is not None and s.procedure_id == pid and s.date <= as_of]
    known_objections = [_as_known_objection(o, as_of) for o in objections if o.filed <= as_of
                        and ((o.record_id is not None and o.record_id in ground_ids)
                             or (pid is not None and o.procedure_id == pid))]
    stoppers = [o for o in known_objections if not o.repeat]
    counter = _Counter([(o.id, o.filed, o.decided) for o in stoppers])
    lines: list[str] = [f"Opened on {opened} by route {opening.route} ({version.route_clause(opening.route)})"
                        + (f" on record {opening.record_id}" if opening.record_id is not None else "")
                        + "; risk notice issued the same day."]
    for a in attached:
        lines.append(f"{a.date}: route {a.route}" + (f" (record {a.record_id})" if a.record_id is not None else "")
                     + " attached its ground to this procedure; no date changes.")
    for o in known_objections:
        if o.repeat:
            lines.append(f"Objection {o.id} (filed {o.filed}) is a repeat after a rejection: it stops no clock.")

    def taken_on(step: str) -> date | None:
        return min((s.date for s in mine if s.step == step), default=None)

    taken: list[tuple[str, date]] = []
    response_due = counter.nth_after(opened, rule.response_working_days)
    publicity_earliest = counter.nth_after(opened, rule.response_working_days + 1)
    statement, continued = taken_on(STATEMENT), taken_on(STATEMENT_CONTINUED)
    if statement is not None:
        if continued is None:
            lines.append(f"A statement received on {statement} is to be decided before publicity may start.")
            publicity_earliest = None
        else:
            lines.append(f"The statement received on {statement} was decided on {continued}: continue.")
            if publicity_earliest is not None and continued > publicity_earliest:
                publicity_earliest = counter.first_on_or_after(continued)

    publicity_start = taken_on(PUBLICITY)
    if publicity_start is None and automatic_steps and publicity_earliest is not None and publicity_earliest <= as_of:
        publicity_start = publicity_earliest
    publicity_from = publicity_start or publicity_earliest
    if publicity_start is not None:
        taken.append((PUBLICITY, publicity_start))
    publicity_end = (counter.nth_after(publicity_from - _DAY, rule.publicity_working_days)
                     if publicity_from is not None else None)
    listing_earliest = counter.nth_after(publicity_end, 1) if publicity_end is not None else None
    listed = taken_on(LISTED) if publicity_start is not None else None
    if listed is None and publicity_start is not None and automatic_steps and listing_earliest is not None \
            and listing_earliest <= as_of:
        listed = listing_earliest
    if listed is not None:
        taken.append((LISTED, listed))
    listing_effective = listed or listing_earliest
    listed_through = add_years(listing_effective, rule.listing_years) if listing_effective else None

    # the end, the earliest on or before as_of
    candidates: list[tuple[date, str]] = [(e.date, e.reason) for e in ends
                                          if pid is not None and e.procedure_id == pid and e.date <= as_of]
    fall = _grounds_fall(ground_list, by_id, known_objections, opened, as_of)
    if fall:
        candidates.append(fall)
    candidates += [(o.decided, OBJECTION_UPHELD) for o in known_objections
                   if pid is not None and o.procedure_id == pid and o.outcome == UPHELD and o.decided]
    if listed is not None and listed_through + _DAY <= as_of:
        candidates.append((listed_through + _DAY, EXPIRED))
    end, end_reason = min(candidates, key=lambda c: c[0]) if candidates else (None, None)
    taken = [(s, d) for s, d in taken if end is None or d < end]
    if end is not None and publicity_start is not None and publicity_start >= end:
        publicity_start = None
    if end is not None and listed is not None and listed >= end:
        listed = None

    ban_through = None
    ban = version.application_ban
    if ban is not None and listed is not None:
        ban_through = add_years(listed, ban.years)
        fell = _grounds_fall(ground_list, by_id, known_objections, opened, as_of)
        upheld = [o.decided for o in known_objections if pid is not None and o.procedure_id == pid
                  and o.outcome == UPHELD and o.decided]
        stops = [d for d in [fell[0] if fell else None] + upheld if d is not None]
        if stops:
            ban_through = min(ban_through, min(stops) - _DAY)

    # pauses and how many working days each left out, through L (or as_of while the clock is stopped)
    last = listing_effective or as_of
    pauses = []
    for o in stoppers:
        through = o.decided if o.decided is not None else as_of
        lo, hi = max(o.filed, opened + _DAY), min(through, last)
        left = sum(1 for i in range((hi - lo).days + 1) if is_working_day(lo + timedelta(days=i))) if lo <= hi else 0
        pauses.append(Pause(objection_id=o.id, start=o.filed, through=o.decided, left_out=left))
        if o.filed > last and listing_effective is not None:
            lines.append(f"Objection {o.id} was filed on {o.filed}, after listing on {listing_effective}: no date "
                         f"changes (the listing term never pauses); the listing's measures are suspended while it "
                         f"is pending.")
        elif o.decided is None:
            lines.append(f"Clock stopped since {o.filed} by objection {o.id} (pending): no day counts until its "
                         f"decision; the remaining days run from the working day after it."
                         + (f" {left} working days left out so far." if left else ""))
        else:
            lines.append(f"Clock stopped {o.filed} … {o.decided} by objection {o.id} ({o.outcome or 'decided'} "
                         f"on {o.decided}): {left} working days left out; the remaining days ran from the working "
                         f"day after {o.decided}.")
    if response_due:
        lines.append(f"Response due {response_due} ({rule.response_working_days} working days after {opened}).")
    if publicity_from:
        lines.append(f"Publicity {'from' if publicity_start else 'from, at the earliest,'} {publicity_from}"
                     + (f" through {publicity_end}" if publicity_end else "") + ".")
    if listing_effective:
        lines.append(f"Listed {'from' if listed else 'from, at the earliest,'} {listing_effective} through "
                     f"{listed_through}" + (f"; application ban through {ban_through}" if ban_through else "")
                     + ".")
    if end is not None:
        lines.append(f"Ended on {end}: {end_reason}.")

    if end is not None:
        state, next_step, next_date = ENDED, None, None
    elif listed is not None:
        state, next_step, next_date = LISTED, ENDED, listed_through + _DAY
    elif publicity_start is not None:
        state, next_step, next_date = PUBLICITY, LISTED, listing_earliest
    else:
        state, next_step, next_date = OPENED, PUBLICITY, publicity_earliest
    clock_stopped = state in (OPENED, PUBLICITY) and counter.paused(as_of)
    return ProcedureState(
        id=pid, opened=opened, route=opening.route, record_id=opening.record_id, grounds=tuple(ground_ids),
        attached=attached, as_of=as_of, state=state, response_due=response_due,
        publicity_start=publicity_start or publicity_earliest, publicity_end=publicity_end,
        listing_effective=listing_effective, listed_through=listed_through, ban_through=ban_through,
        next_step=next_step, next_date=next_date, end=end, end_reason=end_reason, clock_stopped=clock_stopped,
        pauses=tuple(pauses), taken=tuple(taken), explanation=tuple(lines),
        warning=working_days_warning(opened, listing_effective or as_of))


def _as_known(r: RecordFact, as_of: date) -> RecordFact:
    """The record as known on as_of: a revocation or repair dated later is not known yet."""
    return replace(r, revoked=r.revoked if r.revoked and r.revoked <= as_of else None,
                   repaired=r.repaired if r.repaired and r.repaired <= as_of else None)


def _as_known_objection(o: ObjectionFact, as_of: date) -> ObjectionFact:
    """The objection as known on as_of: a decision dated later is not known yet (still pending)."""
    if o.decided is not None and o.decided > as_of:
        return replace(o, decided=None, outcome=None)
    return o


# ---- the watch list and the one-at-a-time procedures ---------------------------------------------------------

@dataclass
class _Open:
    """The entry being built, and what it stands on."""

    start: date
    until: date
    grounds: list[RecordFact]
    mild: bool

    def close(self, end: date | None, reason: str | None) -> WatchPeriod:
        return WatchPeriod(start=self.start, until=self.until, end=end, reason=reason,
                          grounds=tuple(g.id for g in self.grounds), mild=self.mild)

    def holds(self, on: date) -> bool:
        """Whether the grounds, counting only what still stands on `on`, would still make an entry on T."""
        return grounds_hold([g for g in self.grounds if standing(g, on)], self.mild)


def grounds_hold(standing_grounds: list, mild: bool) -> bool:
    """Whether these standing grounds still make the entry (SPEC §6): one moderate/severe ground, or — for a
    mild+mild entry — two standing mild records in the window ("unless another standing mild record keeps two")."""
    return len(standing_grounds) > 1 if mild else bool(standing_grounds)


@dataclass
class _Proc:
    """An open procedure being built: its opening, the openings attached to it, its grounds."""

    opening: OpeningFact
    attached: list[OpeningFact] = field(default_factory=list)

    def state(self, facts: ProcedureFacts, records, rules: RuleBook, as_of: date,
              automatic_steps: bool) -> ProcedureState:
        return procedure_schedule(self.opening, rules, as_of, records=records, steps=facts.steps, ends=facts.ends,
                                  objections=facts.objections, attached=self.attached,
                                  automatic_steps=automatic_steps)


def derive_lists(records: Iterable[RecordFact], rules: RuleBook, as_of: date,
                 procedures: ProcedureFacts = ProcedureFacts(), automatic_steps: bool = True) -> ListsState:
    """The household's watch entries and procedures on `as_of` (SPEC §6, §7), from facts dated on or before it.

    Within one day: watch expiry, then revocations and repairs (early end of an entry; a procedure whose last
    standing ground fell ends), then the end of a procedure (it stops blocking entries from the day it ends), then
    openings by other routes (a route while a procedure or listing is open attaches its ground to it and changes
    no date; else it opens one, ending a watch entry as `transferred`), then that day's determinations (entry, or
    transfer of a watched household on a moderate/severe record — that procedure takes the id of a stored
    watch_transfer opening on the same record, if any).
    """
    facts = sorted((r for r in records if r.confirmed and r.determined <= as_of),
                   key=lambda r: record_sort_key(r.id, r.determined))
    facts = [_as_known(r, as_of) for r in facts]
    tier = {r.id: rules.behaviour_on(r.code, r.region_code, r.determined).tier for r in facts}
    determined_on: dict[date, list[RecordFact]] = defaultdict(list)
    falls_on: dict[date, list[RecordFact]] = defaultdict(list)
    for r in facts:
        determined_on[r.determined].append(r)
        for d in {r.revoked, r.repaired} - {None}:
            falls_on[d].append(r)
    stored_transfers = {o.record_id: o for o in procedures.openings if o.route == WATCH_TRANSFER}
    routes_on: dict[date, list[OpeningFact]] = defaultdict(list)
    for o in sorted((o for o in procedures.openings if o.route != WATCH_TRANSFER and o.date <= as_of),
                    key=lambda o: (o.date, str(o.id))):
        routes_on[o.date].append(o)
    event_days = set(determined_on) | set(falls_on) | set(routes_on)
    event_days |= {e.date for e in procedures.ends if e.date <= as_of}
    event_days |= {o.decided for o in procedures.objections if o.decided and o.decided <= as_of}

    entries: list[WatchPeriod] = []
    opened: list[ProcedureOpening] = []
    done: list[_Proc] = []
    current: _Open | None = None
    proc: _Proc | None = None

    def proc_ended(day: date) -> bool:
        state = proc.state(procedures, facts, rules, day, automatic_steps)
        return state.end is not None and state.end <= day

    def open_new(o: OpeningFact) -> None:
        nonlocal proc
        proc = _Proc(o)
        opened.append(ProcedureOpening(date=o.date, record_id=o.record_id, route=o.route, id=o.id))

    for day in sorted(event_days):
        if current and current.until < day:
            entries.append(current.close(current.until + _DAY, EXPIRED))
            current = None
        if day in falls_on and current and not current.holds(day):
            entries.append(current.close(day, "grounds_fell"))
            current = None
        if proc is not None and proc_ended(day):
            done.append(proc)
            proc = None
        for o in routes_on.get(day, ()):
            if proc is not None:
                proc.attached.append(o)
                continue
            if current:
                entries.append(current.close(day, "transferred"))
                current = None
            open_new(o)

        today = [r for r in determined_on.get(day, ()) if standing(r, day)]
        serious = [r for r in today if tier[r.id] in SERIOUS]
        if current:
            if serious:  # 重点关注期限内发生中度以上失信行为的，转入失信联合惩戒对象名单
                entries.append(current.close(day, "transferred"))
                current = None
                stored = stored_transfers.get(serious[0].id)
                open_new(OpeningFact(date=day, route=WATCH_TRANSFER, record_id=serious[0].id,
                                     id=stored.id if stored else None))
        elif today and proc is None:
            current = _entry_on(day, today, serious, facts, tier, rules.version_at(day))

    if proc is not None:
        done.append(proc)
    if current and current.until < as_of:
        entries.append(current.close(current.until + _DAY, EXPIRED))
    elif current:
        entries.append(current.close(None, None))
    states = tuple(p.state(procedures, facts, rules, as_of, automatic_steps) for p in done)
    return ListsState(as_of=as_of, watch=tuple(entries), procedures=states, opened=tuple(opened))


def _entry_on(day: date, today: list[RecordFact], serious: list[RecordFact], facts: list[RecordFact],
              tier: dict, version: RuleVersion) -> _Open | None:
    """The entry that starts on `day`, if that day's determinations make one."""
    until = add_months(day, version.watch.period_months)
    if serious:
        return _Open(day, until, serious, mild=False)
    if not any(tier[r.id] == MILD for r in today):
        return None
    since = add_months(day, -version.watch.window_months)
    # The score's use period plays no part: only standing and the window matter.
    window = [r for r in facts if tier[r.id] == MILD and since <= r.determined <= day and standing(r, day)]
    if len(window) > 1:  # 多次: more than one mild behaviour
        return _Open(day, until, window, mild=True)
    return None


def watch_history(records: Iterable[RecordFact], rules: RuleBook, horizon: date,
                  other_procedures: Iterable[date] = (), procedures: ProcedureFacts | None = None,
                  automatic_steps: bool = True) -> WatchHistory:
    """Every watch-list entry up to `horizon` and the procedures opened meanwhile (SPEC §6): `derive_lists` seen
    from the watch list. `other_procedures` (dates only, route "other", no ground) is the older way of passing
    procedures opened by other routes; `procedures` gives the full facts, so that a procedure that ended early
    (statement accepted, ground revoked or repaired, objection upheld) stops blocking entries from its end."""
    facts = procedures or ProcedureFacts()
    extra = tuple(OpeningFact(date=d, route=OTHER_ROUTE) for d in other_procedures)
    if extra:
        facts = replace(facts, openings=tuple(facts.openings) + extra)
    state = derive_lists(records, rules, horizon, facts, automatic_steps=automatic_steps)
    return WatchHistory(entries=list(state.watch), procedures_opened=list(state.opened))


def watch_status(records: Iterable[RecordFact], rules: RuleBook, as_of: date,
                 other_procedures: Iterable[date] = (), procedures: ProcedureFacts | None = None) -> WatchPeriod | None:
    """The entry in force on as_of, from facts dated on or before it only (later facts cannot change it)."""
    for entry in watch_history(records, rules, as_of, other_procedures, procedures).entries:
        if entry.in_force(as_of):
            return entry
    return None
