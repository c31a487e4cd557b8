"""The outbox (发件箱) to the provincial credit platform: enqueue in the caller's transaction, in order per household.

Delivery (the push client, retries with back-off, the reference receiver) comes with the platform issue; events
queued now are kept until then and nothing is lost."""
from __future__ import annotations

import json

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..clock import get_clock
from ..errors import Conflict
from ..extensions import db
from .models import OutboxEvent


def enqueue(household_id: int, kind: str, payload: dict) -> OutboxEvent:
    """Append an event with the next sequence number for this household (unique: a race fails, never reorders).

    An event that cannot be built (no household or kind, a payload that is not a JSON object of plain values —
    a lazy translation, a date, an object) is never dropped or stored half: the use case fails here (Conflict)
    and its transaction is rolled back with it."""
    try:
        if not (household_id and kind and isinstance(payload, dict)):
            raise TypeError("household, kind and a dict payload are required")
        json.dumps(payload, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise Conflict(_l("The platform event %(kind)s could not be built (%(why)s); nothing was changed.",
                          kind=kind, why=type(err).__name__)) from err
    last = db.session.scalar(sa.select(sa.func.max(OutboxEvent.seq)).where(OutboxEvent.household_id == household_id))
    event = OutboxEvent(household_id=household_id, seq=(last or 0) + 1, kind=kind, payload=payload,
                        created_dt=get_clock().now_utc())
    db.session.add(event)
    db.session.flush()
    return event
