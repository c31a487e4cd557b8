"""The pure scoring engine (信用计分, HB 五; SPEC §5): (records, rules, as_of) → score, tier, explanation.

No database and no Flask: callers turn their rows into `RecordFact`s. A record is judged by the rules version in
force on its determination date; the household tier by the version in force on `as_of` (SPEC §13).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Hashable, Iterable

from ..rules.loader import RuleBook


@dataclass(frozen=True)
class RecordFact:
    """What the engines need to know of one behaviour record: its determination and what happened to it since."""

    id: Hashable
    code: str
    determined: date
    region_code: str | None = None
    revoked: date | None = None
    repaired: date | None = None
    confirmed: bool = True


@dataclass(frozen=True)
class CountingItem:
    """One record counting in the score, with its deduction and where the rule comes from."""

    record_id: Hashable
    code: str
    title_zh: str
    title_en: str
    clause: str
    deduct: int
    tier: str
    version: str
    determined: date
    counts_through: date


@dataclass(frozen=True)
class CreditResult:
    score: int
    tier: str
    as_of: date
    items: tuple[CountingItem, ...]
    total_deduction: int
    version: str  # the version whose tier bands placed the score

    @property
    def next_change(self) -> date | None:
        """The first day after as_of on which a use period ends and the score changes, absent new facts."""
        if not self.items:
            return None
        return min(i.counts_through for i in self.items) + timedelta(days=1)


def record_sort_key(record_id: Hashable, determined: date) -> tuple:
    """Determination date, then id — numbers in numeric order, anything else by its text."""
    if isinstance(record_id, int) and not isinstance(record_id, bool):
        return (determined, 0, record_id, "")
    return (determined, 1, 0, str(record_id))


def standing(record: RecordFact, on: date) -> bool:
    """Confirmed, determined on or before `on`, and neither revoked nor repaired on or before it."""
    return (record.confirmed and record.determined <= on
            and not (record.revoked is not None and record.revoked <= on)
            and not (record.repaired is not None and record.repaired <= on))


def compute_credit(records: Iterable[RecordFact], rules: RuleBook, as_of: date) -> CreditResult:
    """Score = base − Σ deductions of the records counting on as_of, floored at 0; with the tier and the why."""
    items = []
    for r in records:
        if not standing(r, as_of):
            continue
        b = rules.behaviour_on(r.code, r.region_code, r.determined)
        through = b.counts_through(r.determined)
        if as_of > through:
            continue
        items.append(CountingItem(record_id=r.id, code=b.code, title_zh=b.title_zh, title_en=b.title_en,
                                  clause=b.clause, deduct=b.deduct, tier=b.tier, version=b.version,
                                  determined=r.determined, counts_through=through))
    items.sort(key=lambda i: record_sort_key(i.record_id, i.determined))
    total = sum(i.deduct for i in items)
    version = rules.version_at(as_of)
    score = max(0, version.base_score - total)
    return CreditResult(score=score, tier=version.tier_for_score(score), as_of=as_of, items=tuple(items),
                        total_deduction=total, version=version.name)
