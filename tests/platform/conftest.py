"""A reference receiver on 127.0.0.1 (port 0) in a thread, and the app pointed at it."""
from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from housingcredit.platform.receiver import create_receiver

SECRET = "test-platform-secret"


class Receiver:
    def __init__(self, app, tmp_path, clock):
        self.path = str(tmp_path / "receiver.db")
        self.wsgi = create_receiver(self.path, SECRET, now=lambda: clock.now_utc().timestamp())
        self.server = None
        self.port = 0
        self.start()

    def start(self):
        self.server = make_server("127.0.0.1", self.port, self.wsgi, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def faults(self, **values):
        self.wsgi.extensions["faults"].set(values)

    def holdings(self):
        return self.wsgi.extensions["store"].holdings()

    def message(self, key):
        return self.wsgi.extensions["store"].message(key)


@pytest.fixture
def receiver(app, tmp_path, clock):
    r = Receiver(app, tmp_path, clock)
    app.config.update(PLATFORM_URL=r.url, PLATFORM_SECRET=SECRET, PLATFORM_TIMEOUT=0.5, PLATFORM_BATCH=3,
                      PLATFORM_BACKOFF_SECONDS=30, PLATFORM_LEASE_SECONDS=120)
    yield r
    r.stop()
