"""Appending to and verifying the keyed, hash-chained audit trail (审计日志).

Each chained entry's `hash` is HMAC-SHA256(AUDIT_KEY, prev_hash + canonical JSON of its fields, among them its
place in the chain `seq` under the key "id"); the key lives in the configuration, never in the database, so whoever
can write the table cannot recompute a chain that verifies. (Before migration 0016 the place was the row id; for
those entries `seq = id`, so their hashes are unchanged.)

Two kinds of entries, two ways in:

- A change (every action but a read) is staged by `record()` in `session.info`; the session's `before_commit` hook
  flushes the use case's own rows, then (on PostgreSQL) takes the chain's advisory lock, reads the head, places and
  hashes the staged entries and inserts them — the lock is held from that insert to the commit. A rollback drops
  what was staged. `append_now()` writes the staged entries at once for a caller that needs `entry.id` first.
- A read-log (`*.read`, `credit.check`: `is_read`) in a transaction that changes nothing is inserted at the
  commit **unchained** (`seq`, `prev_hash`, `hash` NULL), without the lock: reads never queue on one lock.
  A credit check writes its read-log at once, in one statement with its own log row (`log_read_with`).
  `chain_pending()` chains the unchained entries in id order, a batch under one lock — run by the scheduler every
  AUDIT_CHAIN_INTERVAL_SECONDS, before every checkpoint and by `flask audit verify`. Until then an entry is
  append-only but not yet tamper-evident: on PostgreSQL the trigger refuses its deletion and any change but the
  one chaining UPDATE (see README, "the chain's window"). Everything that reads the trail reads the table, so
  unchained entries show at once.

Places never go back: a new entry's `seq` is above both the chain's head and the newest checkpoint's last place,
so deleting the newest entries cannot make their places reappear unnoticed.

Checkpoints (`checkpoint()`, daily job and `flask audit checkpoint`) are signed lines (count, last place, last
hash, time, HMAC) appended to a file outside the database (AUDIT_CHECKPOINT_FILE); `verify()` walks the chain and
then holds it against the newest checkpoint of this database, which catches a truncated tail.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable
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
CHECK = "credit.check"


def is_read(action: str) -> bool:
    """A read-log entry (a staff or system read of data; a credit check reads): written unchained."""
    return action.endswith(".read") or action == CHECK


def read_clause():
    """`is_read` in SQL."""
    return sa.or_(AuditEntry.action.like("%.read"), AuditEntry.action == CHECK)


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


def _fields(e) -> dict:
    """What an entry's hash covers: its place in the chain (as "id") and its content."""
    return {"id": e.seq, "dt": e.dt.isoformat(), "actor_id": e.actor_id, "actor_label": e.actor_label,
            "action": e.action, "object_type": e.object_type, "object_id": e.object_id,
            "household_id": e.household_id, "region_code": e.region_code, "before": e.before, "after": e.after}


def _actor():
    from flask import has_request_context
    from flask_login import current_user
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.id, current_user.username
    return None, "system"


def _entry_dt():
    """An entry's time: now, to the second (what the chain hashes) — staged or written at once alike."""
    return get_clock().now_utc().replace(microsecond=0)


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
        dt=_entry_dt(),
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


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK})


def _head(session: Session) -> tuple[int, str]:
    """(next place, last hash) of the chain; call under the lock."""
    last = session.execute(sa.select(AuditEntry.seq, AuditEntry.hash).where(AuditEntry.seq.is_not(None))
                           .order_by(AuditEntry.seq.desc()).limit(1)).first()
    return max(last.seq if last else 0, _checkpoint_floor()) + 1, (last.hash if last else GENESIS)


_COLUMNS = tuple(c.key for c in AuditEntry.__table__.columns if c.key != "id")
_INSERT_ONE = AuditEntry.__table__.insert().returning(AuditEntry.__table__.c.id)


def _write_staged(session: Session) -> None:
    entries = [entry for _txn, entry in session.info.pop(_STAGED, ())]
    if not entries:
        return
    session.flush()  # the use case's own rows first, outside the chain lock
    if current_app.config.get("AUDIT_READS_UNCHAINED", True) and all(is_read(e.action) for e in entries):
        # unchained: no lock, no head; `chain_pending` places them later. One plain INSERT (no unit of work):
        # the busiest write of all, a check or a read is logged.
        _insert(session, entries)
        return
    _lock(session)
    next_seq, prev = _head(session)
    key = _key()
    for entry in entries:
        entry.seq, entry.prev_hash = next_seq, prev
        entry.hash = prev = _digest(prev, _fields(entry), key)
        next_seq += 1
    _insert(session, entries)


def _insert(session: Session, entries: list[AuditEntry]) -> None:
    """Insert the entries with one Core statement (no unit of work) and give each its id, as a flush would. On
    PostgreSQL the ids are taken from the table's sequence first and the rows sent as one executemany (a bulk
    import stages thousands of entries per commit: no RETURNING, no statement rendered per batch); elsewhere one
    INSERT … RETURNING."""
    table = AuditEntry.__table__
    rows = [{c: getattr(e, c) for c in _COLUMNS} for e in entries]
    if len(rows) == 1:  # the usual case (one check, one page's read): a single execution, not a batch
        ids = [session.execute(_INSERT_ONE, rows[0]).scalar_one()]
    elif session.get_bind().dialect.name == "postgresql":
        ids = session.scalars(sa.text("SELECT nextval(pg_get_serial_sequence('audit_entries', 'id')) "
                                      "FROM generate_series(1, :n)"), {"n": len(entries)}).all()
        for row, entry_id in zip(rows, ids):
            row["id"] = entry_id
        session.execute(table.insert(), rows)
    else:
        ids = session.execute(table.insert().returning(table.c.id, sort_by_parameter_order=True),
                              rows).scalars().all()
    for entry, entry_id in zip(entries, ids):
        entry.id = entry_id


_WITH_LOG: dict = {}


def log_read_with(table: sa.Table, row: dict, action: str, object_type: str, *, household_id=None,
                  region_code=None, after: dict | None = None, actor: tuple) -> int:
    """Insert `row` into `table` (a log of its own: a credit check's row) and its read-log entry about it (the new
    row's id as `object_id`) now, unchained, as the commit would write a lone read-log — on PostgreSQL in one
    statement (the row's INSERT … RETURNING as a CTE feeding the entry's INSERT), elsewhere in two. No entry object,
    nothing staged: the busiest write of all. Returns the row's id.

    With AUDIT_READS_UNCHAINED off the entry is staged by `record` instead and chained at the commit."""
    assert is_read(action), action
    session = db.session
    if not current_app.config.get("AUDIT_READS_UNCHAINED", True):
        row_id = session.execute(table.insert().returning(table.c.id), row).scalar_one()
        record(action, object_type, row_id, household_id=household_id, region_code=region_code, after=after,
               actor=actor)
        return row_id
    entry = {"dt": _entry_dt(), "actor_id": actor[0], "actor_label": actor[1],
             "action": action, "object_type": object_type, "household_id": household_id,
             "region_code": region_code, "before": None, "after": after, "seq": None, "prev_hash": None,
             "hash": None}
    connection = session.connection()  # plain Core statements: no ORM execution machinery on the busiest write
    if connection.dialect.name != "postgresql":
        row_id = connection.execute(table.insert().returning(table.c.id), row).scalar_one()
        connection.execute(_INSERT_ONE, {**entry, "object_id": str(row_id)})
        return row_id
    key = (table.name, tuple(row))
    statement = _WITH_LOG.get(key)
    if statement is None:
        entries = AuditEntry.__table__
        logged = (table.insert().values({name: sa.bindparam(f"row_{name}", type_=table.c[name].type) for name in row})
                  .returning(table.c.id).cte("logged"))
        columns = [name for name in _COLUMNS if name != "object_id"]
        statement = _WITH_LOG[key] = entries.insert().from_select(
            [*columns, "object_id"],
            sa.select(*[sa.bindparam(name, type_=entries.c[name].type) for name in columns],
                      sa.cast(logged.c.id, entries.c.object_id.type)).select_from(logged)
        ).returning(entries.c.object_id)
    params = {**entry, **{f"row_{name}": value for name, value in row.items()}}
    return int(connection.execute(statement, params).scalar_one())


def chain_pending(batch: int = 5000, session: Session | None = None) -> int:
    """Chain the oldest `batch` unchained entries (id order) under the chain's lock, held until the caller
    commits; returns how many. The trigger lets exactly this UPDATE through: chain columns from NULL to set."""
    session = session or db.session()
    table = AuditEntry.__table__
    if session.execute(sa.select(table.c.id).where(table.c.hash.is_(None)).limit(1)).first() is None:
        return 0  # nothing to chain: no lock taken
    _lock(session)
    rows = session.execute(sa.select(table).where(table.c.hash.is_(None)).order_by(table.c.id).limit(batch)).all()
    if not rows:
        return 0
    next_seq, prev = _head(session)
    key, updates = _key(), []
    for row in rows:
        fields = _fields(row) | {"id": next_seq}
        digest = _digest(prev, fields, key)
        updates.append({"b_id": row.id, "b_seq": next_seq, "b_prev": prev, "b_hash": digest})
        prev, next_seq = digest, next_seq + 1
    session.execute(table.update().where(table.c.id == sa.bindparam("b_id"), table.c.hash.is_(None))
                    .values(seq=sa.bindparam("b_seq"), prev_hash=sa.bindparam("b_prev"),
                            hash=sa.bindparam("b_hash")), updates)
    session.expire_all()  # loaded entries see their places
    return len(rows)


def chain_all(commit: bool = True) -> int:
    """Chain every unchained entry, committing after each batch (the scheduler, `flask audit verify`)."""
    total = 0
    while n := chain_pending():
        total += n
        if commit:
            db.session.commit()
    return total


def pending() -> int:
    """How many entries are not chained yet."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.hash.is_(None)))


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
    """Chain what is pending, then sign the chain's head (entry count, last place, last hash, time) and append it
    to the checkpoint file. The caller commits."""
    while chain_pending():
        pass
    count, last_id = db.session.execute(sa.select(sa.func.count(AuditEntry.seq), sa.func.max(AuditEntry.seq))).one()
    last_hash = db.session.scalar(sa.select(AuditEntry.hash).where(AuditEntry.seq == last_id)) if last_id else GENESIS
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
    head_id: int | None = None  # the last entry verified (an intact chain's head) and its hash
    head_hash: str | None = None
    pending: int = 0  # unchained entries, not yet covered (chain them first: `chain_all`)


def verify(batch: int = 5000, progress: Callable[[int], None] | None = None) -> VerifyResult:
    """Walk the chain in place order and report the first entry (by place) altered, missing or out of place;
    then hold the chain against the newest signed checkpoint, which reports a truncated tail or a rewritten head.
    Unchained entries are counted in `pending`, not checked (`chain_all()` first, as `flask audit verify` does).

    The rows are read as plain rows (no ORM entities: the walk is CPU-bound, an entity per row doubled it), `batch`
    places at a time by keyset on `seq`; `progress(checked)` is called after each batch (the trail page's
    background run reports through it)."""
    cp = latest_checkpoint()
    if cp is not None:
        if "unreadable" in cp or not hmac.compare_digest(str(cp.get("sig", "")), _sign(cp)):
            return VerifyResult(False, 0, None, "the newest checkpoint's signature is not valid "
                                                "(checkpoint file altered, or another AUDIT_KEY)", cp)
    key, legacy_until = _key(), int(current_app.config.get("AUDIT_LEGACY_UNTIL") or 0)
    table = AuditEntry.__table__
    prev, expected_id, checked, after_id = GENESIS, 1, 0, 0
    while True:
        rows = db.session.execute(sa.select(table).where(table.c.seq > after_id)
                                  .order_by(table.c.seq).limit(batch)).all()
        if not rows:
            break
        for e in rows:
            if e.seq != expected_id:
                return VerifyResult(False, checked, expected_id, "missing", cp)
            if e.prev_hash != prev:
                return VerifyResult(False, checked, e.seq, "out of order (does not follow the entry before it)", cp)
            fields = _fields(e)
            if e.seq <= legacy_until:
                good = _legacy_digest(prev, fields) == e.hash
            else:
                good = hmac.compare_digest(_digest(prev, fields, key), e.hash)
            if not good:
                problem = "altered"
                if e.seq > legacy_until and _legacy_digest(prev, fields) == e.hash:
                    problem = ("altered (unkeyed SHA-256 hash; entries written before the chain was keyed need "
                               "AUDIT_LEGACY_UNTIL)")
                return VerifyResult(False, checked, e.seq, problem, cp)
            if cp is not None and e.seq == cp["last_id"] and (e.hash != cp["last_hash"] or checked + 1 != cp["count"]):
                return VerifyResult(False, checked, e.seq, f"rewritten since the checkpoint of {cp['at']}", cp)
            prev, expected_id, checked, after_id = e.hash, e.seq + 1, checked + 1, e.seq
        if progress is not None:
            progress(checked)
    if cp is not None and after_id < cp["last_id"]:
        return VerifyResult(False, checked, after_id + 1,
                            f"truncated: the checkpoint of {cp['at']} covers {cp['count']} entries up to entry "
                            f"{cp['last_id']}, the trail ends at entry {after_id}", cp)
    return VerifyResult(True, checked, checkpoint=cp, head_id=after_id or None, head_hash=prev, pending=pending())


def history(household_id: int, *, reads: bool = False, limit: int = 200, before: int | None = None,
            prefix: str | None = None, columns: tuple | None = None) -> list:
    """The household's trail, newest first: its changes, or (reads=True) the staff reads of its data — kept
    apart so that frequent reads never crowd the changes out of the page. `before` (an entry id) asks for the
    next page: keyset on (household_id, id), so every page costs the same however deep. `prefix` keeps only the
    actions starting with it (the household's own page: "household." — the archive's own changes). With
    `columns` (AuditEntry's columns) the rows are plain tuples of those (a page that only shows them builds no
    entities); otherwise AuditEntry entities."""
    reading = read_clause()  # a check reads
    where = [AuditEntry.household_id == household_id, reading if reads else ~reading]
    if prefix:
        where.append(AuditEntry.action.like(prefix + "%"))
    if before is not None:
        where.append(AuditEntry.id < before)
    if columns:
        return db.session.execute(sa.select(*columns).where(*where).order_by(AuditEntry.id.desc())
                                  .limit(limit)).all()
    return db.session.scalars(sa.select(AuditEntry).where(*where).order_by(AuditEntry.id.desc()).limit(limit)).all()
