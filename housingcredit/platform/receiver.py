"""The reference receiver (参考接收端): a small WSGI app standing in for the provincial credit platform.

`flask platform receiver [--port 5055]` runs it; tests start it with werkzeug's `make_server` on 127.0.0.1.

    POST /v1/messages   {"messages": [PlatformMessage, …]} signed (signing.py) → 200 {"results": [answer, …]}
    GET  /v1/holdings   signed → {"holdings": [{idempotency_key, stream, seq, kind, status, disclose, arrival}]}
                        in arrival order (optional ?stream=)
    GET|POST /admin/faults   (loopback only) read or set the faults below; POST /admin/reset clears them

It checks the signature and the replay window (401 otherwise), stores each message once in its own SQLite file
and answers idempotently: the same idempotency key gets the same stored answer, and is stored once. A message
lacking a required item is rejected alone (`status: rejected`, not stored). Faults, set by the admin endpoint or
the env `HC_RECEIVER_FAULTS` (JSON): `fail` (the next n requests answer 500), `delay` (seconds before each answer),
`hang` (the next n requests wait `hang_seconds` — beyond the sender's timeout — then are processed),
`lose_answer` (the next n requests are stored, then answered 500), `twice` (the next n answers carry every
result twice), `reject` (idempotency keys → how many times to reject each as a data error), `reject_next` (the
next n messages are rejected).
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable

from flask import Flask, jsonify, request

from . import signing

REQUIRED = ("idempotency_key", "stream", "seq", "kind", "status", "disclose", "schema_version")
COUNTED = ("fail", "hang", "lose_answer", "twice", "reject_next")


class Store:
    """The receiver's holdings in one SQLite file: each idempotency key once, with its answer."""

    def __init__(self, path: str):
        self.path = path
        self.lock = threading.Lock()
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("CREATE TABLE IF NOT EXISTS holdings (arrival INTEGER PRIMARY KEY AUTOINCREMENT, "
                          "idempotency_key TEXT UNIQUE NOT NULL, stream TEXT NOT NULL, seq INTEGER NOT NULL, "
                          "kind TEXT, status TEXT, disclose INTEGER, message TEXT NOT NULL, answer TEXT NOT NULL)")

    def answers(self, keys: list[str]) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for i in range(0, len(keys), 500):
            part = keys[i:i + 500]
            marks = ",".join("?" * len(part))
            rows = self.conn.execute(f"SELECT idempotency_key, answer FROM holdings WHERE idempotency_key IN ({marks})",
                                     part)
            out.update({k: json.loads(a) for k, a in rows})
        return out

    def add(self, rows: list[tuple]) -> None:
        self.conn.execute("BEGIN")
        try:
            self.conn.executemany("INSERT INTO holdings (idempotency_key, stream, seq, kind, status, disclose, "
                                  "message, answer) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            self.conn.execute("COMMIT")
        except Exception:
            self.conn.execute("ROLLBACK")
            raise

    def holdings(self, stream: str | None = None) -> list[dict]:
        sql = "SELECT arrival, idempotency_key, stream, seq, kind, status, disclose FROM holdings"
        args: tuple = ()
        if stream:
            sql, args = sql + " WHERE stream = ?", (stream,)
        rows = self.conn.execute(sql + " ORDER BY arrival", args).fetchall()
        return [{"arrival": a, "idempotency_key": k, "stream": s, "seq": q, "kind": kd, "status": st,
                 "disclose": bool(d)} for a, k, s, q, kd, st, d in rows]

    def message(self, key: str) -> dict | None:
        row = self.conn.execute("SELECT message FROM holdings WHERE idempotency_key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None


class Faults:
    def __init__(self, initial: dict | None = None):
        self.lock = threading.Lock()
        self.state: dict = {}
        self.set(initial or {})

    def set(self, values: dict) -> None:
        with self.lock:
            self.state.update(values)

    def reset(self) -> None:
        with self.lock:
            self.state = {}

    def take(self, name: str) -> bool:
        """Use one count of a counted fault; True when it applies to this request."""
        with self.lock:
            n = int(self.state.get(name) or 0)
            if n > 0:
                self.state[name] = n - 1
                return True
            return False

    def reject(self, key: str) -> bool:
        with self.lock:
            rej = self.state.get("reject") or {}
            if int(rej.get(key) or 0) > 0:
                rej[key] = int(rej[key]) - 1
                return True
            n = int(self.state.get("reject_next") or 0)
            if n > 0:
                self.state["reject_next"] = n - 1
                return True
            return False

    def snapshot(self) -> dict:
        with self.lock:
            return json.loads(json.dumps(self.state))


def create_receiver(db_path: str, secret: str, *, window: int = 300, now: Callable[[], float] = time.time,
                    faults: dict | None = None) -> Flask:
    app = Flask("housingcredit_receiver")
    env = os.environ.get("HC_RECEIVER_FAULTS")
    store = Store(db_path)
    app.extensions["store"] = store
    app.extensions["faults"] = flt = Faults({**(json.loads(env) if env else {}), **(faults or {})})

    def refused():
        why = signing.check(secret, request.method, request.path, request.headers.get(signing.TS_HEADER),
                            request.headers.get(signing.SIG_HEADER), request.get_data(), now(), window)
        if why:
            return jsonify({"error": why}), 401
        return None

    def loopback_only():
        if request.remote_addr not in ("127.0.0.1", "::1", None):
            return jsonify({"error": "forbidden"}), 403
        return None

    @app.post("/v1/messages")
    def messages():
        if (bad := refused()) is not None:
            return bad
        state = flt.snapshot()
        if state.get("delay"):
            time.sleep(float(state["delay"]))
        if flt.take("fail"):
            return jsonify({"error": "unavailable"}), 500
        hang = flt.take("hang")
        try:
            batch = json.loads(request.get_data())
            items = batch["messages"]
            assert isinstance(items, list)
        except (ValueError, KeyError, TypeError, AssertionError):
            return jsonify({"error": "malformed"}), 400
        with store.lock:
            keys = [m.get("idempotency_key") for m in items if isinstance(m, dict)]
            known = store.answers([k for k in keys if isinstance(k, str)])
            results, new_rows = [], []
            for m in items:
                key = m.get("idempotency_key") if isinstance(m, dict) else None
                if key in known:
                    results.append(known[key])
                    continue
                missing = [f for f in REQUIRED if not isinstance(m, dict) or m.get(f) is None]
                if missing or flt.reject(key):
                    results.append({"idempotency_key": key, "status": "rejected", "receipt": None,
                                    "code": "invalid_data",
                                    "message": "missing: " + ", ".join(missing) if missing else "refused"})
                    continue
                answer = {"idempotency_key": key, "status": "accepted", "receipt": "R-" + key[:16], "code": None,
                          "message": None}
                known[key] = answer
                new_rows.append((key, str(m["stream"]), int(m["seq"]), m.get("kind"), m.get("status"),
                                 1 if m.get("disclose") else 0, json.dumps(m, ensure_ascii=False),
                                 json.dumps(answer)))
                results.append(answer)
            if new_rows:
                store.add(new_rows)
        if hang:
            time.sleep(float(state.get("hang_seconds") or 5))
        if flt.take("lose_answer"):
            return jsonify({"error": "lost"}), 500
        if flt.take("twice"):
            results = [r for r in results for _ in (0, 1)]
        return jsonify({"results": results})

    @app.get("/v1/holdings")
    def holdings():
        if (bad := refused()) is not None:
            return bad
        return jsonify({"holdings": store.holdings(request.args.get("stream"))})

    @app.route("/admin/faults", methods=["GET", "POST"])
    def admin_faults():
        if (bad := loopback_only()) is not None:
            return bad
        if request.method == "POST":
            flt.set(request.get_json(force=True) or {})
        return jsonify(flt.snapshot())

    @app.post("/admin/reset")
    def admin_reset():
        if (bad := loopback_only()) is not None:
            return bad
        flt.reset()
        return jsonify({})

    return app
