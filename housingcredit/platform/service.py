"""The outbox (发件箱) to the provincial credit platform: enqueue in the caller's transaction, in order per household.

Delivery (the push client, retries with back-off, the reference receiver) comes with the platform issue; events
queued now are kept until then and nothing is lost."""
from __future__ import annotations

import sqlalchemy as sa

from ..clock import get_clock
from ..extensions import db
from .models import OutboxEvent


def enqueue(household_id: int, kind: str, payload: dict) -> OutboxEvent:
    """Append an event with the next sequence number for this household (unique: a race fails, never reorders)."""
    last = db.session.scalar(sa.select(sa.func.max(OutboxEvent.seq)).where(OutboxEvent.household_id == household_id))
    event = OutboxEvent(household_id=household_id, seq=(last or 0) + 1, kind=kind, payload=payload,
                        created_dt=get_clock().now_utc())
    db.session.add(event)
    db.session.flush()
    return event
