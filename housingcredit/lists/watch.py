"""The watch list (重点关注名单, HB 六; SPEC §6): the engine's history reconciled into the cached entries.

Every determination, revocation and repair calls `after_facts_changed`; the daily job calls `expire_watch`.
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..archives.models import Household
from ..audit import service as audit
from ..extensions import db
from ..scoring import service as scoring
from .common import ENDED, _household, _notice, _push, _rules, _stored, _today
from .engine import WATCH_TRANSFER, watch_history
from .models import Procedure, WatchEntry
from .procedures import _open, _take_step

# ---- the watch list: one engine, a cache reconciled ----------------------------------------------------------

def after_facts_changed(household_id: int) -> None:
    """Recompute the household's lists from facts, in the caller's transaction (the records service calls this
    after every determination, revocation and repair; the daily job after a watch period ends).

    Reconciles the cached watch entries with the engine's history up to today, opens the procedure of each
    watch transfer once, ends the procedures whose grounding record fell, and leaves for every transition its
    audit entry, notice and platform event — none of them twice.
    """
    scoring.lock_household(household_id)
    h = _household(household_id)
    today = _today()
    facts = scoring.facts_for([household_id])[household_id]
    procedures = db.session.scalars(sa.select(Procedure).where(Procedure.household_id == household_id)
                                    .order_by(Procedure.id)).all()
    others = [p.opened_date for p in procedures if p.route != WATCH_TRANSFER]
    history = watch_history(facts, _rules(), today, other_procedures=others)
    _reconcile_watch(h, history.entries)
    transferred = {p.record_id for p in procedures if p.route == WATCH_TRANSFER}
    for opening in history.procedures_opened:
        if opening.route == WATCH_TRANSFER and opening.record_id not in transferred:
            transferred.add(opening.record_id)
            procedures.append(_open(h, WATCH_TRANSFER, opening.date, record_id=opening.record_id,
                                    basis=_stored(lambda: _("Moderate or severe behaviour (record %(id)s) during "
                                                            "the watch period.", id=opening.record_id))))
    fell = {}
    for f in facts:
        dates = [(d, reason) for d, reason in ((f.revoked, "revoked"), (f.repaired, "repaired")) if d and d <= today]
        if dates:
            fell[f.id] = min(dates)
    for p in procedures:
        if p.state != ENDED and p.record_id in fell:
            on, reason = fell[p.record_id]
            _take_step(h, p, ENDED, max(on, p.opened_date), reason=reason)


def _entry_snapshot(e) -> dict:
    return {"start": e.start_date.isoformat(), "until": e.until_date.isoformat(),
            "end": e.end_date.isoformat() if e.end_date else None, "reason": e.reason, "grounds": list(e.grounds)}


def _reconcile_watch(h: Household, entries) -> None:
    rows = {r.start_date: r for r in db.session.scalars(sa.select(WatchEntry)
                                                        .where(WatchEntry.household_id == h.id))}
    for e in entries:
        row = rows.pop(e.start, None)
        if row is None:
            row = WatchEntry(household_id=h.id, region_code=h.region_code, start_date=e.start, until_date=e.until,
                             end_date=None, reason=None, grounds=list(e.grounds))
            db.session.add(row)
            db.session.flush()
            audit.record("watch.enter", "watch_entry", row.id, household_id=h.id, region_code=h.region_code,
                         after=_entry_snapshot(row))
            _watch_warning(h, row)
            _push(h, "watch_list.entered", {"list": "watch", "status": "entered", "start": e.start.isoformat(),
                                            "until": e.until.isoformat(), "grounds": list(e.grounds),
                                            "disclose": True})
        if (row.until_date, row.end_date, row.reason, list(row.grounds)) == (e.until, e.end, e.reason,
                                                                               list(e.grounds)):
            continue
        before = _entry_snapshot(row)
        ending = row.end_date is None and e.end is not None
        row.until_date, row.end_date, row.reason, row.grounds = e.until, e.end, e.reason, list(e.grounds)
        db.session.flush()
        audit.record("watch.end" if ending else "watch.update", "watch_entry", row.id, household_id=h.id,
                     region_code=h.region_code, before=before, after=_entry_snapshot(row))
        _push(h, "watch_list.ended" if ending else "watch_list.changed",
              {"list": "watch", "status": "ended" if row.end_date else "entered", "start": row.start_date.isoformat(),
               "until": row.until_date.isoformat(), "end": row.end_date.isoformat() if row.end_date else None,
               "reason": row.reason, "disclose": True})
    for row in rows.values():  # a cached entry the facts no longer make: the cache is corrected, with its trace
        audit.record("watch.remove", "watch_entry", row.id, household_id=h.id, region_code=h.region_code,
                     before=_entry_snapshot(row))
        _push(h, "watch_list.removed", {"list": "watch", "status": "removed", "start": row.start_date.isoformat(),
                                        "disclose": True})
        db.session.delete(row)
    db.session.flush()


def _watch_warning(h: Household, row: WatchEntry) -> None:
    """The warning (警示) stating the watch period: both dates (HB 六: 发出警示并提示重点关注期限)."""
    _notice(h, "watch_warning", "watch_entry", f"{h.id}:{row.start_date.isoformat()}", row.start_date,
            _l("Warning: your household is on the watch list"),
            lambda: _("Your household (archive %(archive)s) is on the watch list (重点关注名单) from %(start)s "
                      "through %(until)s. A moderate or severe dishonest behaviour confirmed during this period "
                      "transfers the household to the joint-punishment procedure (HB 六). If you disagree, you may "
                      "file an objection (HB 七).", archive=h.archive_no, start=row.start_date.isoformat(),
                      until=row.until_date.isoformat()))


def expire_watch(today: date | None = None, each=None) -> dict:
    """Daily: reconcile every household whose watch period ended before today (off the list the day after).

    `each` (batches.Batches) may run the households in batches; by default all in the caller's transaction."""
    from ..batches import in_turn
    today = today or _today()
    ids = db.session.scalars(sa.select(WatchEntry.household_id).where(WatchEntry.end_date.is_(None),
                                                                      WatchEntry.until_date < today)
                             .distinct().order_by(WatchEntry.household_id)).all()
    (each or in_turn)(ids, after_facts_changed)
    return {"households": len(ids)}
