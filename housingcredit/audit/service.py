"""Appending to and verifying the keyed, hash-chained audit trail (审计日志).

Each entry's `hash` is HMAC-SHA256(AUDIT_KEY, prev_hash + canonical JSON of its fields); the key lives in the
configuration, never in the database, so whoever can write the table cannot recompute a chain that verifies.

Appending is two-phase so that audited requests do not queue on one lock: `record()` only stages the entry in
`session.info`; the session's `before_commit` hook flushes the use case's own rows, then (on PostgreSQL) takes the
chain's advisory lock, reads the head, numbers and hashes the staged entries and inserts them — the lock is held
only from that insert to the commit. A rollback drops what was staged. `append_now()` writes the staged entries at
once for a caller that needs `entry.id` before its commit.

Ids never go back: a new entry's id is above both the table's head and the newest checkpoint's last id, so
deleting the newest rows cannot make their ids reappear unnoticed.

Checkpoints (`checkpoint()`, daily job and `flask audit checkpoint`) are signed lines (count, last id, last hash,
time, HMAC) appended to a file outside the database (AUDIT_CHECKPOINT_FILE); `verify()` walks the chain and then
holds it against the newest checkpoint of this database, which catches a truncated tail.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..clock import get_clock
from ..extensions import db
from .models import AuditEntry

GENESIS = "0" * 64
_CHAIN_LOCK = 0x4843_4155  # advisory-lock key serialising appends on PostgreSQL ("HCAU")
_STAGED = "audit.staged"


def _key() -> bytes:
    return current_app.config["AUDIT_KEY"].encode("utf-8")


def _body(prev_hash: str, fields: dict) -> bytes:
    body = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return (prev_hash + body).encode("utf-8")


def _digest(prev_hash: str, fields: dict, key: bytes | None = None) -> str:
    return hmac.new(key or _key(), _body(prev_hash, fields), hashlib.sha256).hexdigest()


def _legacy_digest(prev_hash: str, fields: dict) -> str:
    """The unkeyed SHA-256 of entries written before the chain was keyed (ids up to AUDIT_LEGACY_UNTIL)."""
    return hashlib.sha256(_body(prev_hash, fields)).hexdigest()


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
    """Stage one entry in the caller's transaction; it is numbered, chained and written when that transaction
    commits (or at `append_now()`), and dropped when it rolls back. Never put a raw resident ID number in
    before/after.

    `actor` is the acting User (or an (id, label) pair); without it, the logged-in user of the request, or
    "system" for jobs. An entry about a household carries that household's region."""
    session = db.session
    if actor is None:
        actor_id, actor_label = _actor()
    elif isinstance(actor, tuple):
        actor_id, actor_label = actor
    else:  # a User
        actor_id, actor_label = actor.id, actor.username
    if household_id is not None and region_code is None:
        from ..archives.models import Household
        h = session.get(Household, household_id)
        region_code = h.region_code if h is not None else None
    entry = AuditEntry(
        dt=get_clock().now_utc().replace(microsecond=0),
        actor_id=actor_id, actor_label=actor_label, action=action, object_type=object_type,
        object_id=None if object_id is None else str(object_id), household_id=household_id,
        region_code=region_code, before=before, after=after)
    # staged with the (nested) transaction it belongs to: a rolled-back savepoint drops its own entries only
    inner = session()  # the scoped session's Session
    session.info.setdefault(_STAGED, []).append((inner.get_nested_transaction() or inner.get_transaction(), entry))
    return entry


def staged(session: Session | None = None) -> list[AuditEntry]:
    """The entries recorded in the current transaction and not yet written."""
    return [entry for _txn, entry in (session or db.session).info.get(_STAGED, ())]


def append_now(session: Session | None = None) -> None:
    """Write the staged entries now (ids assigned), taking the chain lock until the commit."""
    _write_staged(session or db.session())


def _write_staged(session: Session) -> None:
    entries = [entry for _txn, entry in session.info.pop(_STAGED, ())]
    if not entries:
        return
    session.flush()  # the use case's own rows first, outside the chain lock
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK})
    last = session.execute(sa.select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).first()
    next_id = max(last.id if last else 0, _checkpoint_floor()) + 1
    prev = last.hash if last else GENESIS
    key = _key()
    for entry in entries:
        entry.id, entry.prev_hash = next_id, prev
        entry.hash = prev = _digest(prev, _fields(entry), key)
        next_id += 1
    session.add_all(entries)
    session.flush()


@event.listens_for(Session, "before_commit")
def _append_staged_before_commit(session: Session) -> None:
    _write_staged(session)


def _within(txn, ancestor) -> bool:
    while txn is not None:
        if txn is ancestor:
            return True
        txn = txn.parent
    return False


@event.listens_for(Session, "after_soft_rollback")
def _drop_staged_of_a_rolled_back_savepoint(session: Session, previous_transaction) -> None:
    """A savepoint rolled back (one household of a batch failed): its entries go, the others stay staged."""
    if previous_transaction.nested and session.info.get(_STAGED):
        session.info[_STAGED] = [(txn, e) for txn, e in session.info[_STAGED]
                                 if not _within(txn, previous_transaction)]


@event.listens_for(Session, "after_transaction_end")
def _drop_staged_on_rollback(session: Session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended: committed (already written) or rolled back
        session.info.pop(_STAGED, None)


# ---- checkpoints (outside the database) ----------------------------------------------------------------------

def _checkpoint_path() -> Path:
    return Path(current_app.config["AUDIT_CHECKPOINT_FILE"])


def _database() -> str:
    """Which database a checkpoint is of (its URL without password): one file may hold several databases'."""
    return db.engine.url.render_as_string(hide_password=True)


def _sign(cp: dict, key: bytes | None = None) -> str:
    body = json.dumps({k: v for k, v in cp.items() if k != "sig"}, sort_keys=True, separators=(",", ":"))
    return hmac.new(key or _key(), body.encode("utf-8"), hashlib.sha256).hexdigest()


def checkpoint() -> dict:
    """Sign the chain's head (entry count, last id, last hash, time) and append it to the checkpoint file."""
    count, last_id = db.session.execute(sa.select(sa.func.count(AuditEntry.id), sa.func.max(AuditEntry.id))).one()
    last_hash = db.session.scalar(sa.select(AuditEntry.hash).where(AuditEntry.id == last_id)) if last_id else GENESIS
    cp = {"database": _database(), "count": count, "last_id": last_id or 0, "last_hash": last_hash,
          "at": get_clock().now_utc().replace(microsecond=0).isoformat()}
    cp["sig"] = _sign(cp)
    path = _checkpoint_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as f:
        f.write(json.dumps(cp, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())
    from ..platform import service as platform
    platform.enqueue_checkpoint(cp)  # anchored outside our database too (issue 17); the caller commits
    return cp


def latest_checkpoint() -> dict | None:
    """The newest checkpoint of this database (its signature unchecked: see `_check_signature`), or None."""
    path = _checkpoint_path()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return None
    database = _database()
    for line in reversed(lines):
        try:
            cp = json.loads(line)
        except ValueError:
            return {"unreadable": line[:80]}
        if isinstance(cp, dict) and cp.get("database") == database:
            return cp
    return None


_floor_cache: dict = {}


def _checkpoint_floor() -> int:
    """The newest checkpoint's last id (0 without one), re-read only when the file changes."""
    path = _checkpoint_path()
    try:
        st = path.stat()
    except FileNotFoundError:
        return 0
    stamp = (str(path), st.st_mtime_ns, st.st_size, _database())
    if _floor_cache.get("stamp") != stamp:
        cp = latest_checkpoint() or {}
        floor = cp.get("last_id")
        _floor_cache.update(stamp=stamp, floor=floor if isinstance(floor, int) else 0)
    return _floor_cache["floor"]


# ---- verification --------------------------------------------------------------------------------------------

@dataclass
class VerifyResult:
    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str | None = None
    checkpoint: dict | None = None  # the newest checkpoint the chain was held against, if any


def verify(batch: int = 5000) -> VerifyResult:
    """Walk the chain in id order and report the first entry altered, missing or out of place; then hold the
    chain against the newest signed checkpoint, which reports a truncated tail or a rewritten head."""
    cp = latest_checkpoint()
    if cp is not None:
        if "unreadable" in cp or not hmac.compare_digest(str(cp.get("sig", "")), _sign(cp)):
            return VerifyResult(False, 0, None, "the newest checkpoint's signature is not valid "
                                                "(checkpoint file altered, or another AUDIT_KEY)", cp)
    key, legacy_until = _key(), int(current_app.config.get("AUDIT_LEGACY_UNTIL") or 0)
    prev, expected_id, checked, after_id = GENESIS, 1, 0, 0
    while True:
        rows = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.id > after_id)
                                  .order_by(AuditEntry.id).limit(batch)).all()
        if not rows:
            break
        for e in rows:
            if e.id != expected_id:
                return VerifyResult(False, checked, expected_id, "missing", cp)
            if e.prev_hash != prev:
                return VerifyResult(False, checked, e.id, "out of order (does not follow the entry before it)", cp)
            fields = _fields(e)
            if e.id <= legacy_until:
                good = _legacy_digest(prev, fields) == e.hash
            else:
                good = hmac.compare_digest(_digest(prev, fields, key), e.hash)
            if not good:
                problem = "altered"
                if e.id > legacy_until and _legacy_digest(prev, fields) == e.hash:
                    problem = ("altered (unkeyed SHA-256 hash; entries written before the chain was keyed need "
                               "AUDIT_LEGACY_UNTIL)")
                return VerifyResult(False, checked, e.id, problem, cp)
            if cp is not None and e.id == cp["last_id"] and (e.hash != cp["last_hash"] or checked + 1 != cp["count"]):
                return VerifyResult(False, checked, e.id, f"rewritten since the checkpoint of {cp['at']}", cp)
            prev, expected_id, checked, after_id = e.hash, e.id + 1, checked + 1, e.id
        db.session.expunge_all()
    if cp is not None and after_id < cp["last_id"]:
        return VerifyResult(False, checked, after_id + 1,
                            f"truncated: the checkpoint of {cp['at']} covers {cp['count']} entries up to entry "
                            f"{cp['last_id']}, the trail ends at entry {after_id}", cp)
    return VerifyResult(True, checked, checkpoint=cp)


def history(household_id: int, *, reads: bool = False, limit: int = 200, before: int | None = None,
            prefix: str | None = None) -> list[AuditEntry]:
    """The household's trail, newest first: its changes, or (reads=True) the staff reads of its data — kept
    apart so that frequent reads never crowd the changes out of the page. `before` (an entry id) asks for the
    next page: keyset on (household_id, id), so every page costs the same however deep. `prefix` keeps only the
    actions starting with it (the household's own page: "household." — the archive's own changes)."""
    is_read = sa.or_(AuditEntry.action.like("%.read"), AuditEntry.action == "credit.check")  # a check reads
    where = [AuditEntry.household_id == household_id, is_read if reads else ~is_read]
    if prefix:
        where.append(AuditEntry.action.like(prefix + "%"))
    if before is not None:
        where.append(AuditEntry.id < before)
    return db.session.scalars(sa.select(AuditEntry).where(*where).order_by(AuditEntry.id.desc()).limit(limit)).all()
