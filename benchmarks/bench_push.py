"""Benchmark: the push to the provincial platform (issue 17).

    .venv/bin/python benchmarks/bench_push.py [--messages 100000] [--streams 20000]
    DATABASE_URL=postgresql://… .venv/bin/python benchmarks/bench_push.py   (else a throwaway SQLite file)

Queues `--messages` outbox messages over `--streams` streams (5 per stream by default, interleaved as requests
would queue them), starts the reference receiver on 127.0.0.1 (werkzeug, threaded, its own SQLite file) and drains
the outbox with `sender.push()` (claims, signed batch requests of PLATFORM_BATCH, answers recorded) until every
message is acknowledged. Compared with the bare library: httpx posting the same bodies, signed, to a fresh
receiver. Also the cost of queueing one message inside a request's transaction (`service.enqueue` + flush).
Targets: drain < 60 s; enqueue < 2 ms. Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import sqlalchemy as sa
from werkzeug.serving import make_server

SECRET = "bench-secret"


def serve(path):
    from housingcredit.platform.receiver import create_receiver
    wsgi = create_receiver(path, SECRET)
    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--streams", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=500)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="hc-bench-push-")
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
    from flask_migrate import upgrade

    from housingcredit import create_app
    from housingcredit.clock import SystemClock
    from housingcredit.extensions import db
    from housingcredit.platform import sender, service
    from housingcredit.platform.models import OutboxEvent
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "PLATFORM_SECRET": SECRET, "PLATFORM_BATCH": args.batch})
    app.extensions["clock"] = SystemClock()
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public"))
        upgrade()
        now = SystemClock().now_utc()
        body = {"region_code": "420102", "subject": {"name": "张三丰", "id_number": "420102198503070011"},
                "list": "watch", "status": "entered", "start": "2026-06-01", "until": "2027-06-01", "end": None,
                "reason": None, "disclose": True}
        rows = [{"household_id": None, "stream": f"b{i % args.streams}", "seq": i // args.streams + 1,
                 "kind": "watch_list.changed", "payload": body, "created_dt": now, "attempts": 0, "rejections": 0,
                 "status": "pending", "idempotency_key": uuid.uuid4().hex} for i in range(args.messages)]
        t0 = time.perf_counter()
        for i in range(0, len(rows), 10_000):
            db.session.execute(sa.insert(OutboxEvent), rows[i:i + 10_000])
        db.session.commit()
        print(f"queued {args.messages:,} messages over {args.streams:,} streams in bulk "
              f"({time.perf_counter() - t0:.1f} s, setup only)")

        # the cost of one message queued during a request: enqueue + flush in the request's transaction
        costs = []
        for i in range(500):
            t = time.perf_counter()
            service.enqueue(None, "watch_list.changed", body, stream=f"req{i % 50}")
            costs.append((time.perf_counter() - t) * 1000)
            if i % 10 == 9:
                db.session.commit()
        db.session.commit()
        print(f"enqueue one message: median {statistics.median(costs):.2f} ms, "
              f"p95 {sorted(costs)[int(len(costs) * .95)]:.2f} ms (target < 2 ms)")

        server, base = serve(os.path.join(tmp, "receiver.db"))
        app.config["PLATFORM_URL"] = base
        total = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEvent))
        t0 = time.perf_counter()
        requests = 0
        while True:
            r = sender.push()
            requests += r["requests"]
            if r["requests"] == 0:
                break
        took = time.perf_counter() - t0
        acked = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEvent)
                                  .where(OutboxEvent.status == "acknowledged"))
        print(f"drain: {acked:,}/{total:,} acknowledged in {took:.1f} s ({requests} requests, "
              f"{acked / took:,.0f} msg/s) (target < 60 s)")
        server.shutdown()

        # the bare library: httpx posting the same bodies (built once, signed), to a fresh receiver
        from housingcredit.platform import payload, signing
        events = db.session.scalars(sa.select(OutboxEvent).order_by(OutboxEvent.seq, OutboxEvent.id)).all()
        msgs = [payload.build(e) for e in events]
        bodies = [json.dumps({"messages": msgs[i:i + args.batch]}, ensure_ascii=False,
                             separators=(",", ":")).encode() for i in range(0, len(msgs), args.batch)]
        server, base = serve(os.path.join(tmp, "receiver-bare.db"))
        t0 = time.perf_counter()
        with httpx.Client(base_url=base, timeout=30) as client:
            for b in bodies:
                ts = int(time.time())
                client.post("/v1/messages", content=b, headers=signing.headers(SECRET, "POST", "/v1/messages", ts, b))
        bare = time.perf_counter() - t0
        print(f"bare httpx, same {len(bodies)} bodies: {bare:.1f} s; the sender's overhead (claims, payloads, "
              f"answers recorded): {took - bare:.1f} s")
        server.shutdown()


if __name__ == "__main__":
    main()
