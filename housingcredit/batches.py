"""Work on many households in batches: each unit in its own savepoint, a commit every `size` units.

A failing unit is rolled back alone (its savepoint), logged without personal data (the household's internal id
and the exception's class, never its message: messages may carry SQL parameters such as an ID number), counted
and kept — the units before and after it are committed all the same. Used by the daily jobs and by
`flask credit rebuild`.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from .extensions import db

log = logging.getLogger(__name__)

# A unit runner: each(items, fn, key=None) calls fn(item) for every item. Services accept one so that the caller
# decides how the units are grouped into transactions; without one they run in turn in the caller's transaction.
Each = Callable[..., None]


def in_turn(items: Iterable, fn: Callable, key: Callable | None = None) -> None:
    """Every unit in the caller's transaction: the first failure propagates (the caller rolls back)."""
    for item in items:
        fn(item)


def _default_key(item):
    return getattr(item, "household_id", item)


class Batches:
    """A unit runner committing every `size` units; failures are rolled back one by one and reported."""

    MAX_ERRORS_KEPT = 50

    def __init__(self, name: str, size: int = 200):
        self.name, self.size = name, size
        self.done = 0
        self.failed = 0
        self.errors: list[dict] = []
        self._pending = 0

    def __call__(self, items: Iterable, fn: Callable, key: Callable | None = None) -> None:
        key = key or _default_key
        for item in items:
            ref = key(item)
            try:
                with db.session.begin_nested():
                    fn(item)
            except Exception as err:  # noqa: BLE001 — one household's failure must neither block nor roll back the others
                self.failed += 1
                if len(self.errors) < self.MAX_ERRORS_KEPT:
                    self.errors.append({"household_id": ref, "error": type(err).__name__})
                log.warning("%s: household %s failed (%s); the others go on", self.name, ref, type(err).__name__)
                continue
            self.done += 1
            self._pending += 1
            if self._pending >= self.size:
                self.commit()

    def commit(self) -> None:
        db.session.commit()
        self._pending = 0

    def summary(self) -> dict:
        return {"failed": self.failed, "errors": list(self.errors)}
