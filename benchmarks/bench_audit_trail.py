"""Benchmark: the audit trail page's searches and its "verify the chain" button over a long trail (issue 18).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_audit .venv/bin/python benchmarks/bench_audit_trail.py
    … --entries 200000     (a shorter trail)      … --skip-verify   (the page only)

The database is created when missing, emptied and migrated, then filled with COPY: ENTRIES audit entries over
400 days, a real keyed chain (HMAC under the app's AUDIT_KEY, so the verifier passes), 50 staff accounts acting
(one rare actor with 1 in 2,000 entries), 20 households, one rare action (1 in 5,000). Then ANALYZE.

Logged in as a provincial auditor through the real login form, it times each search of /audit — the first page,
a deep page, by actor (a rare one), by action (a rare one), by a day a year ago, by household, actor and dates
together — median of 5 after a warm-up, in-process (Flask test client), beside the same SELECTs replayed through
bare psycopg. Then the verifier once each way: the button (POST /audit/verify answers at once; its run goes on in
a thread, timed from the click until the polled progress says it is done), `audit.service.verify()` (as
`flask audit verify`), and a bare loop over psycopg rows with hmac. Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import random
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from benchmarks.common import (Capture, copy_rows, database_url, ensure_database, median_ms, move_sequences,  # noqa: E402
                               plain_url, raw_connection, replay, reset_schema)

PASSWORD = "correct-horse-9"
RUNS = 5
ACTIONS = ["household.read", "credit.read", "record.read", "household.update", "record.create", "login",
           "credit.check", "lists.read", "notice.issue", "watch.enter"]
RARE_ACTION = "record.revocation_decided"


def load(n: int, rng: random.Random, echo) -> dict:
    from housingcredit.accounts import service as accounts
    from housingcredit.accounts.models import Role
    from housingcredit.audit import service as audit
    from housingcredit.extensions import db
    from tests.factories import make_household

    started = time.perf_counter()
    accounts.create_staff("bench_auditor", "审计员", Role.auditor, "420000", PASSWORD, actor=(None, "bench"))
    staff = [accounts.create_staff(f"cw{k:02d}", f"经办人{k:02d}", Role.caseworker, "420100", PASSWORD,
                                   actor=(None, "bench")) for k in range(50)]
    db.session.commit()
    households = [make_household("420102", head_name="张三丰", actor=staff[0]).id for _ in range(20)]
    db.session.commit()
    base = db.session.scalar(sa.text("SELECT coalesce(max(id), 0) FROM audit_entries"))
    audit.chain_all()  # the app's own entries, read-logs too: the chain's head is then the newest place
    base_seq = db.session.scalar(sa.text("SELECT coalesce(max(seq), 0) FROM audit_entries"))
    prev = db.session.scalar(sa.text("SELECT hash FROM audit_entries WHERE seq IS NOT NULL "
                                "ORDER BY seq DESC LIMIT 1")) or audit.GENESIS
    key = audit._key()
    # plain values: the session's connection is busy with the COPY, so nothing may lazy-load while it runs
    staff = [(u.id, u.username) for u in staff]
    rare_actor = staff[-1]
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=400)
    step = timedelta(days=400) / n

    def rows():
        nonlocal prev
        for k in range(n):
            i = base + 1 + k
            if k % 2000 == 0:
                who = rare_actor
            else:
                who = staff[rng.randrange(len(staff) - 1)]
            action = RARE_ACTION if k % 5000 == 17 else ACTIONS[rng.randrange(len(ACTIONS))]
            hid = households[rng.randrange(len(households))] if k % 50 == 0 else None
            dt = start + step * k
            dt = dt.replace(microsecond=0)
            seq = base_seq + 1 + k  # the entry's place in the chain (hashed as "id")
            fields = {"id": seq, "dt": dt.isoformat(), "actor_id": who[0], "actor_label": who[1],
                      "action": action, "object_type": "household" if hid else "credit_state",
                      "object_id": str(hid) if hid else None, "household_id": hid,
                      "region_code": "420102", "before": None, "after": {"k": k}}
            digest = audit._digest(prev, fields, key)
            yield (i, dt, who[0], who[1], action, fields["object_type"], fields["object_id"], hid,
                   "420102", None, json.dumps(fields["after"]), seq, prev, digest)
            prev = digest

    copy_rows(raw_connection(db), "audit_entries",
              ("id", "dt", "actor_id", "actor_label", "action", "object_type", "object_id", "household_id",
               "region_code", "before", "after", "seq", "prev_hash", "hash"), rows())
    move_sequences(db, ("audit_entries",))
    db.session.commit()
    db.session.execute(sa.text("ANALYZE"))
    db.session.commit()
    echo(f"  {n} audit entries (keyed chain) loaded in {time.perf_counter() - started:.1f} s")
    return {"rare_actor": rare_actor[1], "household": households[3], "first": base + 1, "last": base + n,
            "start": start}


def login(client, username: str) -> None:
    from flask import g
    g.pop("csrf_token", None)
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="staff-csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    resp = client.post("/login", data={"mode": "staff", "staff-username": username, "staff-password": PASSWORD,
                                       "staff-csrf_token": token})
    assert resp.status_code == 302, resp.status_code


def bare_verify(url: str, key: bytes) -> int:
    """The verifier's work without the app: walk the rows in place order (`seq`) and recompute each HMAC."""
    from housingcredit.audit.service import GENESIS, _body
    prev, checked = GENESIS, 0
    with psycopg.connect(url) as conn, conn.cursor(name="walk") as cur:
        cur.itersize = 5000
        cur.execute("SELECT seq, dt, actor_id, actor_label, action, object_type, object_id, household_id, "
                    "region_code, before, after, prev_hash, hash FROM audit_entries WHERE seq IS NOT NULL "
                    "ORDER BY seq")
        for (i, dt, actor_id, label, action, otype, oid, hid, region, before, after, prev_hash, digest) in cur:
            fields = {"id": i, "dt": (dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)).isoformat(),
                      "actor_id": actor_id, "actor_label": label, "action": action, "object_type": otype,
                      "object_id": oid, "household_id": hid, "region_code": region, "before": before,
                      "after": after}
            if prev_hash != prev or not hmac.compare_digest(
                    hmac.new(key, _body(prev, fields), hashlib.sha256).hexdigest(), digest):
                break
            prev, checked = digest, checked + 1
    return checked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--skip-verify", action="store_true")
    args = parser.parse_args()
    url = database_url(message="DATABASE_URL must point to a PostgreSQL database this benchmark may empty")
    ensure_database(url)

    from housingcredit import create_app
    from housingcredit.audit import service as audit
    from housingcredit.extensions import db
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
                      "WTF_CSRF_ENABLED": True, "AUDIT_CHECKPOINT_FILE": "/tmp/bench-audit-checkpoints.jsonl"})
    Path("/tmp/bench-audit-checkpoints.jsonl").unlink(missing_ok=True)
    echo = print
    with app.app_context():
        reset_schema(db, quiet=True)
        data = load(args.entries, random.Random(args.seed), echo)
        capture = Capture(db.engine)
        client = app.test_client()
        login(client, "bench_auditor")
        year_ago = (data["start"] + timedelta(days=35)).date().isoformat()
        searches = {
            "first page": "/audit",
            "deep page (middle of the trail)": f"/audit?before={(data['first'] + data['last']) // 2}",
            "by actor (1 in 2,000 entries)": f"/audit?actor={data['rare_actor']}",
            "by action (1 in 5,000 entries)": f"/audit?action={RARE_ACTION}",
            "by one day a year ago": f"/audit?from={year_ago}&to={year_ago}",
            "by household": f"/audit?household={data['household']}",
            "actor + 30 days": f"/audit?actor={data['rare_actor']}&from={year_ago}&to="
                               f"{(data['start'] + timedelta(days=65)).date().isoformat()}",
        }
        print(f"\naudit trail page, {args.entries:,} entries, median of {RUNS} (ms): app | bare psycopg")
        with psycopg.connect(plain_url(url)) as conn:
            for label, path in searches.items():
                assert client.get(path).status_code == 200
                times, statements = [], []
                for _ in range(RUNS):
                    capture.statements = []
                    capture.on = True
                    t = time.perf_counter()
                    resp = client.get(path)
                    times.append(time.perf_counter() - t)
                    capture.on = False
                    statements = list(capture.statements)
                    assert resp.status_code == 200
                bare = []
                for _ in range(RUNS):
                    t = time.perf_counter()
                    replay(conn, statements)
                    bare.append(time.perf_counter() - t)
                rows = len(re.findall(r"<tr><td>\d+</td>", resp.get_data(as_text=True)))
                print(f"  {label:34s} {median_ms(times):8.1f} | {median_ms(bare):7.1f}   "
                      f"({rows} rows, {len(statements)} SELECTs)")
        if args.skip_verify:
            return
        print(f"\nverify the chain, {args.entries:,} entries, once each (s); load average "
              f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}:")
        page = client.get("/audit").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        t = time.perf_counter()
        resp = client.post("/audit/verify", data={"csrf_token": token})  # starts the run in a thread, returns
        answered = time.perf_counter() - t
        assert resp.status_code == 303, resp.status_code
        vid = int(re.search(r'/audit/verifications/(\d+)"', client.get("/audit").get_data(as_text=True)).group(1))
        polls = 0
        while True:  # as the page does (every 2 s there): until the run is done
            state = client.get(f"/audit/verifications/{vid}").get_json()
            polls += 1
            if state["state"] != "running":
                break
            time.sleep(0.5)
        web = time.perf_counter() - t
        ok = 'data-ok="1"' in client.get("/audit").get_data(as_text=True)
        t = time.perf_counter()
        result = audit.verify()
        service = time.perf_counter() - t
        db.session.rollback()
        key = app.config["AUDIT_KEY"].encode()
        t = time.perf_counter()
        checked = bare_verify(plain_url(url), key)
        bare = time.perf_counter() - t
        print(f"  the button answers (POST → 303)    {answered:8.3f}")
        print(f"  its background run, click to answer {web:7.1f}   intact: {ok}, {state['checked']:,} entries, "
              f"{polls} polls of its progress")
        print(f"  audit.service.verify()             {service:8.1f}   intact: {result.ok}, {result.checked:,} entries")
        print(f"  bare psycopg + hmac loop           {bare:8.1f}   {checked:,} entries")

if __name__ == "__main__":
    main()
