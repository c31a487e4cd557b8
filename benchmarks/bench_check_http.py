"""Benchmark: the credit check over HTTP under gunicorn (4 workers) on PostgreSQL, against `GET /api/v1/me`.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_check .venv/bin/python benchmarks/bench_check_http.py
    … --households 100000 (default) --seconds 10 --connections 16 --skip-load (reuse the loaded database)

Loads the data with bench_lists.py's `load()` (households with their head, records for 20 %, orders and procedures
for 10 %), rebuilds the credit cache, issues a caseworker bearer token, then starts gunicorn (4 workers, 127.0.0.1
only, rate limits off through HOUSINGCREDIT_RATELIMIT_ENABLED=false) and runs Debian's `wrk` (16 connections, 4
threads) with a Lua script, alternating 3 rounds (`--rounds`) of 10 s (`--seconds`) of `/api/v1/me` and of
`/api/v1/credit-check` with a different ID number on every request (5 % unknown ones), so that a change in the
machine's load falls on both. Prints req/s, p50/p95 latency, non-2xx and 5xx counts and the ratio
check/me. Target (issue 21): check ≥ 0.5 × me, no 5xx, p95 < 100 ms. Asserts nothing; the machine's load matters.
`--also-chained` restarts gunicorn with HOUSINGCREDIT_AUDIT_READS_UNCHAINED=false and measures the check again:
each check's read-log chained at its commit under the chain's lock (the lock taken at the last moment only).
"""
from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from benchmarks.common import database_url, ensure_database, reset_schema  # noqa: E402

LUA = r"""
local ids, n = {}, 0
local path_kind = os.getenv("BENCH_PATH") or "me"
local token = os.getenv("BENCH_TOKEN")
local counters = {}
function setup(thread) table.insert(counters, thread) end
function init(args)
  for line in io.lines(os.getenv("BENCH_IDS")) do n = n + 1; ids[n] = line end
  s2, s4, s5, other = 0, 0, 0, 0
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end
local businesses = {"application", "allocation", "renewal", "swap", "subsidy", "exit", "other"}
function request()
  local path = "/api/v1/me"
  if path_kind == "check" then
    path = "/api/v1/credit-check?id_number=" .. ids[math.random(n)] .. "&business=" ..
           businesses[math.random(7)] .. "&purpose=bench"
  end
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
end
function response(status, headers, body)
  if status < 300 then s2 = s2 + 1 elseif status >= 500 then s5 = s5 + 1
  elseif status >= 400 then s4 = s4 + 1 else other = other + 1 end
end
function done(summary, latency, requests)
  local t2, t4, t5 = 0, 0, 0
  for _, t in ipairs(counters) do t2 = t2 + t:get("s2"); t4 = t4 + t:get("s4"); t5 = t5 + t:get("s5") end
  io.write(string.format("BENCH requests=%d seconds=%.3f p50_us=%d p95_us=%d max_us=%d ok=%d c4xx=%d c5xx=%d " ..
                         "socket_errors=%d\n", summary.requests, summary.duration / 1e6,
                         latency:percentile(50), latency:percentile(95), latency.max, t2, t4, t5,
                         summary.errors.connect + summary.errors.read + summary.errors.write +
                         summary.errors.timeout))
end
"""


def prepare(args, url: str) -> dict:
    """Load (unless --skip-load), rebuild the cache, issue a token; the ID numbers to check."""
    from benchmarks.bench_lists import TODAY, id_numbers, load
    from housingcredit import create_app
    from housingcredit.accounts import service as accounts
    from housingcredit.accounts.models import User
    from housingcredit.archives.models import Member
    from housingcredit.clock import FixedClock
    from housingcredit.extensions import db
    from housingcredit.scoring import service as scoring
    import sqlalchemy as sa

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})
    rng = random.Random(args.seed)
    with app.app_context():
        clock = FixedClock(TODAY)
        app.extensions["clock"] = clock
        if not args.skip_load:
            reset_schema(db, quiet=True)
            started = time.perf_counter()
            data = load(app, args.households, rng, print)
            clock.set(TODAY)
            scoring.rebuild_all(echo=lambda m: None)
            print(f"loaded {args.households} households and rebuilt the cache: {time.perf_counter() - started:.1f} s")
            worker = data["caseworker"]
        else:
            worker = db.session.scalar(sa.select(User).where(User.username == "bench-caseworker"))
        # the server answers by the real clock: a token issued on the data's fixed day would have expired
        from housingcredit.clock import SystemClock
        app.extensions["clock"] = SystemClock()
        token = accounts.create_token(worker, "bench-http")
        db.session.commit()
        numbers = db.session.scalars(sa.select(Member.id_number).order_by(Member.id)
                                     .limit(args.households)).all()
    known = set(numbers)
    unknown = [n for n in id_numbers(len(numbers) // 10 + 1, random.Random(args.seed + 1)) if n not in known]
    picks = rng.sample(numbers, min(len(numbers), 50_000)) + unknown[:2500]
    rng.shuffle(picks)
    return {"token": token, "numbers": picks}


def wait_ready(base: str, token: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=2).status_code \
                    == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("gunicorn did not answer in time")


def run_wrk(base: str, kind: str, env: dict, script: str, args) -> dict:
    cmd = [args.wrk, "-t", str(min(4, args.connections)), "-c", str(args.connections), "-d", f"{args.seconds}s",
           "--timeout", "5s", "-s", script, f"{base}/"]
    out = subprocess.run(cmd, env={**env, "BENCH_PATH": kind}, capture_output=True, text=True, check=True).stdout
    m = re.search(r"BENCH (.*)", out)
    if not m:
        raise SystemExit(f"wrk printed no summary:\n{out}")
    fields = dict(kv.split("=") for kv in m.group(1).split())
    requests, seconds = int(fields["requests"]), float(fields["seconds"])
    return {"rps": requests / seconds, "p50": int(fields["p50_us"]) / 1000, "p95": int(fields["p95_us"]) / 1000,
            "max": int(fields["max_us"]) / 1000, "requests": requests,
            "non2xx": requests - int(fields["ok"]), "c5xx": int(fields["c5xx"]),
            "socket_errors": int(fields["socket_errors"])}


def combine(rounds: list[dict]) -> dict:
    """Rounds of one endpoint: requests per second over all of them, latencies the median round's, counts summed."""
    def median(key):
        return sorted(r[key] for r in rounds)[len(rounds) // 2]
    seconds = sum(r["requests"] / r["rps"] for r in rounds if r["rps"])
    requests = sum(r["requests"] for r in rounds)
    return {"rps": requests / seconds if seconds else 0.0, "p50": median("p50"), "p95": median("p95"),
            "max": max(r["max"] for r in rounds), "requests": requests,
            "non2xx": sum(r["non2xx"] for r in rounds), "c5xx": sum(r["c5xx"] for r in rounds),
            "socket_errors": sum(r["socket_errors"] for r in rounds)}


def check_answers(base: str, token: str, numbers: list[str]) -> None:
    """A few answers by hand: 200, a conclusion, limited to the fields the schema names."""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as http:
        for number in numbers[:20]:
            resp = http.get("/api/v1/credit-check", params={"id_number": number, "business": "allocation",
                                                              "purpose": "bench"})
            body = resp.json()
            assert resp.status_code == 200 and body["conclusion"] in ("may_proceed", "restricted"), body
        resp = http.get("/api/v1/credit-check", params={"id_number": numbers[0], "business": "allocation"})
        assert resp.status_code == 422 and "purpose" in resp.json()["errors"], resp.text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of me / check")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=18731)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--skip-load", action="store_true", help="reuse the database a previous run loaded")
    parser.add_argument("--gunicorn", default=shutil.which("gunicorn") or str(Path(sys.executable).parent
                                                                              / "gunicorn"))
    parser.add_argument("--wrk", default="/usr/bin/wrk")
    parser.add_argument("--also-chained", action="store_true",
                        help="then restart gunicorn with AUDIT_READS_UNCHAINED=false (each check's read-log chained "
                             "at its commit, under the chain lock) and measure the check again")
    args = parser.parse_args()
    url = database_url("postgresql://postgres@127.0.0.1:5432/bench_check")
    ensure_database(url)
    data = prepare(args, url)

    tmp = Path(tempfile.mkdtemp(prefix="bench-check-"))
    ids_file, script = tmp / "ids.txt", tmp / "bench.lua"
    ids_file.write_text("\n".join(data["numbers"]) + "\n")
    script.write_text(LUA)
    env = {**os.environ, "DATABASE_URL": url, "HOUSINGCREDIT_RATELIMIT_ENABLED": "false",
           "BENCH_IDS": str(ids_file), "BENCH_TOKEN": data["token"]}
    base = f"http://127.0.0.1:{args.port}"

    def cmd(bind: str) -> list[str]:
        return [args.gunicorn, "--workers", str(args.workers), "--bind", bind, "--log-level", "warning",
                "--no-control-socket", "wsgi:app"]

    figures, procs = {}, []
    servers = {"me": base, "check": base}
    if args.also_chained:  # a second gunicorn beside the first, its read-logs chained at each commit
        servers["check_chained"] = f"http://127.0.0.1:{args.port + 1}"
    try:
        for unchained, url in (("true", base), ("false", servers.get("check_chained"))):
            if url is None:
                continue
            bind = url.removeprefix("http://")
            procs.append(subprocess.Popen(cmd(bind), cwd=ROOT,
                                          env={**env, "HOUSINGCREDIT_AUDIT_READS_UNCHAINED": unchained}))
            wait_ready(url, data["token"], procs[-1])
            check_answers(url, data["token"], data["numbers"])
        for kind, url in servers.items():  # warm-up
            run_wrk(url, "check" if kind.startswith("check") else kind, env, str(script),
                    argparse.Namespace(**{**vars(args), "seconds": 2}))
        for _round in range(args.rounds):  # alternating, so that a change in the machine's load hits all alike
            for kind, url in servers.items():
                path = "check" if kind.startswith("check") else kind
                figures.setdefault(kind, []).append(run_wrk(url, path, env, str(script), args))
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    shutil.rmtree(tmp, ignore_errors=True)
    figures = {kind: combine(rounds) for kind, rounds in figures.items()}
    print(f"{args.rounds} alternating rounds; req/s over all rounds, latencies the median of the rounds'")
    print(f"gunicorn {args.workers} workers, wrk {args.connections} connections, {args.seconds} s each")
    print(f"{'endpoint':<22}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'non-2xx':>9}{'5xx':>6}{'sock':>6}")
    for kind, label in (("me", "GET /api/v1/me"), ("check", "GET /api/v1/credit-check"),
                        ("check_chained", "  … reads chained")):
        if kind not in figures:
            continue
        f = figures[kind]
        print(f"{label:<22}{f['rps']:>9.0f}{f['p50']:>9.1f}{f['p95']:>9.1f}{f['max']:>9.1f}{f['non2xx']:>9}"
              f"{f['c5xx']:>6}{f['socket_errors']:>6}")
    print(f"ratio check / me: {figures['check']['rps'] / figures['me']['rps']:.2f} (target ≥ 0.5; p95 < 100 ms; "
          f"no 5xx)")
    if "check_chained" in figures:
        print(f"ratio with read-logs chained at commit (AUDIT_READS_UNCHAINED=false): "
              f"{figures['check_chained']['rps'] / figures['me']['rps']:.2f}")


if __name__ == "__main__":
    main()
