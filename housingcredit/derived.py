"""Every cache of derived state, with how to check it and how to rebuild it from facts (DESIGN rule 2).

A cache is registered as `Cache(name, verify, rebuild)`:
- `verify(today)` yields a `Difference` for every stored value the facts no longer give; it only reads;
- `rebuild(echo)` rewrites the cache from facts alone and returns a small dict of counts; it commits.

`flask credit rebuild` runs every rebuild in the order of `CACHES` (procedure schedules first: the watch
reconciliation reads them; scores last); `flask credit verify` runs every verify inside a transaction that is
rolled back, so checking never writes — no cache row, audit entry, notice or outbox event. Another domain adds its
cache with `register(Cache(...))` (e.g. the records' pending state).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from .clock import get_clock
from .extensions import db


@dataclass(frozen=True)
class Difference:
    """A stored value that differs from what the facts give: which table, which household, which row and field."""

    table: str
    household_id: int | None
    key: str  # the row within the household, e.g. "procedure 12" or "entry 2026-01-05"
    field: str
    stored: Any
    expected: Any

    def line(self) -> str:
        return (f"{self.table}: household {self.household_id}, {self.key}: {self.field} stored {_show(self.stored)}, "
                f"expected {_show(self.expected)}")


def _show(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True)
class Cache:
    name: str
    verify: Callable[[date], Iterable[Difference]]
    rebuild: Callable[[Callable[[str], None]], dict]


def _procedure_verify(today):
    from .lists import procedures
    return procedures.schedule_differences(today)


def _procedure_rebuild(echo):
    from .lists import procedures
    return procedures.rebuild_schedules(echo)


def _watch_verify(today):
    from .lists import watch
    return watch.watch_differences(today)


def _watch_rebuild(echo):
    from .lists import watch
    return watch.rebuild_watch(echo)


def _credit_verify(today):
    from .scoring import service
    return service.credit_differences(today)


def _credit_rebuild(echo):
    from .scoring import service
    return service.rebuild_all(echo=echo)


def _pending_verify(today):
    from .records import service
    from .records.models import Record
    ids = service.pending_state_drift()
    rows = db.session.execute(db.select(Record.id, Record.household_id, Record.pending)
                              .where(Record.id.in_(ids))).all() if ids else []
    return [Difference("records", hid, f"record {rid}", "pending", pending, not pending) for rid, hid, pending in rows]


def _pending_rebuild(echo):
    from .records import service
    fixed = service.rebuild_pending_state()
    db.session.commit()
    echo(f"records: {fixed} pending state(s) corrected")
    return {"corrected": fixed}


def _confirmed_verify(today):
    from .records import service
    from .records.models import Record
    ids = service.confirmed_state_drift()
    rows = db.session.execute(db.select(Record.id, Record.household_id, Record.confirmed_unrevoked)
                              .where(Record.id.in_(ids))).all() if ids else []
    return [Difference("records", hid, f"record {rid}", "confirmed_unrevoked", stored, not stored)
            for rid, hid, stored in rows]


def _confirmed_rebuild(echo):
    from .records import service
    fixed = service.rebuild_confirmed_state()
    db.session.commit()
    echo(f"records: {fixed} confirmed state(s) corrected")
    return {"corrected": fixed}


CACHES: list[Cache] = [
    Cache("records_pending", _pending_verify, _pending_rebuild),
    Cache("records_confirmed", _confirmed_verify, _confirmed_rebuild),
    Cache("procedures", _procedure_verify, _procedure_rebuild),
    Cache("watch_entries", _watch_verify, _watch_rebuild),
    Cache("credit_states", _credit_verify, _credit_rebuild),
]


def register(cache: Cache) -> None:
    """Add (or replace, by name) a cache to check and rebuild."""
    CACHES[:] = [c for c in CACHES if c.name != cache.name] + [cache]


def verify(today: date | None = None) -> list[Difference]:
    """Every difference between the caches and the facts, today; writes nothing (rolled back whatever happens)."""
    today = today or get_clock().today()
    db.session.rollback()  # start from a clean transaction, so that the rollback below discards only our reads
    try:
        with db.session.no_autoflush:
            return [d for cache in CACHES for d in cache.verify(today)]
    finally:
        db.session.rollback()


def rebuild(echo: Callable[[str], None] | None = None) -> dict:
    """Rebuild every cache from facts, in order; each rebuild commits its own batches."""
    echo = echo or (lambda _msg: None)
    out = {}
    for cache in CACHES:
        out[cache.name] = cache.rebuild(echo)
    return out
