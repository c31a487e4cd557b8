"""Every decision has two people (SPEC §4): one proposes, another confirms — each a fact with its author, date and
reasons, nothing deleted. One helper for the decisions that take this shape: an objection's result, a repair
application's decision, a revocation and a correction (the determination of a record is the four-eyes check of
records/service.py: a recorder and a reviewer, with no proposal row).

`propose` writes the proposal fact and its audit entry; `decide` checks the second person, takes the household
lock, refuses a decided item or one without a proposal awaiting review, then writes the decision fact dated by the
clock (never back-dated) and its audit entry. What the decision does (revoke, correct, repair, notify) stays with
the use case.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from .audit import service as audit
from .clock import get_clock
from .errors import Conflict, Forbidden
from .extensions import db


def _write(row, h, who, action: str, object_type: str, object_id, after: dict) -> None:
    db.session.add(row)
    db.session.flush()
    audit.record(action, object_type, object_id, household_id=h.id, region_code=h.region_code, after=after,
                 actor=(who.id, who.username))


def propose(h, who, make: Callable[[date, datetime], Any], *, action: str, object_type: str, object_id,
            after: Callable[[Any], dict]):
    """Write a proposal made by `who` (the caller has checked who may propose and that none is awaiting review):
    `make(today, now)` builds the row; returns it, flushed and audited."""
    clock = get_clock()
    row = make(clock.today(), clock.now_utc())
    _write(row, h, who, action, object_type, object_id, after(row))
    return row


def decide(h, who, *, excluded: Iterable[int | None], forbidden, decided: Callable[[], bool], decided_message,
           proposal: Callable[[], Any], awaiting_message=None, make: Callable[[Any, date, datetime], Any],
           action: str, object_type: str, object_id, after: Callable[[Any, Any], dict],
           relation: str | None = None):
    """The second person's decision on a proposal, as one fact. In order: Forbidden (`forbidden`) when `who` is
    among `excluded` (the proposer, the handler, the record's recorder — supervisors too); the household lock;
    Conflict (`decided_message`) when `decided()`; Conflict (`awaiting_message`) when `proposal()` finds none
    awaiting review. Then `make(proposal, today, now)` builds the decision row, dated by the clock; it is flushed
    and audited (`after(row, proposal)`), and the proposal's `relation` refreshed. Returns (row, proposal)."""
    from .scoring import service as scoring
    if who.id in {i for i in excluded if i is not None}:
        raise Forbidden(forbidden)
    scoring.lock_household(h.id)
    if decided():
        raise Conflict(decided_message)
    open_proposal = proposal()
    if open_proposal is None:
        raise Conflict(awaiting_message)
    clock = get_clock()
    row = make(open_proposal, clock.today(), clock.now_utc())
    db.session.add(row)
    db.session.flush()
    if relation:
        db.session.refresh(open_proposal, [relation])
    audit.record(action, object_type, object_id, household_id=h.id, region_code=h.region_code,
                 after=after(row, open_proposal), actor=(who.id, who.username))
    return row, open_proposal
