"""Benchmark: every list page and list API at a million households (issue "Every page at a million households").

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_pages .venv/bin/python benchmarks/bench_pages.py
    … --households 200000      (fewer households; the other volumes scale with it)

The database is created when missing, emptied and migrated, then filled with COPY by bench_lists.py's loader
(per 1,000,000 households: 200,000 confirmed records, 100,000 watch entries, 50,000 open orders, 50,000
procedures), plus here: pending records waiting for review (1 %, half of them entered late), an audit entry per
household (its creation) and one household with a long history (1,000 changes, 300 staff reads); the credit cache
is rebuilt (the statistics read its tiers). Then ANALYZE.

It logs in through the real login form as a supervisor (province) and as a caseworker (Wuhan), and times each
list page and API as both (the review queue and the audit trail, which a caseworker may not open, as the
supervisor): the first page, a deep page (a cursor far down the list) and a filtered page — median of 5 after a
warm-up, in-process (Flask test client) — printing the process CPU time and the SQL statements per request beside
the time, and the same SELECTs replayed through bare psycopg in the same run. Prints figures; asserts nothing.

    … --skip-load              (reuse the loaded database)
    … --only "due page"        (only the pages whose label contains the text)
    … --profile 25             (and cProfile one request of each: its 25 costliest functions)
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from benchmarks.bench_lists import TODAY  # noqa: E402
from benchmarks.common import (  # noqa: E402
    copy_rows,
    database_url,
    ensure_database,
    first_row,
    load_dataset,
    move_sequences,
    raw_connection,
    time_pages,
)

PASSWORD = "correct-horse-9"  # tests.factories.PASSWORD: bench_lists makes its users with the factories
RUNS = 5
HISTORY = 1000
READS = 300


def load_more(n: int, rng: random.Random, caseworker_id: int, echo) -> dict:
    """Pending records, an audit trail (one creation per household, one long history)."""
    from housingcredit.extensions import db
    raw = raw_connection(db)
    started = time.perf_counter()
    now = datetime.now(UTC)
    first_record = db.session.scalar(sa.text("SELECT coalesce(max(id), 0) FROM records")) + 1
    pending = max(n // 100, 200)
    regions = dict(db.session.execute(sa.text("SELECT id, region_code FROM households WHERE id > :lo"),
                                      {"lo": n - pending}).all())
    rows = []
    for k in range(pending):
        hid = n - k  # households without other records
        formed = TODAY - timedelta(days=rng.randrange(1, 120))
        recorded = now - timedelta(minutes=pending - k)
        rows.append((first_record + k, hid, regions[hid], "HB07", formed, formed, "management", "bench",
                     k % 2 == 0, True, caseworker_id, recorded))
    copy_rows(raw, "records", ("id", "household_id", "region_code", "code", "occurred_date", "formed_date",
                               "source", "facts", "late", "pending", "recorded_by_id", "recorded_dt"), rows)

    def entry(i, hid, region, action, before, after, dt):
        return (i, dt, None, "bench", action, "household", str(hid), hid, region,
                json.dumps(before) if before is not None else None, json.dumps(after) if after else None,
                "0" * 64, hashlib.sha256(str(i).encode()).hexdigest(), i)  # place in the chain = id (not a real chain)

    start = now - timedelta(days=400)
    base = db.session.scalar(sa.text("SELECT coalesce(max(id), 0) FROM audit_entries"))
    trail = (entry(base + i, i, "420102", "household.create", None, {"address": "测试路1号"}, start)
             for i in range(1, n + 1))
    copy_rows(raw, "audit_entries", ("id", "dt", "actor_id", "actor_label", "action", "object_type", "object_id",
                                     "household_id", "region_code", "before", "after", "prev_hash", "hash", "seq"), trail)
    long_id, i = 1, base + n + 1
    history = []
    for k in range(HISTORY + READS):
        dt = start + timedelta(hours=k)
        if k % ((HISTORY + READS) // READS) == 0:
            history.append(entry(i, long_id, "420102", "household.read", None, None, dt))
        else:
            history.append(entry(i, long_id, "420102", "household.update", {"address": f"测试路{k}号"},
                                 {"address": f"测试路{k + 1}号"}, dt))
        i += 1
    copy_rows(raw, "audit_entries", ("id", "dt", "actor_id", "actor_label", "action", "object_type", "object_id",
                                     "household_id", "region_code", "before", "after", "prev_hash", "hash", "seq"), history)
    move_sequences(db, ("records", "audit_entries"))
    db.session.commit()
    echo(f"  {pending} pending records, {n + len(history)} audit entries: {time.perf_counter() - started:.1f} s")
    return {"long_household": long_id}


def login(client, username: str) -> None:
    """Through the real login form (CSRF token from the page)."""
    from flask import g
    g.pop("csrf_token", None)  # requests share the benchmark's app context: no token left from another session
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="staff-csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    resp = client.post("/login", data={"mode": "staff", "staff-username": username, "staff-password": PASSWORD,
                                       "staff-csrf_token": token})
    assert resp.status_code == 302, (resp.status_code, resp.get_data(as_text=True)[:300])


def load(app, clock, n: int, rng: random.Random, echo=print) -> dict:
    """Everything the pages read (inside an app context; bench_stats.py loads the same): bench_lists' households,
    records, lists and orders through `common.load_dataset`, then the credit cache as yesterday's nightly run left
    it (the statistics read its tiers), `load_more`, a supervisor of the province (bench-supervisor) beside
    bench_lists' Wuhan caseworker (bench-caseworker); ANALYZE at the end."""
    from housingcredit.extensions import db

    def more(data):
        from housingcredit.scoring import service as scoring
        from tests import factories
        t = time.perf_counter()
        clock.set(TODAY - timedelta(days=1))
        scoring.rebuild_all(echo=lambda m: None)
        clock.set(TODAY)
        echo(f"  credit cache (tiers for the statistics): {time.perf_counter() - t:.1f} s")
        load_more(n, rng, data["caseworker"].id, echo)
        factories.make_user("supervisor", "420000", username="bench-supervisor")
        db.session.commit()

    return load_dataset(app, n, rng, echo, then=more)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1_100_000)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--skip-load", action="store_true", help="reuse the loaded database")
    parser.add_argument("--only", default="", help="time only the pages whose label contains this text")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="after each page's timing, profile one request and print its N costliest functions")
    args = parser.parse_args()
    url = database_url("postgresql://postgres@127.0.0.1:5432/bench_pages")
    ensure_database(url)

    from housingcredit import create_app
    from housingcredit.accounts import service as accounts
    from housingcredit.accounts.models import User
    from housingcredit.clock import FixedClock
    from housingcredit.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})
    clock = FixedClock(TODAY)
    app.extensions["clock"] = clock
    rng = random.Random(args.seed)
    n = args.households

    with app.app_context():
        if not args.skip_load:
            load(app, clock, n, rng)
        long_id = 1
        cw = db.session.scalar(sa.select(User).where(User.username == "bench-caseworker"))
        sup = db.session.scalar(sa.select(User).where(User.username == "bench-supervisor"))
        tokens = {u.username: accounts.create_token(u, "bench") for u in (cw, sup)}
        db.session.commit()

        # deep cursors, read with bare SQL (where a user would arrive after many "next" clicks)
        entries = first_row("SELECT count(*) FROM watch_entries")[0]
        deep_watch = first_row("SELECT start_date, id FROM watch_entries ORDER BY start_date DESC, id DESC "
                               "OFFSET :o LIMIT 1", o=int(entries * 0.9))
        watch_after = f"{deep_watch[0].isoformat()}_{deep_watch[1]}"
        deep_household = first_row("SELECT id FROM households ORDER BY id OFFSET :o LIMIT 1", o=int(n * 0.9))[0]
        pending_total = first_row("SELECT count(*) FROM records WHERE pending")[0]
        deep_pending = first_row("SELECT recorded_dt, id FROM records WHERE pending ORDER BY recorded_dt, id "
                                 "OFFSET :o LIMIT 1", o=max(pending_total - 60, 0))
        review_after = f"{deep_pending[0].isoformat()}_{deep_pending[1]}"
        deep_late = first_row("SELECT id FROM records WHERE recorded_by_id = :u AND late ORDER BY id DESC "
                              "OFFSET :o LIMIT 1", u=cw.id, o=max(pending_total // 2 - 60, 0))[0]
        deep_history = first_row("SELECT id FROM audit_entries WHERE household_id = :h "
                                 "AND action NOT LIKE '%.read' ORDER BY id DESC OFFSET :o LIMIT 1",
                                 h=long_id, o=HISTORY - 60)[0]
        overdue = first_row("SELECT count(*) FROM rectification_orders WHERE deadline < :t", t=TODAY)[0]
        deep_overdue = first_row("SELECT deadline, id FROM rectification_orders WHERE deadline < :t "
                                 "ORDER BY deadline, id OFFSET :o LIMIT 1", t=TODAY, o=max(overdue - 30, 0))
        overdue_after = f"{deep_overdue[0].isoformat()}_{deep_overdue[1]}" if deep_overdue else ""

        both = ("supervisor", "caseworker")
        pages = [  # (roles, label, url): every list as a supervisor (province) and a caseworker (Wuhan)
            (both, "watch list page 1", "/watch"),
            (both, "watch list deep (90 %)", f"/watch?after={watch_after}&page=1000"),
            (both, "watch list filtered (region, active)", "/watch?region=420102&status=active"),
            (both, "watch list, ended, reason expired", "/watch?status=ended&reason=expired"),
            (both, "watch list, ended (every reason)", "/watch?status=ended"),
            (both, "watch list API page 1", "/api/v1/watch-list"),
            (both, "watch list API deep", f"/api/v1/watch-list?after={watch_after}"),
            (both, "due page", "/due"),
            (both, "due page, last overdue orders (cursor)", f"/due?overdue_orders={overdue_after}"),
            (both, "due API", "/api/v1/due"),
            (both, "archive list page 1", "/households"),
            (both, "archive list deep (90 %)", f"/households?after={deep_household}&page=10000"),
            (both, "archive search 张 (filtered)", "/households?q=%E5%BC%A0"),
            (both, "archive search API deep", f"/api/v1/households?q=%E5%BC%A0&after={deep_household}"),
            (("supervisor",), "review queue page 1 (supervisor and reviewer only)", "/review"),
            (("supervisor",), "review queue deep (last page)", f"/review?after={review_after}"),
            (both, "records overview", "/records/overview"),
            (both, "records overview deep", f"/records/overview?after={deep_late}"),
            (both, f"archive page, {HISTORY} changes", f"/households/{long_id}"),
            (both, "archive page, oldest changes", f"/households/{long_id}?before={deep_history}"),
            (both, "history API page 1", f"/api/v1/households/{long_id}/history"),
            (both, "history API deep", f"/api/v1/households/{long_id}/history?before={deep_history}"),
            (("supervisor",), "audit trail page 1 (supervisor and auditor only)", "/audit"),
            (both, "objections (open)", "/objections"),
            (both, "objections API", "/api/v1/objections"),
            (both, "credit repair (open)", "/repairs"),
            (both, "statistics, 12 months", "/stats"),
            (("supervisor",), "statistics, province, 5 years", "/stats?from=2021-07-01&to=2026-06-15"),
            (("supervisor",), "statistics, one county (filtered)", "/stats?region=420102"),
            (("supervisor",), "statistics export (.xlsx), province", "/stats/export.xlsx"),
        ]
        clients = {}
        for who, user in (("supervisor", sup), ("caseworker", cw)):
            c = app.test_client()
            login(c, user.username)
            clients[who] = c

        def getter(who: str, path: str):
            """The API with the role's bearer token, pages with its logged-in session."""
            client = clients[who]
            if not path.startswith("/api/"):
                return client.get
            headers = {"Authorization": f"Bearer {tokens[sup.username if who == 'supervisor' else cw.username]}"}
            return lambda p: client.get(p, headers=headers)

        print(f"\n{n} households · {pending_total} pending · {overdue} orders past their deadline\n")
        chosen = [((label, who), path, getter(who, path)) for roles, label, path in pages if args.only in label
                  for who in roles]
        time_pages(url, chosen, db.engine, columns=("page", "role"), runs=RUNS, profile=args.profile)


if __name__ == "__main__":
    main()
