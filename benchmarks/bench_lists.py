"""Benchmark: the credit check and the daily jobs over 1,000,000 households on PostgreSQL.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/benchlists .venv/bin/python benchmarks/bench_lists.py
    … --households 100000      (fewer households; the other volumes scale with it)

The database is created when missing, emptied (schema `public` dropped) and migrated, then filled with COPY:
households with their head, confirmed records for 20 % of them (half moderate — on the watch list, consistent with
the engine as of yesterday — half mild), and 100,000 open orders and procedures (10 % of households): orders with
deadlines from yesterday to 6 months ahead, procedures opened over the last 3.5 years in the state the clock gives
them as of yesterday. The credit cache is rebuilt with `scoring.service.rebuild_all`.

Targets (issue 4): credit check < 10 ms median in-process (Flask test client, caseworker bearer token), compared
with the bare SQL lookups the request issued, replayed through psycopg; the daily jobs < 60 s in total (today's
share of expiries, overdue orders and clock steps), then a second run (which must change nothing).
Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402

TODAY = date(2026, 6, 15)


def ensure_database(url: str) -> None:
    from sqlalchemy.engine import make_url
    u = make_url(url)
    admin = u.set(database="postgres", drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (u.database,)).fetchone():
            conn.execute(f'CREATE DATABASE "{u.database}"')


def ms(samples):
    return statistics.median(samples) * 1000, sorted(samples)[max(0, int(len(samples) * 0.95) - 1)] * 1000


class Capture:
    """The SELECTs SQLAlchemy sends while on (replayed through bare psycopg for the comparison)."""

    def __init__(self, engine):
        self.on, self.statements = False, []
        sa.event.listen(engine, "before_cursor_execute", self._hook)

    def _hook(self, conn, cursor, statement, parameters, context, executemany):
        if self.on and statement.lstrip().upper().startswith("SELECT"):
            self.statements.append((statement, parameters))


def id_numbers(n: int, rng: random.Random) -> list[str]:
    """n distinct valid resident ID numbers (county 420102, in use since 1983: birth dates 1984–2005)."""
    from stdnum.cn import ric
    out, seen = [], set()
    start = date(1984, 1, 1)
    while len(out) < n:
        birth = start + timedelta(days=rng.randrange(8000))
        body = f"420102{birth:%Y%m%d}{rng.randrange(1000):03d}"
        if body in seen:
            continue
        seen.add(body)
        out.append(body + ric.calc_check_digit(body + "0"))
    return out


def copy_rows(raw, table: str, columns: tuple[str, ...], rows) -> None:
    with raw.cursor() as cur:
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r)


def load(app, n: int, rng: random.Random, echo) -> dict:
    from housingcredit.clock import add_months
    from housingcredit.extensions import db
    from housingcredit.lists.engine import procedure_clock
    from housingcredit.rules.loader import default_rules
    from tests import factories

    now = datetime.now(timezone.utc)
    yesterday = TODAY - timedelta(days=1)
    counties = ["420102", "420103", "420104", "420105", "420106", "420111"]
    caseworker = factories.make_user("caseworker", "420100", username="bench-caseworker")
    reviewer = factories.make_user("reviewer", "420100", username="bench-reviewer")
    worker_id, reviewer_id = caseworker.id, reviewer.id  # read before COPY: a lazy load mid-COPY would block
    raw = db.session.connection().connection.driver_connection
    started = time.perf_counter()
    numbers = id_numbers(n, rng)
    regions_of = [counties[i % len(counties)] for i in range(n)]
    copy_rows(raw, "households", ("id", "archive_no", "region_code", "address", "hukou", "marital_status",
                                  "housing_status", "protection_category", "protection_mode", "protection_group",
                                  "priority_flags", "created_dt", "updated_dt", "version"),
              ((i + 1, f"{regions_of[i]}-{i + 1:08d}", regions_of[i], "测试路1号", "", "", "", "physical", "", "低保",
                "[]", now, now, 1) for i in range(n)))
    copy_rows(raw, "members", ("id", "household_id", "name", "id_number", "relation"),
              ((i + 1, i + 1, "张三丰", numbers[i], "head") for i in range(n)))
    echo(f"  households and members: {time.perf_counter() - started:.1f} s")

    # records: households 1..n/5 — the first half moderate (HB06), the second half mild (HB08)
    started = time.perf_counter()
    rules = default_rules()
    with_records = n // 5
    records, watch = [], []
    for hid in range(1, with_records + 1):
        determined = TODAY - timedelta(days=rng.randrange(1, 420))
        code = "HB06" if hid <= with_records // 2 else "HB08"
        records.append((hid, hid, regions_of[hid - 1], code, determined))
        if code == "HB06":
            until = add_months(determined, rules.version_at(determined).watch.period_months)
            ended = until + timedelta(days=1) if until < yesterday else None  # yesterday's job already ran
            watch.append((hid, hid, regions_of[hid - 1], determined, until, ended, "expired" if ended else None,
                          f"[{hid}]"))
    copy_rows(raw, "records", ("id", "household_id", "region_code", "code", "occurred_date", "formed_date", "source",
                               "facts", "late", "recorded_by_id", "recorded_dt"),
              ((rid, hid, reg, code, d, d, "management", "bench", False, worker_id, now)
               for rid, hid, reg, code, d in records))
    copy_rows(raw, "determinations", ("id", "record_id", "decision", "legal_basis", "determination_date",
                                      "reviewer_id", "decided_dt"),
              ((rid, rid, "confirmed", "HB 四", d, reviewer_id, now) for rid, _h, _r, _c, d in records))
    copy_rows(raw, "watch_entries", ("id", "household_id", "region_code", "start_date", "until_date", "end_date",
                                     "reason", "grounds"), watch)
    echo(f"  {len(records)} records, {len(watch)} watch entries: {time.perf_counter() - started:.1f} s")

    # 100,000 open orders and procedures per 1,000,000 households, on households without records
    started = time.perf_counter()
    open_items = n // 10
    first = with_records + 1
    orders = []
    for k in range(open_items // 2):
        hid = first + k
        deadline = yesterday + timedelta(days=rng.randrange(0, 183))
        orders.append((k + 1, hid, regions_of[hid - 1], "use_change", TODAY - timedelta(days=30), deadline,
                       "恢复原状", worker_id, now))
    copy_rows(raw, "rectification_orders", ("id", "household_id", "region_code", "ground", "issued_date", "deadline",
                                            "requirement", "issued_by_id", "issued_dt"), orders)
    clocks: dict[date, object] = {}
    procs, steps = [], []
    for k in range(open_items - len(orders)):
        hid = first + len(orders) + k
        opened = TODAY - timedelta(days=rng.randrange(1, 3 * 365 + 180))
        c = clocks.get(opened) or clocks.setdefault(opened, procedure_clock(opened, rules.version_at(opened)))
        pid = k + 1
        steps.append((pid, "opened", opened))
        state, next_date, window_end, listed, through = "opened", c.publicity_start, c.response_due, None, None
        if c.publicity_start <= yesterday:
            steps.append((pid, "publicity", c.publicity_start))
            state, next_date, window_end = "publicity", c.listing_effective, c.publicity_end
        if c.listing_effective <= yesterday:
            steps.append((pid, "listed", c.listing_effective))
            listed, through = c.listing_effective, c.listed_through
            state, next_date, window_end = "listed", through + timedelta(days=1), through
        if through is not None and through < yesterday:
            steps.append((pid, "ended", through + timedelta(days=1)))
            state, next_date, window_end = "ended", None, None
        procs.append((pid, hid, regions_of[hid - 1], "court_judgment", opened, "判决书", now, state, next_date,
                      window_end, listed, through))
    copy_rows(raw, "procedures", ("id", "household_id", "region_code", "route", "opened_date", "basis", "opened_dt",
                                  "state", "next_date", "window_end", "listed_date", "listed_through"), procs)
    copy_rows(raw, "procedure_steps", ("procedure_id", "step", "step_date", "dt"),
              ((pid, s, d, now) for pid, s, d in steps))
    for table in ("households", "members", "records", "determinations", "watch_entries", "rectification_orders",
                  "procedures", "procedure_steps"):
        db.session.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                   f"(SELECT coalesce(max(id), 1) FROM {table}))"))
    db.session.commit()
    db.session.execute(sa.text("ANALYZE"))
    echo(f"  {len(orders)} orders, {len(procs)} procedures: {time.perf_counter() - started:.1f} s")
    return {"numbers": numbers, "caseworker": caseworker, "with_records": with_records}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--checks", type=int, default=300)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/benchlists")
    if not url.startswith("postgresql"):
        sys.exit("DATABASE_URL must point to PostgreSQL")
    ensure_database(url)

    from flask_migrate import upgrade
    from housingcredit import create_app, jobs
    from housingcredit.accounts import service as accounts
    from housingcredit.clock import FixedClock
    from housingcredit.extensions import db
    from housingcredit.scoring import service as scoring

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})
    clock = FixedClock(TODAY)
    app.extensions["clock"] = clock
    rng = random.Random(args.seed)
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        upgrade()
        print(f"loading {args.households} households (COPY)…")
        started = time.perf_counter()
        data = load(app, args.households, rng, print)
        print(f"load: {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        clock.set(TODAY - timedelta(days=1))  # the cache as yesterday's nightly run left it
        scoring.rebuild_all(echo=lambda m: None)
        clock.set(TODAY)
        print(f"credit cache rebuilt (yesterday): {time.perf_counter() - started:.1f} s")

        # ---- the credit check ----
        token = accounts.create_token(data["caseworker"], "bench")
        db.session.commit()
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        picks = [data["numbers"][rng.randrange(data["with_records"] * 2)] for _ in range(args.checks)]
        for number in picks[:20]:  # warm-up
            client.get(f"/api/v1/credit-check?id_number={number}&business=allocation", headers=headers)
        capture = Capture(db.engine)
        samples, statuses = [], set()
        for i, number in enumerate(picks):
            capture.on = i == 0
            t = time.perf_counter()
            resp = client.get(f"/api/v1/credit-check?id_number={number}&business=allocation&purpose=bench",
                              headers=headers)
            samples.append(time.perf_counter() - t)
            capture.on = False
            statuses.add(resp.status_code)
        med, p95 = ms(samples)
        print(f"credit check via API: median {med:.2f} ms, p95 {p95:.2f} ms over {len(samples)} (status {statuses})")
        selects = capture.statements
        bare = []
        plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(plain) as conn:
            compiled = []
            for stmt, params in selects:
                compiled.append((stmt, params))
            for number in picks:
                t = time.perf_counter()
                with conn.cursor() as cur:
                    for stmt, params in compiled:
                        cur.execute(stmt, params)
                        cur.fetchall()
                bare.append(time.perf_counter() - t)
        med, p95 = ms(bare)
        print(f"same {len(selects)} SELECTs through bare psycopg: median {med:.2f} ms, p95 {p95:.2f} ms")

        # ---- the daily jobs ----
        for label in ("daily jobs, first run today", "daily jobs, second run (changes nothing)"):
            started = time.perf_counter()
            for line in jobs.run_once():
                print("  " + line)
            print(f"{label}: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
