"""The watch list (重点关注名单, HB 六; SPEC §6): the engine's history reconciled into the cached entries.

Every determination, revocation and repair calls `after_facts_changed`; the daily job calls `expire_watch`.
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..accounts import gate
from ..archives.models import Household
from ..audit import service as audit
from ..extensions import db
from ..scoring import service as scoring
from . import common
from .common import _household, _notice, _push, _rules, _stored, _today
from .engine import WATCH_TRANSFER, ListsState, derive_lists
from .models import WatchEntry
from .procedures import _Known, _open, facts_of, procedures_of, refresh_household

# ---- the watch list: one engine, a cache reconciled ----------------------------------------------------------

def after_facts_changed(household_id: int, *, facts=None, procedures=None) -> None:
    """Recompute the household's lists from facts, in the caller's transaction (the records service calls this
    after every determination, revocation and repair; the daily job after a watch period ends).

    Asks the engine (`derive_lists`) with the record facts, the full procedure facts — openings, attached
    grounds, steps, ends — and the objections; reconciles the cached watch entries with its answer, opens the
    procedure of each watch transfer once, appends the end of every procedure the engine ends (the day its last
    standing ground fell, the day after its term) and writes the procedures' cached columns from its answer — for
    every transition its audit entry, notice and platform event, none of them twice. `facts` and `procedures`
    may be given when loaded in bulk (the rebuild); otherwise they are read after the household's lock.
    """
    scoring.lock_household(household_id)
    h = _household(household_id)
    today = _today()
    if facts is None:
        facts = scoring.facts_for([household_id])[household_id]
    procedures = list(procedures) if procedures is not None else procedures_of([household_id])[household_id]
    objections = tuple(common.objection_facts(household_id))
    lists = expected_lists(facts, procedures, today, objections)
    _reconcile_watch(h, lists.watch)
    for opening in _missing_transfers(lists, procedures):
        procedures.append(_open(h, WATCH_TRANSFER, opening.date, record_id=opening.record_id,
                                basis=_stored(lambda: _("Moderate or severe behaviour (record %(id)s) during "
                                                        "the watch period.", id=opening.record_id)), who=gate.SYSTEM))
    refresh_household(h.id, today, _Known(h.id, facts, objections))


def expected_lists(facts, procedures, today: date, objections=()) -> ListsState:
    """The engine's answer for a household up to today — watch entries, procedures, openings — from its record
    facts, its stored procedures (with their steps, ends and attached grounds) and its objections: the one call of
    the engine that the reconciliation, the rebuild and the verification share. Only steps actually taken count
    (the daily job takes them), so an ended procedure stops blocking entries from the day it ends."""
    return derive_lists(facts, _rules(), today, facts_of(procedures, objections), automatic_steps=False)


def expected_watch(facts, procedures, today: date, objections=()):
    """The watch history (entries, procedures opened) of `expected_lists`."""
    from .engine import WatchHistory
    lists = expected_lists(facts, procedures, today, objections)
    return WatchHistory(entries=list(lists.watch), procedures_opened=list(lists.opened))


def _missing_transfers(lists, procedures) -> list:
    """The watch transfers the engine made whose procedure is not opened yet (each record transfers once)."""
    transferred = {p.record_id for p in procedures if p.route == WATCH_TRANSFER}
    out = []
    for opening in lists.opened:
        if opening.route == WATCH_TRANSFER and opening.record_id not in transferred:
            transferred.add(opening.record_id)
            out.append(opening)
    return out


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


def expire_watch(today: date | None = None, each=None, *, who: "gate.Actor") -> dict:
    """Daily: reconcile every household whose watch period ended before today (off the list the day after).

    `each` (batches.Batches) may run the households in batches; by default all in the caller's transaction."""
    from ..batches import in_turn
    gate.require("lists.write", who)
    today = today or _today()
    ids = db.session.scalars(sa.select(WatchEntry.household_id).where(WatchEntry.end_date.is_(None),
                                                                      WatchEntry.until_date < today)
                             .distinct().order_by(WatchEntry.household_id)).all()
    (each or in_turn)(ids, after_facts_changed)
    return {"households": len(ids)}


# ---- the cache checked and rebuilt for every household ---------------------------------------------------------

_CHUNK = 500


def _candidates() -> list[int]:
    """Households the engine may give entries (confirmed records) or that have cached entries: everyone else has
    none and needs no work."""
    from ..records.models import Decision, Determination, Record
    with_records = db.session.scalars(sa.select(Record.household_id).join(Determination,
                                                                          Determination.record_id == Record.id)
                                      .where(Determination.decision == Decision.confirmed).distinct())
    with_entries = db.session.scalars(sa.select(WatchEntry.household_id).distinct())
    return sorted(set(with_records) | set(with_entries))


def _chunks(ids: list[int]):
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        yield chunk, scoring.facts_for(chunk), procedures_of(chunk)


def watch_differences(today: date | None = None):
    """Every household whose cached watch entries (or the procedures the watch list opens and ends) differ from
    what the engine gives from the facts today (`flask credit verify`). Reads only: no reconciliation."""
    from ..derived import Difference
    today = today or _today()
    for chunk, facts, procedures in _chunks(_candidates()):
        stored: dict[int, dict] = {hid: {} for hid in chunk}
        for row in db.session.execute(sa.select(WatchEntry.household_id, WatchEntry.start_date,
                                                WatchEntry.until_date, WatchEntry.end_date, WatchEntry.reason,
                                                WatchEntry.grounds).where(WatchEntry.household_id.in_(chunk))):
            stored[row.household_id][row.start_date] = row
        for hid in chunk:
            lists = expected_lists(facts[hid], procedures[hid], today, tuple(common.objection_facts(hid)))
            rows = dict(stored[hid])
            for e in lists.watch:
                key = f"entry {e.start.isoformat()}"
                row = rows.pop(e.start, None)
                if row is None:
                    yield Difference("watch_entries", hid, key, "row", None, "present")
                    continue
                for name, have, want in (("until_date", row.until_date, e.until), ("end_date", row.end_date, e.end),
                                         ("reason", row.reason, e.reason),
                                         ("grounds", list(row.grounds), list(e.grounds))):
                    if have != want:
                        yield Difference("watch_entries", hid, key, name, have, want)
            for start in rows:
                yield Difference("watch_entries", hid, f"entry {start.isoformat()}", "row", "present", None)
            for opening in _missing_transfers(lists, procedures[hid]):
                yield Difference("procedures", hid, f"watch transfer of record {opening.record_id}", "opened_date",
                                 None, opening.date)
            # a procedure the engine ends is reported by the procedures' cache (schedule_differences)


def rebuild_watch(echo=None) -> dict:
    """Reconcile every candidate household from facts (`flask credit rebuild`), facts and procedures loaded per
    chunk, households committed in batches; a household that fails is rolled back alone and counted."""
    from ..batches import Batches
    echo = echo or (lambda _msg: None)
    runner = Batches("rebuild watch_entries", size=_CHUNK)
    ids = _candidates()
    for chunk, facts, procedures in _chunks(ids):
        runner(chunk, lambda hid: after_facts_changed(hid, facts=facts[hid], procedures=procedures[hid]))
        runner.commit()
    echo(f"watch entries: {len(ids)} households reconciled, {runner.failed} failed")
    return {"households": len(ids), **runner.summary()}
