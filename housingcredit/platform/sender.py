"""The sender (推送): drains the outbox to the platform over HTTP (httpx), in batches, in order per stream.

One round: claim up to `PLATFORM_BATCH × 4` messages that are due — each the oldest unacknowledged message of its
stream, so seq n+1 is never sent before n is acknowledged — mark them `sent` with a lease and commit (on
PostgreSQL `FOR UPDATE SKIP LOCKED`: two senders never claim the same message, and the predecessor rule keeps
them from claiming a stream's next one); then post them in requests of `PLATFORM_BATCH`, signed (signing.py),
and record each request's answers at once (commit per request). A message answered `accepted` is acknowledged
with the platform's answer stored; a transport error, a timeout or a 5xx leaves it `failed` with exponential
back-off; a data rejection (the message's `rejected` answer, or a 4xx) too, and after `PLATFORM_MAX_REJECTIONS`
rejections — or `PLATFORM_MAX_WAIT_HOURS` after it was queued — it is dead-lettered (audited, shown on the console,
never dropped; its stream waits behind it until a supervisor retries it). A sender killed after posting leaves
its claim `sent`: when the lease ends the messages are sent again under the same idempotency keys, and the
platform answers them as before.
"""
from __future__ import annotations

import json
import logging
from datetime import timedelta

import httpx
import sqlalchemy as sa
from flask import current_app

from ..audit import service as audit
from ..clock import get_clock
from ..extensions import db
from . import payload, signing
from .models import ACKNOWLEDGED, DEAD, FAILED, OPEN_STATUSES, SENT, OutboxEvent

log = logging.getLogger(__name__)
MESSAGES_PATH = "/v1/messages"
HOLDINGS_PATH = "/v1/holdings"
# test hook: called after each request's answer arrived, before it is recorded (a sender killed mid-batch)
after_request_hook = None


class NotConfigured(Exception):
    pass


def _cfg(name):
    return current_app.config[name]


def make_client() -> httpx.Client:
    """An httpx client for the configured platform: timeout, TLS verification, client certificate."""
    url = current_app.config.get("PLATFORM_URL")
    if not url:
        raise NotConfigured("PLATFORM_URL is not set")
    verify = current_app.config.get("PLATFORM_VERIFY", True)
    cert = current_app.config.get("PLATFORM_CLIENT_CERT") or None
    key = current_app.config.get("PLATFORM_CLIENT_KEY") or None
    return httpx.Client(base_url=url.rstrip("/"), timeout=float(_cfg("PLATFORM_TIMEOUT")), verify=verify,
                        cert=(cert, key) if cert and key else cert)


def _path(client: httpx.Client, path: str) -> str:
    return (client.base_url.path.rstrip("/") + path) or path


def signed(client: httpx.Client, method: str, path: str, body: bytes = b"", params=None) -> httpx.Response:
    ts = int(get_clock().now_utc().timestamp())
    full = _path(client, path)
    hdrs = signing.headers(_cfg("PLATFORM_SECRET"), method, full, ts, body)
    hdrs["Content-Type"] = "application/json"
    return client.request(method, path, content=body, headers=hdrs, params=params)


def backoff(attempts: int) -> timedelta:
    base, cap = int(_cfg("PLATFORM_BACKOFF_SECONDS")), int(_cfg("PLATFORM_BACKOFF_MAX_SECONDS"))
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def _postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _async_commit() -> None:
    """The sender's own transactions (a claim, a request's answers without a dead letter) commit without waiting
    for the WAL flush (PostgreSQL `synchronous_commit = off`, this transaction only). A crash can lose only the
    last such commits, whole (anything a later durable commit saw is flushed with it): a lost claim or answer
    means the message is sent again under the same idempotency key and the platform answers as before — at least
    once, in order, nothing dropped."""
    db.session.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))


_OPEN = [sa.literal_column(f"'{s}'") for s in OPEN_STATUSES]  # literal: the partial indexes' own predicates
_ACK = sa.literal_column(f"'{ACKNOWLEDGED}'")


def claim(limit: int) -> list[tuple[int, dict]]:
    """Claim the due heads of the streams (one message per stream), mark them sent, commit; (id, message) each.

    One statement: `UPDATE … WHERE id = ANY(ARRAY(SELECT … FOR UPDATE SKIP LOCKED)) RETURNING …` on PostgreSQL
    (`id IN (SELECT …)` without the lock on SQLite), the heads found through the partial indexes on what is not
    yet acknowledged (migration 0015)."""
    now = get_clock().now_utc()
    t = OutboxEvent.__table__
    e, prev = t.alias("head"), t.alias("prev")
    blocked = sa.exists().where(prev.c.stream == e.c.stream, prev.c.seq < e.c.seq, prev.c.status != _ACK)
    heads = (sa.select(e.c.id).where(e.c.status.in_(_OPEN),
                                     sa.or_(e.c.next_attempt_dt.is_(None), e.c.next_attempt_dt <= now), ~blocked)
             .order_by(e.c.id).limit(limit))
    if _postgres():
        _async_commit()
        # `id = ANY(ARRAY(…))`: the claimed ids are looked up by primary key, never by a scan of the whole table
        which = t.c.id == sa.any_(sa.func.array(heads.with_for_update(skip_locked=True, of=e).scalar_subquery()))
    else:
        which = t.c.id.in_(heads)
    lease = now + timedelta(seconds=int(_cfg("PLATFORM_LEASE_SECONDS")))
    rows = db.session.execute(
        sa.update(t).where(which)
        .values(status=SENT, attempts=t.c.attempts + 1, last_attempt_dt=now, next_attempt_dt=lease)
        .returning(t.c.id, t.c.stream, t.c.seq, t.c.kind, t.c.payload, t.c.idempotency_key)).all()
    if not rows:
        db.session.commit()
        return []
    rows.sort(key=lambda r: r.id)
    extra = payload.lookups(rows)
    out = [(r.id, payload.build(r, extra)) for r in rows]
    db.session.commit()
    return out


def _record(sent: list[tuple[int, dict]], answers: dict[str, dict], error: str | None, data_error: bool) -> dict:
    """Write one request's outcome (only for messages still `sent`: a later claim is not overwritten)."""
    now = get_clock().now_utc()
    counts = {"acknowledged": 0, "failed": 0, "dead": 0}
    acked, failed = [], []
    for event_id, m in sent:
        a = answers.get(m["idempotency_key"])
        if a is not None and a.get("status") == "accepted":
            acked.append({"id": event_id, "answer": a})
        else:
            failed.append((event_id, a))
    if acked:
        _acknowledge(acked, now)
        counts["acknowledged"] = len(acked)
    if failed:
        max_rej = int(_cfg("PLATFORM_MAX_REJECTIONS"))
        max_wait = timedelta(hours=float(_cfg("PLATFORM_MAX_WAIT_HOURS")))
        rows = {r.id: r for r in db.session.scalars(sa.select(OutboxEvent).where(
            OutboxEvent.id.in_([i for i, _ in failed]), OutboxEvent.status == SENT))}
        for event_id, a in failed:
            row = rows.get(event_id)
            if row is None:
                continue
            rejected = (a is not None and a.get("status") == "rejected") or (a is None and data_error)
            row.answer = a if a is not None else ({"error": error} if error else None)
            row.last_error = (error or (a or {}).get("code") or "no answer for this message")[:500]
            if rejected:
                row.rejections += 1
            if (rejected and row.rejections >= max_rej) or now - row.created_dt >= max_wait:
                _dead_letter(row, now)
                counts["dead"] += 1
            else:
                row.status, row.next_attempt_dt = FAILED, now + backoff(row.attempts)
                counts["failed"] += 1
    if _postgres() and not counts["dead"]:  # a dead letter's audit entry commits durably, as every audit entry
        _async_commit()
    db.session.commit()
    return counts


_ACK_PG = sa.text(
    "UPDATE outbox_events AS o SET status = 'acknowledged', delivered_dt = :now, answer = CAST(v.answer AS json), "
    "next_attempt_dt = NULL, last_error = NULL "
    "FROM (SELECT unnest(CAST(:ids AS bigint[])) AS id, unnest(CAST(:answers AS text[])) AS answer) AS v "
    "WHERE o.id = v.id AND o.status = 'sent'").bindparams(sa.bindparam("now", type_=OutboxEvent.delivered_dt.type))


def _acknowledge(acked: list[dict], now) -> None:
    """Store the platform's answers of one request, each only on a message still `sent`: on PostgreSQL one
    statement (`UPDATE … FROM unnest(…)`), elsewhere one executemany."""
    if _postgres():
        db.session.execute(_ACK_PG, {"now": now, "ids": [r["id"] for r in acked],
                                     "answers": [json.dumps(r["answer"], ensure_ascii=False) for r in acked]})
        return
    t = OutboxEvent.__table__
    db.session.execute(sa.update(t).where(t.c.id == sa.bindparam("b_id"), t.c.status == SENT)
                       .values(status=ACKNOWLEDGED, delivered_dt=now, answer=sa.bindparam("b_answer"),
                               next_attempt_dt=None, last_error=None),
                       [{"b_id": r["id"], "b_answer": r["answer"]} for r in acked])


def _dead_letter(row: OutboxEvent, now) -> None:
    row.status, row.dead_dt, row.next_attempt_dt = DEAD, now, None
    audit.record("platform.dead_letter", "outbox_event", row.id, household_id=row.household_id,
                 region_code=(row.payload or {}).get("region_code"),
                 after={"kind": row.kind, "seq": row.seq, "attempts": row.attempts, "rejections": row.rejections,
                        "error": row.last_error})


def expire_waiting() -> int:
    """Dead-letter open messages queued longer than PLATFORM_MAX_WAIT_HOURS ago that are not in flight."""
    now = get_clock().now_utc()
    limit = now - timedelta(hours=float(_cfg("PLATFORM_MAX_WAIT_HOURS")))
    rows = db.session.scalars(sa.select(OutboxEvent).where(
        OutboxEvent.status.in_(OPEN_STATUSES), OutboxEvent.created_dt <= limit,
        sa.or_(OutboxEvent.status != SENT, OutboxEvent.next_attempt_dt <= now))).all()
    for row in rows:
        row.last_error = row.last_error or "waited too long"
        _dead_letter(row, now)
    db.session.commit()
    return len(rows)


def send(client: httpx.Client, batch: list[tuple[int, dict]]) -> dict:
    """Post one request and record its answers."""
    body = json.dumps({"messages": [m for _, m in batch]}, ensure_ascii=False, separators=(",", ":")).encode()
    answers: dict[str, dict] = {}
    error, data_error = None, False
    try:
        resp = signed(client, "POST", MESSAGES_PATH, body)
        if resp.status_code == 200:
            for a in resp.json().get("results") or []:
                if isinstance(a, dict) and a.get("idempotency_key"):
                    answers.setdefault(a["idempotency_key"], a)  # an answer given twice counts once
        else:
            error = f"HTTP {resp.status_code}: {resp.text[:200]}"
            data_error = 400 <= resp.status_code < 500 and resp.status_code not in (408, 429)
    except httpx.HTTPError as err:
        error = f"{type(err).__name__}: {err}"[:500]
    except ValueError as err:  # an unreadable answer
        error = f"unreadable answer: {err}"[:500]
    if after_request_hook is not None:
        after_request_hook(batch, answers)
    return _record(batch, answers, error, data_error)


def push(*, client: httpx.Client | None = None, max_rounds: int | None = None) -> dict:
    """Drain what is due now; returns counts. Stops when nothing is due (failures wait for their back-off)."""
    own = client is None
    client = client or make_client()
    size = int(_cfg("PLATFORM_BATCH"))
    total = {"acknowledged": 0, "failed": 0, "dead": 0, "requests": 0}
    try:
        total["dead"] += expire_waiting()
        rounds = 0
        while max_rounds is None or rounds < max_rounds:
            rounds += 1
            claimed = claim(size * 4)
            if not claimed:
                break
            for i in range(0, len(claimed), size):
                c = send(client, claimed[i:i + size])
                total["requests"] += 1
                for k in ("acknowledged", "failed", "dead"):
                    total[k] += c[k]
    finally:
        if own:
            client.close()
    return total


def holdings(client: httpx.Client | None = None) -> list[dict]:
    """What the platform holds (the reference receiver's listing), for reconciliation."""
    own = client is None
    client = client or make_client()
    try:
        resp = signed(client, "GET", HOLDINGS_PATH)
        resp.raise_for_status()
        return resp.json()["holdings"]
    finally:
        if own:
            client.close()
