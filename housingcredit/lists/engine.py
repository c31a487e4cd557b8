"""The pure list engine: watch list (重点关注名单, HB 六; SPEC §6) and the procedure clock (失信联合惩戒, SPEC §7).

Everything is derived from record facts and dates; no database, no Flask.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Hashable, Iterable

from ..clock import add_months, add_working_days, add_years, working_days_warning
from ..rules.loader import RuleBook, RuleVersion
from ..scoring.engine import RecordFact, record_sort_key, standing

MILD = "mild"
SERIOUS = frozenset({"moderate", "severe"})  # 中度以上 (HB 六)
WATCH_TRANSFER = "watch_transfer"
OTHER_ROUTE = "other"


@dataclass(frozen=True)
class WatchEntry:
    """One stay on the watch list: from `start` (T) through `until` (T + period); `end` is the first day off it."""

    start: date
    until: date
    end: date | None = None
    reason: str | None = None  # 'expired' | 'transferred' | 'grounds_fell' | None while still on the list
    grounds: tuple[Hashable, ...] = ()

    def in_force(self, on: date) -> bool:
        return self.start <= on and (self.end is None or on < self.end)


@dataclass(frozen=True)
class ProcedureOpening:
    """A joint-punishment procedure opened on `date`: by a watch transfer (with its record) or by another route."""

    date: date
    record_id: Hashable | None
    route: str


@dataclass(frozen=True)
class WatchHistory:
    entries: list[WatchEntry] = field(default_factory=list)
    procedures_opened: list[ProcedureOpening] = field(default_factory=list)


@dataclass(frozen=True)
class ProcedureClock:
    """The earliest dates of a procedure opened (and its risk notice issued) on O (SPEC §7)."""

    response_due: date
    publicity_start: date
    publicity_end: date
    listing_effective: date
    listed_through: date
    warning: str | None = None  # set when a year's holiday arrangement is missing


def procedure_clock(opened: date, rules_version: RuleVersion) -> ProcedureClock:
    """Response due O + 5 wd; publicity the next working day through 7 wd later; listed the working day after,
    through L + 3 years (figures from the rules version)."""
    p = rules_version.procedure
    response_due = add_working_days(opened, p.response_working_days)
    publicity_end = add_working_days(response_due, p.publicity_working_days)
    listing_effective = add_working_days(publicity_end, 1)
    return ProcedureClock(response_due=response_due, publicity_start=add_working_days(response_due, 1),
                          publicity_end=publicity_end, listing_effective=listing_effective,
                          listed_through=add_years(listing_effective, p.listing_years),
                          warning=working_days_warning(opened, listing_effective))


@dataclass
class _Open:
    """The entry being built, and what it stands on."""

    start: date
    until: date
    grounds: list[RecordFact]
    mild: bool

    def close(self, end: date | None, reason: str | None) -> WatchEntry:
        return WatchEntry(start=self.start, until=self.until, end=end, reason=reason,
                          grounds=tuple(g.id for g in self.grounds))

    def holds(self, on: date) -> bool:
        """Whether the grounds, counting only what still stands on `on`, would still make an entry on T."""
        left = [g for g in self.grounds if standing(g, on)]
        if not self.mild:
            return bool(left)
        # SPEC §6: "one fallen ground of a mild+mild entry ends it unless another standing mild record in the
        # window keeps two" — two standing mild grounds in the window keep the entry, whichever fell.
        return len(left) > 1


@dataclass
class _Block:
    """A procedure or listing during which no new entry starts."""

    opened: date
    through: date
    record_id: Hashable | None


def watch_history(records: Iterable[RecordFact], rules: RuleBook, horizon: date,
                  other_procedures: Iterable[date] = ()) -> WatchHistory:
    """Every watch-list entry up to `horizon` and the procedures opened meanwhile (SPEC §6).

    Within one day: expiry, then revocations and repairs (early end), then procedures opened by other routes,
    then that day's determinations (entry or transfer).

    Assumption of this pure engine: a procedure blocks new entries from its opening date through
    `listed_through` of its earliest `procedure_clock` (pauses for objections are not known here). A watch-transfer
    procedure ends earlier when its transferring record is revoked or repaired (SPEC §7); one opened by another
    route is known only by its date and blocks for the full earliest term.
    """
    facts = sorted((r for r in records if r.confirmed and r.determined <= horizon),
                   key=lambda r: record_sort_key(r.id, r.determined))
    tier = {r.id: rules.behaviour_on(r.code, r.region_code, r.determined).tier for r in facts}
    determined_on: dict[date, list[RecordFact]] = defaultdict(list)
    falls_on: dict[date, list[RecordFact]] = defaultdict(list)
    for r in facts:
        determined_on[r.determined].append(r)
        for d in {r.revoked, r.repaired} - {None}:
            if d <= horizon:
                falls_on[d].append(r)
    others = {d for d in other_procedures if d <= horizon}

    entries: list[WatchEntry] = []
    openings: list[ProcedureOpening] = []
    blocks: list[_Block] = []
    current: _Open | None = None

    def open_procedure(day: date, record_id: Hashable | None, route: str) -> None:
        openings.append(ProcedureOpening(date=day, record_id=record_id, route=route))
        blocks.append(_Block(day, procedure_clock(day, rules.version_at(day)).listed_through, record_id))

    for day in sorted(set(determined_on) | set(falls_on) | others):
        if current and current.until < day:
            entries.append(current.close(current.until + timedelta(days=1), "expired"))
            current = None
        if day in falls_on:
            if current and not current.holds(day):
                entries.append(current.close(day, "grounds_fell"))
                current = None
            fallen = {r.id for r in falls_on[day]}
            for block in blocks:
                if block.record_id in fallen and block.opened <= day <= block.through:
                    block.through = day - timedelta(days=1)
        if day in others:
            if current:
                entries.append(current.close(day, "transferred"))
                current = None
            open_procedure(day, None, OTHER_ROUTE)

        today = [r for r in determined_on.get(day, ()) if standing(r, day)]
        serious = [r for r in today if tier[r.id] in SERIOUS]
        if current:
            if serious:  # 重点关注期限内发生中度以上失信行为的，转入失信联合惩戒对象名单
                entries.append(current.close(day, "transferred"))
                current = None
                open_procedure(day, serious[0].id, WATCH_TRANSFER)
        elif today and not any(b.opened <= day <= b.through for b in blocks):
            current = _entry_on(day, today, serious, facts, tier, rules.version_at(day))

    if current and current.until < horizon:
        entries.append(current.close(current.until + timedelta(days=1), "expired"))
    elif current:
        entries.append(current.close(None, None))
    return WatchHistory(entries=entries, procedures_opened=openings)


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


def watch_status(records: Iterable[RecordFact], rules: RuleBook, as_of: date,
                 other_procedures: Iterable[date] = ()) -> WatchEntry | None:
    """The entry in force on as_of, from facts dated on or before it only (later facts cannot change it)."""
    for entry in watch_history(records, rules, as_of, other_procedures).entries:
        if entry.in_force(as_of):
            return entry
    return None
