"""Benchmark: the credit check and the daily jobs over 1,000,000 households on PostgreSQL.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/benchlists .venv/bin/python benchmarks/bench_lists.py
    … --households 100000      (fewer households; the other volumes scale with it)

The database is created when missing, emptied (schema `public` dropped) and migrated, then filled with COPY:
households with their head, confirmed records for 20 % of them (half moderate — on the watch list, consistent with
the engine as of yesterday — half mild), and 100,000 open orders and procedures (10 % of households): orders with
deadlines from yesterday to 6 months ahead, procedures opened over the last 3.5 years in the state the clock gives
them as of yesterday. The credit cache is rebuilt with `scoring.service.rebuild_all`.

Targets (issue 4): credit check < 10 ms median in-process (Flask test client, caseworker bearer token), compared
with the same database work done by hand through bare psycopg (lookup, facts, objections and procedures when there
are any, log row, unchained read-log entry, commit) on other ID numbers, whose answers (found, household, region)
and written rows are checked against the API's; the daily jobs < 60 s in total (today's
share of expiries, overdue orders and clock steps), then a second run (which must change nothing).
Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from benchmarks.common import (Capture, copy_rows, database_url, ensure_database, move_sequences, ms,  # noqa: E402
                               plain_url, raw_connection, reset_schema)

TODAY = date(2026, 6, 15)


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
    raw = raw_connection(db)
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
                               "facts", "late", "pending", "confirmed_unrevoked", "recorded_by_id", "recorded_dt"),
              ((rid, hid, reg, code, d, d, "management", "bench", False, False, True, worker_id, now)
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
    move_sequences(db, ("households", "members", "records", "determinations", "watch_entries",
                        "rectification_orders", "procedures", "procedure_steps"))
    db.session.commit()
    db.session.execute(sa.text("ANALYZE"))
    echo(f"  {len(orders)} orders, {len(procs)} procedures: {time.perf_counter() - started:.1f} s")
    return {"numbers": numbers, "caseworker": caseworker, "with_records": with_records}


FACTS_SQL = ("SELECT r.household_id, r.id, r.code, r.region_code, d.determination_date, v.revoked_date, "
             "p.repaired_date FROM records r JOIN determinations d ON d.record_id = r.id "
             "LEFT JOIN revocations v ON v.record_id = r.id LEFT JOIN record_repairs p ON p.record_id = r.id "
             "WHERE d.decision = 'confirmed' AND r.household_id = %s")
PROCEDURES_SQL = ("SELECT p.id, p.route, p.opened_date, p.record_id, p.order_id, s.step, s.step_date, s.reason, "
                  "g.route, g.attached_date FROM procedures p LEFT JOIN procedure_steps s ON s.procedure_id = p.id "
                  "LEFT JOIN procedure_grounds g ON g.procedure_id = p.id "
                  "WHERE p.household_id = %s ORDER BY p.id, s.id, g.id")
OBJECTIONS_SQL = "SELECT id, filed_date, record_id, procedure_id, repeat FROM objections WHERE household_id = %s"


def bare_check(conn, number: str, user_id: int) -> tuple:
    """The credit check's database work by hand (no engine), statement for statement what the API does: the
    lookup (with whether there are records, procedures, objections), the facts it has, the log row with its
    read-log entry (one statement; unchained: no chain lock, no head read), the commit. Returns (found, household
    id, region)."""
    import json
    now = datetime.now(timezone.utc)
    row = conn.execute(
        "SELECT h.id, h.region_code, h.archive_no, EXISTS (SELECT 1 FROM records r WHERE r.household_id = h.id), "
        "EXISTS (SELECT 1 FROM procedures p WHERE p.household_id = h.id), "
        "EXISTS (SELECT 1 FROM objections o WHERE o.household_id = h.id) FROM households h "
        "JOIN members m ON m.household_id = h.id WHERE m.id_number = %s", (number,)).fetchone()
    hid, region = (row[0], row[1]) if row else (None, None)
    if row and row[3]:
        conn.execute(FACTS_SQL, (hid,)).fetchall()
    if row and row[5]:
        conn.execute(OBJECTIONS_SQL, (hid,)).fetchall()
    if row and row[4]:
        conn.execute(PROCEDURES_SQL, (hid,)).fetchall()
    masked = number[:6] + "********" + number[-4:]
    after = json.dumps({"business": "allocation", "id_number": masked, "found": row is not None})
    conn.execute(  # the log row and its read-log in one statement, as the API writes them on PostgreSQL
        "WITH c AS (INSERT INTO credit_checks (dt, user_id, household_id, id_number_masked, business, purpose, tier, "
        "found, conclusion, caller_region_code, household_region_code) VALUES (%s, %s, %s, %s, 'allocation', "
        "'bench', NULL, %s, 'may_proceed', '420100', %s) RETURNING id) "
        "INSERT INTO audit_entries (dt, actor_id, actor_label, action, object_type, object_id, household_id, "
        "region_code, after) SELECT %s, %s, 'bench', 'credit.check', 'credit_check', c.id::text, %s, %s, %s FROM c "
        "RETURNING object_id", (now, user_id, hid, masked, row is not None, region, now, user_id, hid, region,
                                after)).fetchone()
    conn.commit()
    return row is not None, hid, region


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--checks", type=int, default=300)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    url = database_url("postgresql://postgres@127.0.0.1:5432/benchlists")
    ensure_database(url)

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
        reset_schema(db)
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
            client.get(f"/api/v1/credit-check?id_number={number}&business=allocation&purpose=bench",
                       headers=headers)
        capture = Capture(db.engine)
        samples, statuses, answers = [], set(), []
        for i, number in enumerate(picks):
            capture.on = i == 0
            t = time.perf_counter()
            resp = client.get(f"/api/v1/credit-check?id_number={number}&business=allocation&purpose=bench",
                              headers=headers)
            samples.append(time.perf_counter() - t)
            capture.on = False
            statuses.add(resp.status_code)
            answers.append(resp.get_json()["household_id"])
        med, p95 = ms(samples)
        print(f"credit check via API: median {med:.2f} ms, p95 {p95:.2f} ms over {len(samples)} (status {statuses}), "
              f"{len(capture.statements)} SELECTs in the first")
        # the same work through bare psycopg — lookup, facts, objections and procedures when there are any, the
        # log row, the unchained read-log entry, the commit — on other ID numbers (a different one each time),
        # answers and written rows checked against the API's
        others = [data["numbers"][rng.randrange(data["with_records"] * 2)] for _ in range(args.checks)]
        expected = []
        for n in others:
            body = client.get(f"/api/v1/credit-check?id_number={n}&business=allocation&purpose=bench",
                              headers=headers).get_json()
            expected.append((body["found"], body["household_id"], body["region_code"]))
        rows_before = db.session.execute(sa.text(
            "SELECT (SELECT count(*) FROM credit_checks), (SELECT count(*) FROM audit_entries)")).one()
        db.session.commit()
        bare, got = [], []
        with psycopg.connect(plain_url(url)) as conn:
            for number in others:
                t = time.perf_counter()
                got.append(bare_check(conn, number, data["caseworker"].id))
                bare.append(time.perf_counter() - t)
        rows_after = db.session.execute(sa.text(
            "SELECT (SELECT count(*) FROM credit_checks), (SELECT count(*) FROM audit_entries)")).one()
        db.session.commit()
        written = (rows_after[0] - rows_before[0], rows_after[1] - rows_before[1])
        med, p95 = ms(bare)
        print(f"same work through bare psycopg (other ID numbers): median {med:.2f} ms, p95 {p95:.2f} ms; "
              f"answers {'agree' if got == expected else 'DIFFER'} with the API's; "
              f"rows written {written} (expected {(len(others), len(others))})")

        # ---- the daily jobs ----
        for label in ("daily jobs, first run today", "daily jobs, second run (changes nothing)"):
            started = time.perf_counter()
            for line in jobs.run_once():
                print("  " + line)
            print(f"{label}: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
