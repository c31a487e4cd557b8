"""Fixtures: one migrated database per session (SQLite, or TEST_DATABASE_URL), emptied after every test."""
from __future__ import annotations

import os
import tempfile
from datetime import date

import pytest
import sqlalchemy as sa

from housingcredit import create_app
from housingcredit.clock import FixedClock
from housingcredit.extensions import db, limiter

from . import factories
from .strict_client import StrictClient

_TMP = tempfile.mkdtemp(prefix="hc-test-")


def pytest_sessionstart(session):
    """The build step a test run needs: compile the catalogues, as ./manage.sh does (the app never does)."""
    from housingcredit import ROOT
    from housingcredit.i18n import ensure_compiled
    ensure_compiled(ROOT / "translations")


def database_url() -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{_TMP}/test.db"


def is_postgres() -> bool:
    return database_url().startswith("postgresql")


def _config(**extra) -> dict:
    cfg = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url(), "SECRET_KEY": "test-secret",
           "EVIDENCE_DIR": os.path.join(_TMP, "evidence"),
           "AUDIT_CHECKPOINT_FILE": os.path.join(_TMP, "audit-checkpoints.jsonl"),
           "RATELIMIT_ENABLED": True,
           # Scenarios here run a household's history over years on one API token; the 90-day lifetime of
           # settings.toml is held by tests/accounts/test_staff_admin.py, which sets it back.
           "API_TOKEN_DAYS": 3650,
           "SERVER_NAME": None}
    cfg.update(extra)
    return cfg


@pytest.fixture(scope="session")
def _migrated():
    """Upgrade an empty database to head once; every test starts from it."""
    from flask_migrate import upgrade
    app = create_app(_config())
    with app.app_context():
        if is_postgres():
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
        upgrade()
        db.engine.dispose()
    yield


def _empty_all_tables():
    tables = [t for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("TRUNCATE " + ", ".join(t.name for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(t.delete())


@pytest.fixture
def clock():
    return FixedClock(date(2026, 6, 15))


@pytest.fixture
def app(_migrated, clock, tmp_path):
    # signed audit checkpoints per test: the tables are emptied after every test, the checkpoints with them
    app = create_app(_config(AUDIT_CHECKPOINT_FILE=str(tmp_path / "audit-checkpoints.jsonl")))
    app.extensions["clock"] = clock
    app.test_client_class = StrictClient
    limiter.reset()
    with app.app_context():
        yield app
        db.session.remove()
        _empty_all_tables()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    return factories.make_user


@pytest.fixture
def make_household(app):
    return factories.make_household


def login(client, user, password=factories.PASSWORD):
    """Log a staff user or a household into the test client through the real login form."""
    from housingcredit.accounts.models import Role
    client.get("/login")
    token = factories.csrf_token(client)
    if user.role == Role.household:
        data = {"mode": "household", "hh-id_number": user.household.head.id_number, "hh-password": password,
                "hh-csrf_token": token}
    else:
        data = {"mode": "staff", "staff-username": user.username, "staff-password": password,
                "staff-csrf_token": token}
    resp = client.post("/login", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return client


@pytest.fixture
def login_as(client):
    def _login(user):
        return login(client, user)
    return _login


@pytest.fixture
def api_client(app):
    """A client whose requests carry a bearer token for the given staff user."""
    from housingcredit.accounts import service

    class _ApiClient:
        def __init__(self, user):
            self.token = service.create_token(user, "test")
            db.session.commit()
            self.client = app.test_client()

        def _h(self, kw):
            kw.setdefault("headers", {})["Authorization"] = f"Bearer {self.token}"
            return kw

        def get(self, url, **kw):
            return self.client.get(url, **self._h(kw))

        def post(self, url, **kw):
            return self.client.post(url, **self._h(kw))

        def put(self, url, **kw):
            return self.client.put(url, **self._h(kw))

        def patch(self, url, **kw):
            return self.client.patch(url, **self._h(kw))

        def delete(self, url, **kw):
            return self.client.delete(url, **self._h(kw))

    return _ApiClient
