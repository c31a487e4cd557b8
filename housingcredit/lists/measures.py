"""The pure measures engine (惩戒措施清单, HB 六; SPEC §8) and the credit check's conclusion — no database, no Flask.

    measures_on(records, rules, as_of, procedures, automatic_steps=True) -> MeasuresResult
    MeasuresResult.conclusion(business) -> Conclusion

Where measures come from (all data in config/rules): the household tier's measures on each day it has that tier;
a watch entry's from its start through its last day; a listing's from L through its last day; the application ban
from L through L + 5 years (ended early only when the listing's ground is revoked or repaired). A severe record
alone brings its tier's measures (eligibility review), never a listing measure.

Suspension (HB 七: 在信息核实期间暂不执行联合惩戒措施), from an objection's filing until its decision (on the decision
day the decision applies), repeat objections excepted: a listing grounded only on disputed items (or disputed
itself) is suspended with its ban; a watch entry is suspended when its grounds without the disputed items would not
make it; the tier's measures in force are those of the tier computed without the disputed items. A measure stands
on every basis that grants it: it is in force when any of its bases is not suspended, and listed as suspended only
when the objections alone keep it out.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Hashable, Iterable

from ..rules.loader import RuleBook
from ..scoring.engine import RecordFact, compute_credit, standing
from .engine import (ListsState, ObjectionFact, ProcedureFacts, ProcedureState, WatchPeriod, derive_lists,
                     grounds_hold)

MAY_PROCEED, RESTRICTED = "may_proceed", "restricted"
TIER, WATCH, LISTING, APPLICATION_BAN = "tier", "watch", "listing", "application_ban"


@dataclass(frozen=True)
class Basis:
    """Why a measure applies: kind "tier" (ref: the tier), "watch" (ref: the entry's start date), "listing" or
    "application_ban" (ref: the procedure id, or its opening date when it has none); `until` its last day as known
    on as_of (None: as long as the tier lasts, absent new facts); `suspended_by` the objections keeping it out."""

    kind: str
    ref: Hashable
    clause: str
    since: date | None
    until: date | None
    suspended_by: tuple[Hashable, ...] = ()


@dataclass(frozen=True)
class Measure:
    """One measure with its clause, the businesses it restricts and every basis granting it on as_of."""

    code: str
    clause: str
    title_zh: str
    title_en: str
    restricts: tuple[str, ...]
    bases: tuple[Basis, ...]

    @property
    def in_force(self) -> bool:
        """In force: at least one basis not suspended."""
        return any(not b.suspended_by for b in self.bases)

    @property
    def suspended_by(self) -> tuple[Hashable, ...]:
        """The objections keeping the measure out — only when every basis is suspended, else ()."""
        if self.in_force:
            return ()
        return tuple(dict.fromkeys(ref for b in self.bases for ref in b.suspended_by))

    @property
    def until(self) -> date | None:
        """The last day it applies on the bases in force, as known on as_of (None: while the tier lasts)."""
        live = [b for b in self.bases if not b.suspended_by] or list(self.bases)
        return None if any(b.until is None for b in live) else max(b.until for b in live)


@dataclass(frozen=True)
class Conclusion:
    """The credit check's answer for one business: "restricted" naming each restricting measure, else
    "may_proceed"."""

    business: str
    conclusion: str
    restricted_by: tuple[Measure, ...]


@dataclass(frozen=True)
class MeasuresResult:
    """Measures in force and suspended on `as_of`, with the tier, the lists and the pending objections."""

    as_of: date
    score: int
    tier: str
    tier_without_disputed: str
    in_force: tuple[Measure, ...]
    suspended: tuple[Measure, ...]
    watch: WatchPeriod | None
    listing: ProcedureState | None  # the procedure whose listing is in force on as_of
    ban: ProcedureState | None  # the procedure whose application ban is in force on as_of
    procedure: ProcedureState | None  # the procedure or listing open on as_of
    pending: tuple[ObjectionFact, ...]
    lists: ListsState

    def conclusion(self, business: str) -> Conclusion:
        """`restricted` when a measure in force (not suspended) restricts `business`; else `may_proceed`."""
        by = tuple(m for m in self.in_force if business in m.restricts)
        return Conclusion(business=business, conclusion=RESTRICTED if by else MAY_PROCEED, restricted_by=by)


def pending_objections(objections: Iterable[ObjectionFact], as_of: date) -> tuple[ObjectionFact, ...]:
    """Objections pending on as_of that suspend: filed on or before it, undecided then, not a repeat."""
    return tuple(o for o in objections if not o.repeat and o.pending_on(as_of))


def tier_until(records: list[RecordFact], rules: RuleBook, as_of: date, tier: str) -> date | None:
    """The last day the household keeps `tier` as use periods run out, absent new facts (None: no record)."""
    credit = compute_credit(records, rules, as_of)
    day = as_of
    while credit.items:
        day = min(i.counts_through for i in credit.items) + timedelta(days=1)
        credit = compute_credit(records, rules, day)
        if credit.tier != tier:
            return day - timedelta(days=1)
    return None


def measures_on(records: Iterable[RecordFact], rules: RuleBook, as_of: date,
                procedures: ProcedureFacts = ProcedureFacts(), automatic_steps: bool = True,
                lists: ListsState | None = None) -> MeasuresResult:
    """The measures in force and suspended on `as_of` (SPEC §8), from facts dated on or before it.

    `lists` may pass a `derive_lists(records, rules, as_of, procedures, automatic_steps)` already computed.
    """
    records = [r for r in records if r.confirmed and r.determined <= as_of]
    lists = lists or derive_lists(records, rules, as_of, procedures, automatic_steps)
    version = rules.version_at(as_of)
    pending = pending_objections(procedures.objections, as_of)
    disputed: dict[Hashable, list[Hashable]] = {}
    for o in pending:
        if o.record_id is not None:
            disputed.setdefault(o.record_id, []).append(o.id)

    credit = compute_credit(records, rules, as_of)
    kept = [r for r in records if r.id not in disputed]
    without = compute_credit(kept, rules, as_of)
    counting_disputed = [ref for i in credit.items for ref in disputed.get(i.record_id, ())]

    bases: dict[str, list[Basis]] = {}

    def add(codes: Iterable[str], basis: Basis) -> None:
        for code in codes:
            bases.setdefault(code, []).append(basis)

    if credit.tier != "good":
        actual = version.measures_by_tier.get(credit.tier, ())
        still = set(version.measures_by_tier.get(without.tier, ())) if without.tier != "good" else set()
        tier_clause = version.tiers[credit.tier].clause
        until = tier_until(records, rules, as_of, credit.tier)
        for code in actual:
            add([code], Basis(TIER, credit.tier, tier_clause, None, until,
                              () if code in still else tuple(counting_disputed)))

    watch = lists.watch_on(as_of)
    if watch is not None:
        facts = {r.id: r for r in records}
        grounds = [g for g in watch.grounds if g in facts and standing(facts[g], as_of)]
        refs = tuple(ref for g in grounds for ref in disputed.get(g, ()))
        holds = grounds_hold([g for g in grounds if g not in disputed], watch.mild)
        add(version.measures_by_list.get("watch", ()),
            Basis(WATCH, watch.start, version.watch.clauses["period_months"], watch.start, watch.last_day,
                  () if holds else refs))

    listing = next((p for p in lists.procedures if p.listed_on(as_of)), None)
    banned = next((p for p in lists.procedures if p.banned_on(as_of)), None)
    for proc, kind in ((listing, LISTING), (banned, APPLICATION_BAN)):
        if proc is None:
            continue
        refs = _procedure_suspended_by(proc, records, pending, as_of)
        ref = proc.id if proc.id is not None else proc.opened
        if kind == LISTING:
            last = proc.end - timedelta(days=1) if proc.end else proc.listed_through
            add(version.measures_by_list.get("punishment", ()),
                Basis(LISTING, ref, version.procedure.clauses["listing_years"], proc.listing_effective, last, refs))
        elif version.application_ban is not None:
            ban = version.application_ban
            add([ban.measure], Basis(APPLICATION_BAN, ref, ban.clause, proc.listing_effective, proc.ban_through,
                                     refs))

    out = []
    for item in version.measures.values():  # in the rules' order
        if item.code in bases:
            out.append(Measure(code=item.code, clause=item.clause, title_zh=item.title_zh, title_en=item.title_en,
                               restricts=item.restricts, bases=tuple(bases[item.code])))
    return MeasuresResult(
        as_of=as_of, score=credit.score, tier=credit.tier, tier_without_disputed=without.tier,
        in_force=tuple(m for m in out if m.in_force), suspended=tuple(m for m in out if not m.in_force),
        watch=watch, listing=listing, ban=banned, procedure=lists.open_procedure(), pending=pending, lists=lists)


def _procedure_suspended_by(proc: ProcedureState, records: list[RecordFact], pending: tuple[ObjectionFact, ...],
                            as_of: date) -> tuple[Hashable, ...]:
    """The objections suspending a listing: one on the procedure itself, or ones covering every standing ground."""
    on_itself = tuple(o.id for o in pending if proc.id is not None and o.procedure_id == proc.id)
    if on_itself:
        return on_itself
    facts = {r.id: r for r in records}
    grounds = [g for g in proc.grounds if g not in facts or standing(facts[g], as_of)]
    refs = {g: [o.id for o in pending if o.record_id == g] for g in grounds}
    if grounds and all(refs.values()):
        return tuple(ref for g in grounds for ref in refs[g])
    return ()
