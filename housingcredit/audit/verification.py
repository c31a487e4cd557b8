"""The chain's verifier asked for on the trail page (校验日志链), run in the background with its progress.

A click starts a run (an `AuditVerification` row) and returns at once; the run — the same `chain_all()` then
`service.verify()` as `flask audit verify`, over the whole chain — goes on in a thread of this process, writing
how many entries it has checked after each batch; the page polls that and shows the verifier's answer when done.
Every run re-hashes every entry from the first: a click never trusts an earlier run or a checkpoint for what it
does not read (see README, "Verify the chain"). One run at a time: a click while a run is alive shows that run.
A run whose heartbeat is older than STALE_SECONDS (its process stopped) counts as stopped; the next click starts
a new one. The answer is audited as before (`audit.verify`, by who asked).
"""
from __future__ import annotations

import logging
import threading

import sqlalchemy as sa
from flask import current_app

from ..accounts import gate
from ..clock import get_clock
from ..errors import NotFound
from ..extensions import db
from . import service as audit
from .models import VERIFICATION_STATES, AuditEntry, AuditVerification

log = logging.getLogger(__name__)

RUNNING, DONE, FAILED = VERIFICATION_STATES
STALE_SECONDS = 120
_REQUEST_LOCK = 0x4843_4156  # "HCAV": one verification started at a time (not the chain's lock: appends go on)


def _now():
    return get_clock().now_utc()


def alive(v: AuditVerification) -> bool:
    return v.status == RUNNING and (_now() - v.heartbeat_dt).total_seconds() < STALE_SECONDS


def latest() -> AuditVerification | None:
    return db.session.scalar(sa.select(AuditVerification).order_by(AuditVerification.id.desc()).limit(1))


def get(verification_id: int, who) -> AuditVerification:
    gate.require("audit.verify", who)
    v = db.session.get(AuditVerification, verification_id)
    if v is None:
        raise NotFound()
    return v


def request(who) -> tuple[AuditVerification, bool]:
    """A run for `who` (who may verify): the live one if a run is going on (False), else a new one (True: the
    caller commits, then `start`s it). Decided under an advisory lock of its own on PostgreSQL: two clicks at once make one run."""
    gate.require("audit.verify", who)
    session = db.session()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _REQUEST_LOCK})
    current = latest()
    if current is not None and alive(current):
        return current, False
    now = _now()
    total = db.session.scalar(sa.select(sa.func.max(AuditEntry.seq))) or 0
    v = AuditVerification(requested_by_id=who.id, started_dt=now, heartbeat_dt=now, status=RUNNING,
                          total=total, checked=0)
    db.session.add(v)
    db.session.flush()
    return v, True


def _beat(verification_id: int, **values) -> None:
    db.session.execute(sa.update(AuditVerification).where(AuditVerification.id == verification_id)
                       .values(heartbeat_dt=_now(), **values).execution_options(synchronize_session=False))
    db.session.commit()


def run(verification_id: int) -> None:
    """Chain what is pending, then walk the whole chain, committing the progress after each batch; store the
    verifier's answer and audit it. Commits."""
    from ..accounts.models import User
    v = db.session.get(AuditVerification, verification_id)
    if v is None or v.status != RUNNING:
        return
    who = db.session.get(User, v.requested_by_id)
    audit.chain_all()  # the read-logs not chained yet, as `flask audit verify` does (commits each batch)
    total = db.session.scalar(sa.select(sa.func.max(AuditEntry.seq))) or 0
    _beat(verification_id, total=total)
    result = audit.verify(progress=lambda checked: _beat(verification_id, checked=checked))
    cp = result.checkpoint or {}
    db.session.execute(sa.update(AuditVerification).where(AuditVerification.id == verification_id).values(
        status=DONE, ok=result.ok, checked=result.checked, first_bad_id=result.first_bad_id,
        problem=(result.problem or None) and result.problem[:300], head_id=result.head_id,
        head_hash=result.head_hash if result.ok else None,
        checkpoint_at=cp.get("at") if isinstance(cp, dict) else None,
        finished_dt=_now(), heartbeat_dt=_now()).execution_options(synchronize_session=False))
    audit.record("audit.verify", "audit", None, actor=(who.id, who.username),
                 after={"ok": result.ok, "checked": result.checked, "first_bad_id": result.first_bad_id,
                        "head_id": result.head_id})
    db.session.commit()


def start(verification_id: int) -> threading.Thread | None:
    """Run it in a thread of this process (AUDIT_VERIFY_BACKGROUND, the default) so the request returns at once and
    the page polls the progress; or at once in the caller's request (tests)."""
    app = current_app._get_current_object()
    if not app.config.get("AUDIT_VERIFY_BACKGROUND", True):
        run(verification_id)
        return None

    def work():
        with app.app_context():
            try:
                run(verification_id)
            except Exception as err:  # noqa: BLE001 — logged and shown as failed; the next click starts anew
                db.session.rollback()
                log.warning("audit verification %s stopped (%s)", verification_id, type(err).__name__)
                db.session.execute(sa.update(AuditVerification)
                                   .where(AuditVerification.id == verification_id,
                                          AuditVerification.status == RUNNING)
                                   .values(status=FAILED, finished_dt=_now())
                                   .execution_options(synchronize_session=False))
                db.session.commit()
            finally:
                db.session.remove()

    thread = threading.Thread(target=work, name=f"audit-verify-{verification_id}", daemon=True)
    thread.start()
    return thread


def view(v: AuditVerification) -> dict:
    """What the page shows and polls: the state, the progress, and the answer when done."""
    from .trail import PROBLEMS
    running = v.status == RUNNING
    state = ("running" if alive(v) else "stopped") if running else v.status
    percent = 100 if not running else (min(99, int(v.checked * 100 / v.total)) if v.total else 0)
    summary = None
    if v.status == DONE and not v.ok:
        summary = next((str(label) for prefix, label in PROBLEMS if (v.problem or "").startswith(prefix)),
                       v.problem)
    return {"id": v.id, "state": state, "running": state == "running", "checked": v.checked, "done": v.checked,
            "total": v.total, "percent": percent,
            "ok": v.ok, "first_bad_id": v.first_bad_id, "problem": summary, "detail": v.problem,
            "head_id": v.head_id, "head_hash": v.head_hash, "checkpoint_at": v.checkpoint_at,
            "started_dt": v.started_dt, "finished_dt": v.finished_dt}


def as_json(v: AuditVerification) -> dict:
    return {k: (value.isoformat() if hasattr(value, "isoformat") else value) for k, value in view(v).items()}
