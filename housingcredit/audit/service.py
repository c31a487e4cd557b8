"""Appending to and verifying the hash-chained audit trail (审计日志)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import sqlalchemy as sa

from ..clock import get_clock
from ..extensions import db
from .models import AuditEntry

GENESIS = "0" * 64
_CHAIN_LOCK = 0x4843_4155  # advisory-lock key serialising appends on PostgreSQL ("HCAU")


def _digest(prev_hash: str, fields: dict) -> str:
    body = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def _fields(e: AuditEntry) -> dict:
    return {"id": e.id, "dt": e.dt.isoformat(), "actor_id": e.actor_id, "actor_label": e.actor_label,
            "action": e.action, "object_type": e.object_type, "object_id": e.object_id,
            "household_id": e.household_id, "region_code": e.region_code, "before": e.before, "after": e.after}


def _actor():
    from flask import has_request_context
    from flask_login import current_user
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.id, current_user.username
    return None, "system"


def record(action: str, object_type: str, object_id=None, *, household_id=None, region_code=None,
           before: dict | None = None, after: dict | None = None, actor=None) -> AuditEntry:
    """Append one entry in the caller's transaction. Never put a raw resident ID number in before/after.

    `actor` is the acting User (or an (id, label) pair); without it, the logged-in user of the request, or
    "system" for jobs."""
    session = db.session
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK})
    last = session.execute(sa.select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).first()
    if actor is None:
        actor_id, actor_label = _actor()
    elif isinstance(actor, tuple):
        actor_id, actor_label = actor
    else:  # a User
        actor_id, actor_label = actor.id, actor.username
    entry = AuditEntry(
        id=(last.id + 1) if last else 1, dt=get_clock().now_utc().replace(microsecond=0),
        actor_id=actor_id, actor_label=actor_label, action=action, object_type=object_type,
        object_id=None if object_id is None else str(object_id), household_id=household_id,
        region_code=region_code, before=before, after=after, prev_hash=last.hash if last else GENESIS)
    entry.hash = _digest(entry.prev_hash, _fields(entry))
    session.add(entry)
    session.flush()
    return entry


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str | None = None


def verify(batch: int = 5000) -> VerifyResult:
    """Walk the chain in id order; report the first entry altered, missing or out of place."""
    prev, expected_id, checked, after_id = GENESIS, 1, 0, 0
    while True:
        rows = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.id > after_id)
                                  .order_by(AuditEntry.id).limit(batch)).all()
        if not rows:
            return VerifyResult(True, checked)
        for e in rows:
            if e.id != expected_id:
                return VerifyResult(False, checked, expected_id, "missing")
            if e.prev_hash != prev:
                return VerifyResult(False, checked, e.id, "chain broken")
            if _digest(prev, _fields(e)) != e.hash:
                return VerifyResult(False, checked, e.id, "altered")
            prev, expected_id, checked, after_id = e.hash, e.id + 1, checked + 1, e.id
        db.session.expunge_all()


def history(household_id: int, *, reads: bool = False, limit: int = 200) -> list[AuditEntry]:
    """The household's trail, newest first: its changes, or (reads=True) the staff reads of its data — kept
    apart so that frequent reads never crowd the changes out of the page."""
    is_read = sa.or_(AuditEntry.action.like("%.read"), AuditEntry.action == "credit.check")  # a check reads
    return db.session.scalars(sa.select(AuditEntry)
                              .where(AuditEntry.household_id == household_id, is_read if reads else ~is_read)
                              .order_by(AuditEntry.id.desc()).limit(limit)).all()
