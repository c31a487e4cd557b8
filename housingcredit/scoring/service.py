"""Scoring use cases around the pure engine (信用计分, HB 五; SPEC §5): load facts, answer credit, keep the cache.

The engine (`scoring.engine.compute_credit`) is the only place a score is computed. This module turns rows into
`RecordFact`s, asks the engine, and writes the cached `CreditState` — in the caller's transaction, so the cache
changes together with the fact that changed it (DESIGN rule 2).

Scheduled job for jobs.py (owned by the lists work): `housingcredit.scoring.service.nightly_expire(today)` —
moves records past their use period out of the cached score; idempotent, safe to run twice a day.
"""
from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Callable, Iterable, Iterator

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from ..accounts import gate
from ..archives.models import Household
from ..audit import service as audit
from ..clock import get_clock
from ..errors import InvalidInput, NotFound
from ..extensions import db
from ..records.models import Decision, Determination, Record, RecordRepair, Revocation
from ..rules.loader import RuleBook, default_rules
from .engine import CreditResult, RecordFact, compute_credit
from .models import CreditState

BATCH = 5000


def rules_book() -> RuleBook:
    """The rules the app started with (validated at start-up), else config/rules/."""
    try:
        return current_app.extensions["rules"]
    except (RuntimeError, KeyError):
        return default_rules()


# ---- facts ---------------------------------------------------------------------------------------------------

def _facts_select():
    """Confirmed records with their revocation and repair dates — what the engine needs, nothing more."""
    return (sa.select(Record.household_id, Record.id, Record.code, Record.region_code,
                      Determination.determination_date, Revocation.revoked_date, RecordRepair.repaired_date)
            .join(Determination, Determination.record_id == Record.id)
            .outerjoin(Revocation, Revocation.record_id == Record.id)
            .outerjoin(RecordRepair, RecordRepair.record_id == Record.id)
            .where(Determination.decision == Decision.confirmed))


def _fact(row) -> RecordFact:
    return RecordFact(id=row[1], code=row[2], region_code=row[3], determined=row[4], revoked=row[5],
                      repaired=row[6])


_FACTS_OF_ONE = None


def facts_for(household_ids: Iterable[int]) -> dict[int, list[RecordFact]]:
    """The engine's facts for each household (every id present, an empty list when it has none), in bulk. One
    household — the usual ask: an archive, a check — by a statement built once (`= :id`, not an IN list: an
    expanding IN is re-rendered on every execution) and run on the session's connection (pending rows flushed
    first, as the session would)."""
    global _FACTS_OF_ONE
    ids = list(dict.fromkeys(household_ids))
    if len(ids) == 1:
        if _FACTS_OF_ONE is None:
            _FACTS_OF_ONE = _facts_select().where(Record.household_id == sa.bindparam("household_id"))
        session = db.session
        if session.autoflush:  # as the session's own execute would (not inside `no_autoflush`)
            session.flush()
        return {ids[0]: [_fact(row) for row in session.connection().execute(_FACTS_OF_ONE,
                                                                            {"household_id": ids[0]})]}
    out: dict[int, list[RecordFact]] = {hid: [] for hid in ids}
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        for row in db.session.execute(_facts_select().where(Record.household_id.in_(chunk))):
            out[row[0]].append(_fact(row))
    return out


# ---- answering -------------------------------------------------------------------------------------------------

def _household(household) -> Household:
    if isinstance(household, Household):
        return household
    h = db.session.get(Household, household)
    if h is None:
        raise NotFound()
    return h


def first_rules_date() -> date:
    """The day the first rules version took effect: before it there is no rule to answer by (from the rules book)."""
    return rules_book().versions[0].effective


def check_date_in_rules(d: date, field: str) -> date:
    """A date asked about, or the date of a fact, must lie on or after the first rules version (422 naming the
    field and saying from which date answers exist)."""
    first = first_rules_date()
    if d < first:
        raise InvalidInput(_l("No rules were in force before %(date)s: choose a date on or after it.",
                              date=first.isoformat()), field=field)
    return d


def _check_as_of(as_of: date | None, field: str = "as_of") -> date:
    today = get_clock().today()
    if as_of is None:
        return today
    if as_of > today:
        raise InvalidInput(_l("The date may not be in the future."), field=field)
    return check_date_in_rules(as_of, field)


def credit_for(household, as_of: date | None = None, *, who: "gate.Actor",
               facts: list[RecordFact] | None = None) -> CreditResult:
    """The household's score, tier and explanation on `as_of` (default today), from facts (`facts`: the
    household's, when the caller has just read them with `facts_for` for other answers too).

    The gate is applied for `who` (a user, or gate.SYSTEM); a staff read is logged as "credit.read" (SPEC §1, §11).
    """
    h = _household(household)
    gate.check_household(h, "credit.read", who)
    as_of = _check_as_of(as_of)
    result = compute_credit(facts_for([h.id])[h.id] if facts is None else facts, rules_book(), as_of)
    gate.log_read("credit.read", h, who)
    return result


def change_dates(facts: Iterable[RecordFact], rules: RuleBook) -> set[date]:
    """Every date on which the score may change: determinations, revocations, repairs, ends of use periods."""
    days = set()
    for f in facts:
        days.add(f.determined)
        for d in (f.revoked, f.repaired):
            if d is not None:
                days.add(d)
        try:
            b = rules.behaviour_on(f.code, f.region_code, f.determined)
        except Exception:  # a record the rules cannot place is reported by compute_credit itself
            continue
        days.add(b.counts_through(f.determined) + timedelta(days=1))
    days.update(v.effective for v in rules.versions)
    return days


def credit_history(household, start: date | None = None, end: date | None = None,
                   *, who: "gate.Actor", facts: list[RecordFact] | None = None) -> list[tuple[date, int, str]]:
    """(date, score, tier) at `start`, at every change date in between, and at `end` — for the history chart;
    gated for `who`, a staff read logged as "credit.read". `facts`: as for `credit_for`."""
    h = _household(household)
    gate.check_household(h, "credit.read", who)
    end = _check_as_of(end, "to")
    from ..clock import add_months
    if start is None:  # the default range begins two years back, never before the first rules version
        start = max(add_months(end, -24), first_rules_date())
    else:
        check_date_in_rules(start, "from")
    if start > end:
        raise InvalidInput(_l("The start date must not be after the end date."), field="from")
    rules = rules_book()
    facts = facts_for([h.id])[h.id] if facts is None else facts
    days = sorted({start, end} | {d for d in change_dates(facts, rules) if start <= d <= end})
    points = []
    for d in days:
        r = compute_credit(facts, rules, d)
        points.append((d, r.score, r.tier))
    gate.log_read("credit.read", h, who)
    return points


# ---- the cache ---------------------------------------------------------------------------------------------------

def _next_change(result: CreditResult, rules: RuleBook, today: date) -> date | None:
    """The next day the cached answer may go stale without a new fact: a use period ends or a new version starts."""
    candidates = [v.effective for v in rules.versions if v.effective > today]
    if result.next_change is not None:
        candidates.append(result.next_change)
    return min(candidates) if candidates else None


def lock_household(household_id: int) -> str:
    """Serialise writers of one household's derived state (SELECT … FOR UPDATE on PostgreSQL); returns the
    household's region code.

    Two reviewers confirming records of the same household at once: the second waits here, then reads the facts
    afresh (READ COMMITTED gives each statement a new snapshot) and so counts both records.
    """
    found = db.session.execute(sa.select(Household.region_code).where(Household.id == household_id)
                               .with_for_update()).scalar()
    if found is None:
        raise NotFound()
    return found


def refresh_household(household_id: int) -> CreditState:
    """Recompute and write the household's CreditState (and its region) for today, in the caller's transaction."""
    region_code = lock_household(household_id)
    rules = rules_book()
    clock = get_clock()
    today = clock.today()
    result = compute_credit(facts_for([household_id])[household_id], rules, today)
    state = db.session.get(CreditState, household_id, populate_existing=True)
    if state is None:
        state = CreditState(household_id=household_id)
        db.session.add(state)
    state.score, state.tier, state.region_code = result.score, result.tier, region_code
    state.computed_date, state.next_change_date = today, _next_change(result, rules, today)
    state.computed_dt = clock.now_utc()
    db.session.flush()
    return state


def household_moved(household_id: int, region_code: str) -> None:
    """The household now lies in `region_code`: its cached row (if any) follows, in the caller's transaction (the
    archive edit that moves it), so the statistics count it in its new region at once."""
    db.session.execute(sa.update(CreditState).where(CreditState.household_id == household_id)
                       .values(region_code=region_code))


def nightly_expire(today: date | None = None, each=None, *, who: "gate.Actor") -> dict:
    """Refresh only the households whose cached state may have changed by `today` (next_change_date ≤ today).

    Idempotent: a refreshed household's next_change_date is after today, so a second run finds nothing to do.
    The caller (the job) commits; `each` (batches.Batches) may commit households in batches meanwhile.
    """
    from ..batches import in_turn
    gate.require("credit.rebuild", who)
    today = today or get_clock().today()
    ids = db.session.scalars(sa.select(CreditState.household_id)
                             .where(CreditState.next_change_date <= today)
                             .order_by(CreditState.household_id)).all()
    counts = {"refreshed": 0, "changed": 0}

    def one(hid):
        before = db.session.get(CreditState, hid)
        old = (before.score, before.tier) if before else None
        state = refresh_household(hid)
        counts["changed"] += old != (state.score, state.tier)
        counts["refreshed"] += 1

    (each or in_turn)(ids, one)
    refreshed, changed = counts["refreshed"], counts["changed"]
    if refreshed:
        audit.record("credit.expire", "credit_state", None, after={"date": today.isoformat(), "refreshed": refreshed,
                                                                    "changed": changed})
    return {"date": today.isoformat(), "refreshed": refreshed, "changed": changed}


# ---- rebuild from facts ------------------------------------------------------------------------------------------

def _stream_facts(batch: int = BATCH) -> Iterator[tuple[int, list[RecordFact]]]:
    """(household_id, facts) for every household with confirmed records, ordered by household, streamed."""
    stmt = _facts_select().order_by(Record.household_id)
    bind = db.session.get_bind()
    if bind.dialect.name == "postgresql":
        yield from _stream_facts_pg(stmt, batch)
        return
    current, facts = None, []
    for row in db.session.execute(stmt.execution_options(yield_per=batch)):
        if row[0] != current:
            if current is not None:
                yield current, facts
            current, facts = row[0], []
        facts.append(_fact(row))
    if current is not None:
        yield current, facts


def _raw_connection():
    return db.session.connection().connection.driver_connection


def _stream_facts_pg(stmt, batch: int):
    """A server-side cursor on the raw psycopg connection: rows arrive as tuples, without ORM overhead."""
    conn = db.session.connection()
    sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
    raw = _raw_connection()
    current, facts = None, []
    with raw.cursor(name="hc_rebuild_facts") as cur:
        cur.itersize = batch
        cur.execute(sql)
        for row in cur:
            if row[0] != current:
                if current is not None:
                    yield current, facts
                current, facts = row[0], []
            facts.append(RecordFact(id=row[1], code=row[2], region_code=row[3], determined=row[4],
                                    revoked=row[5], repaired=row[6]))
    if current is not None:
        yield current, facts


def _computed(today: date, rules: RuleBook) -> Iterator[tuple[int, int, str, date | None]]:
    for hid, facts in _stream_facts():
        result = compute_credit(facts, rules, today)
        yield hid, result.score, result.tier, _next_change(result, rules, today)


def rebuild_all(echo: Callable[[str], None] | None = None) -> dict:
    """Recompute every household's CreditState from facts alone (`flask credit rebuild`); commits.

    Households with records are computed by the engine while their facts stream in; every other household gets
    the engine's answer for no records. Rows are written only where they differ from the cache.
    """
    echo = echo or (lambda _msg: None)
    started = time.perf_counter()
    clock = get_clock()
    today, now = clock.today(), clock.now_utc()
    rules = rules_book()
    empty = compute_credit([], rules, today)
    empty_next = _next_change(empty, rules, today)
    if db.session.get_bind().dialect.name == "postgresql":
        computed = _rebuild_pg(today, now, rules, empty, empty_next, echo)
    else:
        computed = _rebuild_generic(today, now, rules, empty, empty_next, echo)
    households = db.session.scalar(sa.select(sa.func.count()).select_from(Household))
    stats = {"households": households, "with_records": computed, "date": today.isoformat(),
             "seconds": round(time.perf_counter() - started, 2)}
    audit.record("credit.rebuild", "credit_state", None, after=stats)
    db.session.commit()
    echo(f"rebuilt {households} households ({computed} with records) in {stats['seconds']} s")
    return stats


def _progress(echo, n: int, started: float) -> None:
    if n % 100_000 == 0:
        echo(f"  {n} households computed ({time.perf_counter() - started:.1f} s)")


def _rebuild_pg(today, now, rules, empty, empty_next, echo) -> int:
    """Compute in Python, COPY into a temporary table, then one INSERT … ON CONFLICT for every household."""
    started = time.perf_counter()
    session = db.session
    session.execute(sa.text("CREATE TEMPORARY TABLE tmp_credit (household_id bigint PRIMARY KEY, score int, "
                            "tier varchar(10), next_change_date date) ON COMMIT DROP"))
    raw = _raw_connection()
    n, buffer = 0, []

    def flush():
        # Between FETCHes of the server-side cursor the connection is idle, so COPY can run in between.
        with raw.cursor() as cur:
            with cur.copy("COPY tmp_credit (household_id, score, tier, next_change_date) FROM STDIN") as copy:
                for r in buffer:
                    copy.write_row(r)
        buffer.clear()

    for row in _computed(today, rules):
        buffer.append(row)
        n += 1
        if len(buffer) >= 50_000:
            flush()
        _progress(echo, n, started)
    if buffer:
        flush()
    echo(f"  computed {n} households in {time.perf_counter() - started:.1f} s; writing")
    session.execute(sa.text("ANALYZE tmp_credit"))
    session.execute(sa.text(
        "INSERT INTO credit_states (household_id, region_code, score, tier, computed_date, next_change_date, "
        "computed_dt) "
        "SELECT h.id, h.region_code, COALESCE(t.score, :es), COALESCE(t.tier, :et), :today, "
        "CASE WHEN t.household_id IS NULL THEN CAST(:en AS date) ELSE t.next_change_date END, :now "
        "FROM households h LEFT JOIN tmp_credit t ON t.household_id = h.id "
        "ON CONFLICT (household_id) DO UPDATE SET region_code = EXCLUDED.region_code, score = EXCLUDED.score, "
        "tier = EXCLUDED.tier, computed_date = EXCLUDED.computed_date, "
        "next_change_date = EXCLUDED.next_change_date, computed_dt = EXCLUDED.computed_dt "
        "WHERE (credit_states.region_code, credit_states.score, credit_states.tier, credit_states.computed_date, "
        "credit_states.next_change_date) IS DISTINCT FROM (EXCLUDED.region_code, EXCLUDED.score, EXCLUDED.tier, "
        "EXCLUDED.computed_date, EXCLUDED.next_change_date)"),
        {"es": empty.score, "et": empty.tier, "en": empty_next, "today": today, "now": now})
    return n


def _rebuild_generic(today, now, rules, empty, empty_next, echo) -> int:
    """Any other database (SQLite in tests): the same result with executemany upserts in batches."""
    started = time.perf_counter()
    computed = {}
    for hid, score, tier, nxt in _computed(today, rules):
        computed[hid] = (score, tier, nxt)
        _progress(echo, len(computed), started)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert
    table = CreditState.__table__
    ids = db.session.execute(sa.select(Household.id, Household.region_code).order_by(Household.id)).all()
    for start in range(0, len(ids), BATCH):
        rows = []
        for hid, region_code in ids[start:start + BATCH]:
            score, tier, nxt = computed.get(hid, (empty.score, empty.tier, empty_next))
            rows.append({"household_id": hid, "region_code": region_code, "score": score, "tier": tier,
                         "computed_date": today, "next_change_date": nxt, "computed_dt": now})
        stmt = sqlite_insert(table)
        stmt = stmt.on_conflict_do_update(index_elements=[table.c.household_id], set_={
            c: stmt.excluded[c] for c in ("region_code", "score", "tier", "computed_date", "next_change_date",
                                          "computed_dt")})
        db.session.execute(stmt, rows)
    return len(computed)


def states_by_household(household_ids: Iterable[int]) -> dict[int, CreditState]:
    ids = list(household_ids)
    return {s.household_id: s for s in db.session.scalars(
        sa.select(CreditState).where(CreditState.household_id.in_(ids)))} if ids else {}



def credit_differences(today: date | None = None) -> Iterator:
    """Every household whose cached CreditState differs from the engine's answer today (`flask credit verify`):
    score, tier and next change date — and its region, which must be the household's. A household never
    determined has no row until a rebuild writes one, and no row stands for the answer for no records; a missing
    row is a difference only when the facts give another. Reads only."""
    from ..derived import Difference
    today = today or get_clock().today()
    rules = rules_book()
    empty = compute_credit([], rules, today)
    expected_empty = (empty.score, empty.tier, _next_change(empty, rules, today))
    computed = {hid: (score, tier, nxt) for hid, score, tier, nxt in _computed(today, rules)}
    stmt = (sa.select(Household.id, Household.region_code, CreditState.household_id, CreditState.region_code,
                      CreditState.score, CreditState.tier, CreditState.next_change_date)
            .outerjoin(CreditState, CreditState.household_id == Household.id).order_by(Household.id))
    for hid, region, present, stored_region, score, tier, nxt in db.session.execute(
            stmt.execution_options(yield_per=BATCH)):
        expected = computed.get(hid, expected_empty)
        if present is None:
            if expected != expected_empty:
                yield Difference("credit_states", hid, "credit state", "row", None, "present")
            continue
        for name, stored, want in zip(("region_code", "score", "tier", "next_change_date"),
                                      (stored_region, score, tier, nxt), (region, *expected)):
            if stored != want:
                yield Difference("credit_states", hid, "credit state", name, stored, want)
