"""Benchmark: the statistics page and its export at 1.1M households (issue 18: "the statistics page over
1,000,000 households under 1 s").

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_stats .venv/bin/python benchmarks/bench_stats.py
    … --skip-load   reuse a database this benchmark or bench_pages.py loaded (the same data)
    … --vacuum      VACUUM (ANALYZE) before timing — what autovacuum does after a bulk load; it sets the visibility
                    map that lets the counts read their indexes alone (index-only scans without heap fetches)
    … --explain     print EXPLAIN (ANALYZE, BUFFERS) of every statement of each page

The data is bench_pages.py's `load` (bench_lists' households, records, watch entries, orders and procedures, plus
pending and late records, an audit trail, the credit cache rebuilt, ANALYZE): per 1,100,000 households 220,000
confirmed records, 110,000 watch entries, 55,000 procedures. It logs in through the real login form as a supervisor
(the province) and a caseworker (Wuhan, where bench_lists puts every household) and times each page: median of 5
after a warm-up, in-process (Flask test client). Beside the wall time: CPU time (this process — Flask, ORM,
template, openpyxl — plus the database backends serving it, read from /proc; parallel workers' CPU is not
included), the statements per request, and the same SELECTs replayed through bare psycopg in the same run (wall
and backend CPU). Then each statement of the pages with its execution time from EXPLAIN ANALYZE, and the
households-by-tier count as it was before the cache kept the region (households joined with the cache) beside
the count it is now, as bare SQL. Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from benchmarks.bench_lists import TODAY  # noqa: E402
from benchmarks.bench_pages import load, login  # noqa: E402
from benchmarks.common import Counter, database_url, ensure_database, plain_url, replay  # noqa: E402

RUNS = 5
TICK = os.sysconf("SC_CLK_TCK")

PAGES = [  # (who, label, url)
    ("supervisor", "statistics, province, 12 months", "/stats"),
    ("supervisor", "statistics, province, 5 years", "/stats?from=2021-07-01&to=2026-06-15"),
    ("supervisor", "statistics, one county (filtered)", "/stats?region=420102"),
    ("caseworker", "statistics, Wuhan, 12 months", "/stats"),
    ("caseworker", "statistics, Wuhan, one county (filtered)", "/stats?region=420103"),
    ("supervisor", "statistics export (.xlsx), province", "/stats/export.xlsx"),
    ("caseworker", "statistics export (.xlsx), Wuhan", "/stats/export.xlsx"),
]


def backend_pids(conn) -> list[int]:
    """The client backends connected to this database, except `conn`'s own (the app's pooled connections)."""
    return [r[0] for r in conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend' "
        "AND pid <> pg_backend_pid()").fetchall()]


def cpu_of(pids) -> float:
    """User + system CPU seconds the processes have used so far (/proc/<pid>/stat, fields 14 and 15)."""
    total = 0
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICK


def timed(fn, pids) -> tuple[float, float]:
    """(wall, CPU of this process + the backends `pids`) of one call."""
    c0, b0, t0 = time.process_time(), cpu_of(pids), time.perf_counter()
    fn()
    wall = time.perf_counter() - t0
    return wall, time.process_time() - c0 + cpu_of(pids) - b0


def med(samples) -> float:
    return statistics.median(samples) * 1000


def first_line(sql: str) -> str:
    return " ".join(sql.split())[:110]


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1_100_000)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--skip-load", action="store_true", help="reuse the loaded database")
    parser.add_argument("--vacuum", action="store_true", help="VACUUM (ANALYZE) before timing")
    parser.add_argument("--explain", action="store_true", help="print every statement's plan")
    args = parser.parse_args()
    url = database_url("postgresql://postgres@127.0.0.1:5432/bench_stats")
    ensure_database(url)

    from housingcredit import create_app
    from housingcredit.accounts.models import User
    from housingcredit.clock import FixedClock
    from housingcredit.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})
    clock = FixedClock(TODAY)
    app.extensions["clock"] = clock
    with app.app_context():
        if not args.skip_load:
            load(app, clock, args.households, random.Random(args.seed))
        if args.vacuum:
            t = time.perf_counter()
            with psycopg.connect(plain_url(url), autocommit=True) as conn:
                conn.execute("VACUUM (ANALYZE)")
            print(f"VACUUM (ANALYZE): {time.perf_counter() - t:.1f} s")
        n = db.session.scalar(sa.text("SELECT count(*) FROM households"))
        tiers = db.session.execute(sa.text("SELECT tier, count(*) FROM credit_states GROUP BY tier ORDER BY 1")).all()
        users = {who: db.session.scalar(sa.select(User).where(User.username == f"bench-{who}"))
                 for who in ("supervisor", "caseworker")}
        db.session.rollback()
        clients = {}
        for who, user in users.items():
            c = app.test_client()
            login(c, user.username)
            clients[who] = c
        counter = Counter(db.engine)
        print(f"\n{n} households; credit cache by tier: {', '.join(f'{t} {k}' for t, k in tiers)}; "
              f"load average {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} {os.getloadavg()[2]:.1f}\n")
        print("| page | role | median | CPU (app + db) | statements | bare SQL (same SELECTs) | bare CPU (db) |")
        print("|---|---|---|---|---|---|---|")
        captured = {}
        with psycopg.connect(plain_url(url)) as conn:
            bare_pid = [conn.execute("SELECT pg_backend_pid()").fetchone()[0]]
            for who, label, path in PAGES:
                client = clients[who]
                resp = client.get(path)  # warm-up
                if resp.status_code != 200:
                    print(f"| {label} | {who} | status {resp.status_code} | | | | |")
                    continue
                pids = backend_pids(conn)
                walls, cpus, counts = [], [], []
                for _ in range(RUNS):
                    counter.reset()
                    wall, cpu = timed(lambda: client.get(path), pids)
                    walls.append(wall)
                    cpus.append(cpu)
                    counts.append(counter.count)
                selects = list(counter.selects)
                captured[label] = selects
                bare_walls, bare_cpus = [], []
                for _ in range(RUNS):
                    wall, cpu = timed(lambda: replay(conn, selects), bare_pid)
                    bare_walls.append(wall)
                    bare_cpus.append(cpu)
                conn.rollback()
                print(f"| {label} | {who} | {med(walls):.1f} ms | {med(cpus):.0f} ms | {max(counts)} | "
                      f"{med(bare_walls):.1f} ms ({len(selects)}) | {med(bare_cpus):.0f} ms |")

            for label in ("statistics, province, 12 months", "statistics, Wuhan, 12 months"):
                print(f"\n{label}: each statement, EXPLAIN ANALYZE execution time")
                for statement, params in captured.get(label, []):
                    with conn.cursor() as cur:
                        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
                        plan = [r[0] for r in cur.fetchall()]
                    took = next((line for line in plan if line.startswith("Execution Time")), "")
                    print(f"  {took.replace('Execution Time: ', ''):>12}  {first_line(statement)}")
                    if args.explain:
                        print("\n".join("      " + line for line in plan))
                conn.rollback()

            # the households-by-tier count before (cache joined with households) and now (the cache alone)
            others = [t for t, _k in tiers if t != "good"]
            region_lo, region_hi = "420000", "429999"
            sql = {
                "households by region (index-only on households.region_code)":
                    "SELECT region_code, count(*) FROM households WHERE region_code BETWEEN %(lo)s AND %(hi)s "
                    "GROUP BY region_code",
                "before: tiers off 'good' by region, cache joined with households":
                    "SELECT h.region_code, c.tier, count(*) FROM credit_states c JOIN households h "
                    "ON h.id = c.household_id WHERE c.tier = ANY(%(others)s) AND h.region_code BETWEEN %(lo)s "
                    "AND %(hi)s GROUP BY h.region_code, c.tier",
                "now: tiers off 'good' by region, the cache alone (index (tier, region_code))":
                    "SELECT region_code, tier, count(*) FROM credit_states WHERE tier = ANY(%(others)s) "
                    "AND region_code BETWEEN %(lo)s AND %(hi)s GROUP BY region_code, tier",
            }
            print("\nhouseholds by tier and region, bare SQL, province (median of 5; backend CPU)")
            params = {"lo": region_lo, "hi": region_hi, "others": others}
            for label, q in sql.items():
                walls, cpus = [], []
                for _ in range(RUNS + 1):
                    wall, cpu = timed(lambda: conn.execute(q, params).fetchall(), bare_pid)
                    walls.append(wall)
                    cpus.append(cpu)
                print(f"  {med(walls[1:]):8.1f} ms  {med(cpus[1:]):5.0f} ms CPU  {label}")
                if args.explain:
                    plan = [r[0] for r in conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + q, params).fetchall()]
                    print("\n".join("      " + line for line in plan))
            conn.rollback()
        print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
