"""The outbox (发件箱) to the provincial credit platform: enqueue in the caller's transaction, in order per stream.

Delivery is `sender.py` (the scheduler's interval job and `flask platform push`); the console's uses (counts,
retrying a dead letter, reconciliation and repair) are below. Every write here is audited.
"""
from __future__ import annotations

import json
import uuid

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..clock import get_clock
from ..errors import Conflict
from ..extensions import db
from .models import ACKNOWLEDGED, AUDIT_STREAM, DEAD, FAILED, PENDING, STATUSES, OutboxEvent


def enqueue(household_id: int | None, kind: str, payload: dict, *, stream: str | None = None) -> OutboxEvent:
    """Append an event with the next sequence number of its stream (a household's, or a named one for events
    about no household); unique per stream: a race fails, never reorders. One statement: the number is taken
    inside the INSERT (`(SELECT coalesce(max(seq), 0) + 1 … WHERE stream = …)`, read backwards from the unique
    index on (stream, seq)).

    An event that cannot be built (no household or stream, no kind, a payload that is not a JSON object of plain
    values — a lazy translation, a date, an object) is never dropped or stored half: the use case fails here
    (Conflict) and its transaction is rolled back with it."""
    try:
        if not ((household_id or stream) and kind and isinstance(payload, dict)):
            raise TypeError("a household or stream, a kind and a dict payload are required")
        json.dumps(payload, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise Conflict(_l("The platform event %(kind)s could not be built (%(why)s); nothing was changed.",
                          kind=kind, why=type(err).__name__)) from err
    stream = stream or str(household_id)
    t = OutboxEvent.__table__
    next_seq = sa.select(sa.func.coalesce(sa.func.max(t.c.seq), 0) + 1).where(t.c.stream == stream).scalar_subquery()
    event = OutboxEvent(household_id=household_id, stream=stream, seq=next_seq, kind=kind, payload=payload,
                        created_dt=get_clock().now_utc(), idempotency_key=uuid.uuid4().hex, status=PENDING,
                        attempts=0, rejections=0)
    db.session.add(event)
    db.session.flush()
    return event


def enqueue_checkpoint(cp: dict) -> OutboxEvent:
    """The audit chain's signed checkpoint, anchored outside our database (issue 17)."""
    return enqueue(None, "audit.checkpoint", dict(cp), stream=AUDIT_STREAM)


# ---- the push console (supervisors) ---------------------------------------------------------------------------

def counts() -> dict[str, int]:
    """Messages by status (every status present, zero when none)."""
    got = dict(db.session.execute(sa.select(OutboxEvent.status, sa.func.count()).group_by(OutboxEvent.status)).all())
    return {s: int(got.get(s, 0)) for s in STATUSES}


def messages(status: str | None = None, stream: str | None = None, limit: int = 200) -> list[OutboxEvent]:
    """Messages for the console: dead letters and failures first, then per stream in order."""
    stmt = sa.select(OutboxEvent)
    if status:
        stmt = stmt.where(OutboxEvent.status == status)
    if stream:
        stmt = stmt.where(OutboxEvent.stream == stream)
    rank = sa.case((OutboxEvent.status == DEAD, 0), (OutboxEvent.status == FAILED, 1), else_=2)
    return list(db.session.scalars(stmt.order_by(rank, OutboxEvent.stream, OutboxEvent.seq).limit(limit)))


def dead_letters() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEvent).where(OutboxEvent.status == DEAD))


def retry(event_id: int, who) -> OutboxEvent:
    """Put a dead letter back in the queue (audited): due now, its rejections counted afresh, its wait restarted."""
    from ..accounts import gate
    from ..audit import service as audit
    from ..errors import Conflict, NotFound
    gate.require("platform.manage", who)
    row = db.session.get(OutboxEvent, event_id)
    if row is None:
        raise NotFound()
    if row.status != DEAD:
        raise Conflict(_l("Only a dead-lettered message can be retried."))
    before = {"status": row.status, "attempts": row.attempts, "rejections": row.rejections,
              "error": row.last_error}
    row.status, row.rejections, row.dead_dt, row.next_attempt_dt = PENDING, 0, None, None
    row.created_dt = get_clock().now_utc()  # the 24-hour wait starts again
    audit.record("platform.retry", "outbox_event", row.id, household_id=row.household_id,
                 region_code=(row.payload or {}).get("region_code"), before=before,
                 after={"status": PENDING, "kind": row.kind, "seq": row.seq}, actor=who)
    db.session.flush()
    return row


def reconcile(holdings: list[dict]) -> dict:
    """Hold the platform's holdings against the outbox: what we sent (acknowledged) and what our facts say it
    should hold (every queued event, once, in order per stream). Every difference is listed:
    `missing` (acknowledged here, not held there: re-send), `unknown` (held there, never queued here),
    `unconfirmed` (held there, not yet acknowledged here: the answer was lost; the next send settles it),
    `mismatch` (held under our key with another stream, seq or kind), `duplicate` (a key held twice),
    `out_of_order` (a stream held out of seq order); `undelivered` counts what is still on its way."""
    ours = {k: (s, q, kd, st) for k, s, q, kd, st in db.session.execute(sa.select(
        OutboxEvent.idempotency_key, OutboxEvent.stream, OutboxEvent.seq, OutboxEvent.kind, OutboxEvent.status))}
    held: dict[str, dict] = {}
    diffs: dict[str, list] = {k: [] for k in ("missing", "unknown", "unconfirmed", "mismatch", "duplicate",
                                              "out_of_order")}
    last_seq: dict[str, int] = {}
    for h in holdings:
        key = h.get("idempotency_key")
        if key in held:
            diffs["duplicate"].append(key)
            continue
        held[key] = h
        if h.get("seq") is not None and h["seq"] <= last_seq.get(h.get("stream"), 0):
            diffs["out_of_order"].append(key)
        last_seq[h.get("stream")] = max(last_seq.get(h.get("stream"), 0), h.get("seq") or 0)
        mine = ours.get(key)
        if mine is None:
            diffs["unknown"].append(key)
            continue
        if (str(h.get("stream")), h.get("seq"), h.get("kind")) != (mine[0], mine[1], mine[2]):
            diffs["mismatch"].append(key)
        if mine[3] != ACKNOWLEDGED:
            diffs["unconfirmed"].append(key)
    diffs["missing"] = [k for k, v in ours.items() if v[3] == ACKNOWLEDGED and k not in held]
    undelivered = sum(1 for k, v in ours.items() if v[3] != ACKNOWLEDGED and k not in held)
    return {"held": len(held), "ours": len(ours), "undelivered": undelivered, "differences": diffs,
            "clean": not any(diffs.values())}


def repair(keys: list[str], who) -> int:
    """Re-send the messages the platform lacks (reconciliation's `missing`): back to pending, audited."""
    from ..accounts import gate
    from ..audit import service as audit
    gate.require("platform.manage", who)
    rows = db.session.scalars(sa.select(OutboxEvent).where(OutboxEvent.idempotency_key.in_(keys),
                                                           OutboxEvent.status == ACKNOWLEDGED)).all()
    for row in rows:
        row.status, row.next_attempt_dt, row.delivered_dt = PENDING, None, None
        audit.record("platform.repair", "outbox_event", row.id, household_id=row.household_id,
                     region_code=(row.payload or {}).get("region_code"),
                     before={"status": ACKNOWLEDGED}, after={"status": PENDING, "kind": row.kind, "seq": row.seq},
                     actor=who)
    db.session.flush()
    return len(rows)
