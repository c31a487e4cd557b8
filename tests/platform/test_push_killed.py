"""Issue 17 / SPEC §10: the sender process killed with SIGKILL mid-batch loses nothing and sends nothing twice.

The sender runs as its own process (`flask platform push --once`, as in production) against the test database and a
reference receiver over real HTTP on loopback; the receiver holds its answer to the second request for a while and
the process is killed in that window. A sender started afterwards finishes the work: the receiver holds every message
once, in order per household, and reconciliation finds no difference.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from housingcredit import ROOT
from housingcredit.clock import SystemClock
from housingcredit.extensions import db
from housingcredit.platform import sender
from housingcredit.platform.models import OutboxEvent
from housingcredit.platform.receiver import create_receiver
from tests.conftest import database_url

from .conftest import SECRET
from .test_push import _assert_exact, _queue

LEASE = 3


class _LiveReceiver:
    """The reference receiver on real time (the sender process signs with the real clock)."""

    def __init__(self, path):
        self.wsgi = create_receiver(path, SECRET, now=time.time)
        self.server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def faults(self, **values):
        self.wsgi.extensions["faults"].set(values)

    def holdings(self):
        return self.wsgi.extensions["store"].holdings()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def _count(status: str) -> int:
    with db.engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(OutboxEvent).where(OutboxEvent.status == status))


def _wait(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def live_receiver(app, tmp_path):
    r = _LiveReceiver(str(tmp_path / "receiver.db"))
    app.extensions["clock"] = SystemClock()
    app.config.update(PLATFORM_URL=r.url, PLATFORM_SECRET=SECRET, PLATFORM_TIMEOUT=10.0, PLATFORM_BATCH=3,
                      PLATFORM_BACKOFF_SECONDS=1, PLATFORM_LEASE_SECONDS=LEASE)
    yield r
    r.stop()


def test_issue17_sender_process_sigkilled_mid_batch_loses_nothing(app, live_receiver, tmp_path):
    _queue(households=7, per=2)  # 7 streams of 2: requests of 3, 3 and 1 streams' heads
    db.session.commit()
    live_receiver.faults(delay=1.5)  # every answer comes late: the kill lands while request 2 waits for its answer
    url = database_url()
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    env = {**os.environ, "DATABASE_URL": url, "HOUSINGCREDIT_INSTANCE": str(tmp_path / "instance"),
           "HOUSINGCREDIT_PLATFORM_URL": live_receiver.url, "HOUSINGCREDIT_PLATFORM_SECRET": SECRET,
           "HOUSINGCREDIT_PLATFORM_BATCH": "3", "HOUSINGCREDIT_PLATFORM_TIMEOUT": "10",
           "HOUSINGCREDIT_PLATFORM_LEASE_SECONDS": str(LEASE), "HOUSINGCREDIT_PLATFORM_BACKOFF_SECONDS": "1",
           "HOUSINGCREDIT_SCHEDULER_ENABLED": "false"}
    log = tmp_path / "sender.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "platform", "push", "--once"],
                                cwd=str(ROOT), env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait(lambda: _count("acknowledged") == 3 or proc.poll() is not None, 60, "the first request's answer")
        assert proc.poll() is None, log.read_text(errors="replace")
        time.sleep(0.5)  # request 2 is claimed and on the wire; its answer is 1 s away
        assert _count("sent") >= 3
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    assert _count("acknowledged") == 3  # nothing recorded after the kill
    live_receiver.faults(delay=0)
    _wait(lambda: len(live_receiver.holdings()) == 6, 10, "the receiver to store request 2")  # it did arrive

    # A new sender: what was acknowledged is not sent again; the lost answer's claim is re-sent after its lease
    # under the same idempotency keys and stored once.
    deadline = time.monotonic() + 60
    while _count("acknowledged") < 14 and time.monotonic() < deadline:
        sender.push()
        db.session.commit()
        time.sleep(0.3)
    statuses = db.session.scalars(sa.select(OutboxEvent.status)).all()
    assert statuses and all(s == "acknowledged" for s in statuses), statuses
    _assert_exact(live_receiver)
