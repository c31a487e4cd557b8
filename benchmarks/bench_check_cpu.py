"""Benchmark: the Python CPU of one credit check, in-process, against `GET /api/v1/me` in the same run.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_check .venv/bin/python benchmarks/bench_check_cpu.py
    … --requests 2000 (per endpoint and round) --rounds 3 --profile (cProfile of the checks, top functions)

Reuses the database bench_check_http.py loaded (run that first, or pass --load with --households), issues a
caseworker bearer token, and sends the requests through Flask's test client (no server, no network): rounds of
`/api/v1/me` and of `/api/v1/credit-check` with a different ID number each time (5 % unknown, a random business),
alternating so that a change in the machine's load falls on both. The figure is the process's CPU time per request
(`time.process_time`: this process only, the database server's CPU aside), which a shared machine's load barely
moves; wall time is printed beside it. The ratio me / check of CPU per request bounds what gunicorn can reach
(issue 21: check throughput ≥ 0.5 × /me). Asserts nothing.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import database_url, ensure_database  # noqa: E402

BUSINESSES = ("application", "allocation", "renewal", "swap", "subsidy", "exit", "other")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per endpoint and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--load", action="store_true", help="load the database first (bench_check_http's load)")
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--profile", action="store_true", help="cProfile one more round of checks")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--profile-out", help="also write the profile's stats to this file (pstats)")
    args = parser.parse_args()
    url = database_url("postgresql://postgres@127.0.0.1:5432/bench_check")
    ensure_database(url)
    os.environ["DATABASE_URL"] = url
    from benchmarks.bench_check_http import prepare
    data = prepare(argparse.Namespace(seed=args.seed, skip_load=not args.load, households=args.households), url)

    from housingcredit import create_app
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})
    client = app.test_client()
    headers = {"Authorization": f"Bearer {data['token']}"}
    numbers = data["numbers"]
    rng = random.Random(args.seed)

    def me():
        resp = client.get("/api/v1/me", headers=headers)
        assert resp.status_code == 200, resp.status_code

    def check():
        resp = client.get("/api/v1/credit-check", headers=headers, query_string={
            "id_number": numbers[rng.randrange(len(numbers))], "business": rng.choice(BUSINESSES),
            "purpose": "bench"})
        assert resp.status_code == 200, resp.get_json()

    def run(fn, n):
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(n):
            fn()
        return (time.process_time() - cpu) / n * 1000, (time.perf_counter() - wall) / n * 1000

    for fn in (me, check):  # warm-up: imports, caches, the pool
        run(fn, 200)
    figures = {"me": [], "check": []}
    for _round in range(args.rounds):
        for kind, fn in (("me", me), ("check", check)):
            figures[kind].append(run(fn, args.requests))

    def median(values):
        return sorted(values)[len(values) // 2]

    print(f"{args.rounds} alternating rounds of {args.requests} requests each, in-process (Flask test client), "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'endpoint':<26}{'CPU ms/req':>12}{'wall ms/req':>13}   rounds (CPU ms)")
    for kind, label in (("me", "GET /api/v1/me"), ("check", "GET /api/v1/credit-check")):
        cpu = median([c for c, _w in figures[kind]])
        wall = median([w for _c, w in figures[kind]])
        print(f"{label:<26}{cpu:>12.2f}{wall:>13.2f}   {' '.join(f'{c:.2f}' for c, _w in figures[kind])}")
    ratio = median([c for c, _w in figures["me"]]) / median([c for c, _w in figures["check"]])
    print(f"CPU ratio me / check: {ratio:.2f} (the throughput ratio gunicorn can reach when Python is the "
          f"bottleneck; target ≥ 0.5)")
    if args.profile:
        prof = cProfile.Profile(time.process_time)  # CPU time: waiting for the database is not ours
        prof.enable()
        for _ in range(args.requests):
            check()
        prof.disable()
        if args.profile_out:
            prof.dump_stats(args.profile_out)
        for key in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats(key).print_stats(args.top)
            print(out.getvalue())


if __name__ == "__main__":
    main()
