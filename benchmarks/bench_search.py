"""Benchmark: demo load of 100,000 households and archive search through the API, on PostgreSQL.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench .venv/bin/python benchmarks/bench_search.py

The database is emptied (schema `public` dropped) and migrated first; it is created when missing.
Targets (issue 2): `demo load --households 100000` under 60 s; archive search by name prefix and by full ID
number under 20 ms median through the API in-process (Flask test client, supervisor bearer token).
Each API figure is compared with the bare library doing the same work in the same run: the SELECTs the request
issued, captured from SQLAlchemy and replayed through psycopg directly. Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from benchmarks.common import (Capture, database_url, ensure_database, median_ms, p95_ms, plain_url,  # noqa: E402
                               replay, reset_schema)

SEARCH_URL = "/api/v1/households"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300, help="queries per kind (at least 200 recommended)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-load", action="store_true", help="reuse the loaded database (search figures only)")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of each search kind")
    args = parser.parse_args()

    url = database_url("postgresql://postgres@127.0.0.1:5432/bench")
    ensure_database(url)

    from housingcredit import create_app, demo
    from housingcredit.accounts import service as accounts
    from housingcredit.accounts.models import User
    from housingcredit.archives.models import Member
    from housingcredit.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})
    with app.app_context():
        load_s = None
        if not args.skip_load:
            reset_schema(db, quiet=True)
            t0 = time.perf_counter()
            demo.load(households=args.households, seed=args.seed, echo=lambda _line: None)
            load_s = time.perf_counter() - t0
        n_households = db.session.scalar(sa.text("SELECT count(*) FROM households"))
        n_members = db.session.scalar(sa.text("SELECT count(*) FROM members"))
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("ANALYZE"))

        supervisor = db.session.scalar(sa.select(User).where(User.username == "supervisor"))
        token = accounts.create_token(supervisor, "bench")
        db.session.commit()

        rnd = random.Random(args.seed)
        sample = db.session.execute(sa.select(Member.name, Member.id_number)
                                    .order_by(sa.func.random()).limit(args.queries * 2)).all()
        rnd.shuffle(sample)
        name_queries = [name[:2] for name, _ in sample[:args.queries]]
        surname_queries = [name[:1] for name, _ in sample[:args.queries]]
        id_queries = [number for _, number in sample[args.queries:args.queries * 2]]
        db.session.remove()

    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    capture = None
    with app.app_context():
        capture = Capture(db.engine)

    def run_api(queries):
        times, hits, replay = [], [], []
        for q in queries:
            capture.statements = []
            capture.on = True
            t = time.perf_counter()
            resp = client.get(SEARCH_URL, query_string={"q": q}, headers=headers)
            times.append(time.perf_counter() - t)
            capture.on = False
            if resp.status_code != 200:
                sys.exit(f"search {q!r} answered {resp.status_code}: {resp.get_data(as_text=True)[:300]}")
            body = resp.get_json()
            items = body if isinstance(body, list) else body.get("items", body.get("households", []))
            hits.append(len(items))
            replay.append(list(capture.statements))
        return times, hits, replay

    def run_bare(replays):
        times = []
        with psycopg.connect(plain_url(url)) as conn:
            for statements in replays:
                t = time.perf_counter()
                replay(conn, statements)
                conn.rollback()
                times.append(time.perf_counter() - t)
        return times

    # Warm up both paths (first request builds caches and plans).
    run_api(name_queries[:20])
    results = {}
    for label, queries in (("name prefix", name_queries), ("ID number", id_queries),
                           ("surname only", surname_queries)):
        api_t, hits, replays = run_api(queries)
        bare_t = run_bare(replays)
        results[label] = (api_t, bare_t, hits, replays)

    with app.app_context():
        explain = {}
        for label, (_, _, _, replays) in results.items():
            if label == "surname only":
                replays = [r for r, q in zip(replays, surname_queries) if q == "王"] or replays
            search_sql = next((s for s in replays[0] if "members" in s[0] and "households" in s[0]), None)
            if search_sql:
                with psycopg.connect(plain_url(url)) as conn:
                    plan = conn.execute("EXPLAIN ANALYZE " + search_sql[0], search_sql[1]).fetchall()
                explain[label] = "\n".join("    " + r[0] for r in plan)

    print(f"PostgreSQL: {n_households} households, {n_members} members")
    if load_s is not None:
        print(f"demo load --households {args.households}: {load_s:.1f} s (target < 60 s)")
    print(f"archive search via {SEARCH_URL}?q=… (Flask test client, supervisor token), {args.queries} queries each:")
    for label, (api_t, bare_t, hits, replays) in results.items():
        print(f"  {label:<12} API median {median_ms(api_t):5.1f} ms, p95 {p95_ms(api_t):5.1f} ms | "
              f"bare psycopg, same SELECTs: median {median_ms(bare_t):5.1f} ms, p95 {p95_ms(bare_t):5.1f} ms | "
              f"hits per query median {statistics.median(hits):.0f}, "
              f"SELECTs per request {statistics.median(len(r) for r in replays):.0f} (target < 20 ms median)")
    for label, plan in explain.items() if args.explain else ():
        print(f"EXPLAIN ANALYZE, search by {label} (first query):\n{plan}")


if __name__ == "__main__":
    main()
