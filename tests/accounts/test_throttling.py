"""Hardening — login throttling counts failures per account and per client address in a store all workers share;
the client address comes through a configured number of trusted proxies; household activation codes are kept
keyed (HMAC under the secret key) and allow a fixed number of wrong tries per account."""
from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from housingcredit import create_app
from housingcredit.accounts import service as accounts
from housingcredit.accounts.models import User
from housingcredit.extensions import db, limiter
from tests.conftest import _config
from tests.factories import PASSWORD, csrf_token, make_household, make_user
from tests.strict_client import StrictClient

REDIS_URI = "redis://127.0.0.1:6379/1"


def _staff_post(client, username, password, headers=None):
    data = {"mode": "staff", "staff-username": username, "staff-password": password,
            "staff-csrf_token": csrf_token(client)}
    return client.post("/login", data=data, headers=headers or {})


def _other_app(**cfg):
    other = create_app(_config(**cfg))
    other.test_client_class = StrictClient
    return other


def _dispose(other):
    with other.app_context():
        db.engine.dispose()


# ---- per account, per address ------------------------------------------------------------------------------

def test_hardening_failures_of_one_account_do_not_lock_out_a_colleague_at_the_same_address(app, client):
    app.config["RATELIMIT_LOGIN"] = "3 per minute"
    victim, colleague = make_user("caseworker", "420100"), make_user("caseworker", "420100")
    assert [_staff_post(client, victim.username, "wrong-password").status_code for _ in range(3)] == [401] * 3
    assert _staff_post(client, victim.username, PASSWORD).status_code == 429  # that account waits
    resp = _staff_post(client, colleague.username, PASSWORD)  # same address, right password: let in
    assert resp.status_code == 302


def test_hardening_a_correct_login_is_not_counted_as_a_failure(app, client):
    app.config["RATELIMIT_LOGIN"] = "2 per minute"
    user = make_user("caseworker", "420100")
    for _ in range(4):  # four good logins in a minute are fine
        assert _staff_post(client, user.username, PASSWORD).status_code == 302


def test_hardening_the_address_limit_stops_spraying_over_many_accounts(app, client):
    app.config["RATELIMIT_LOGIN_ADDRESS"] = "4 per minute"
    statuses = [_staff_post(client, f"nobody-{i}", "guess-1234").status_code for i in range(4)]
    assert statuses == [401] * 4
    assert _staff_post(client, "nobody-99", "guess-1234").status_code == 429


def test_hardening_household_logins_are_counted_per_id_number(app, client):
    app.config["RATELIMIT_LOGIN"] = "2 per minute"
    from tests.factories import make_household_user
    user = make_household_user(make_household("420102"))
    number = user.household.head.id_number

    def post(password):
        return client.post("/login", data={"mode": "household", "hh-id_number": number, "hh-password": password,
                                           "hh-csrf_token": csrf_token(client)})
    assert [post("wrong-pass-1").status_code for _ in range(2)] == [401, 401]
    assert post(PASSWORD).status_code == 429


# ---- trusted proxies -----------------------------------------------------------------------------------------

def test_hardening_client_address_comes_from_the_trusted_proxy_count(app):
    make_user("caseworker", "420100")
    proxied = _other_app(TRUSTED_PROXIES=1, RATELIMIT_LOGIN_ADDRESS="2 per minute")
    try:
        with proxied.app_context():
            limiter.reset()
            c = proxied.test_client()
            spoof = {"X-Forwarded-For": "203.0.113.7"}
            assert [_staff_post(c, f"x{i}", "guess-1234", spoof).status_code for i in range(2)] == [401, 401]
            assert _staff_post(c, "x9", "guess-1234", spoof).status_code == 429
            # Another client behind the same proxy has its own count.
            assert _staff_post(c, "x9", "guess-1234", {"X-Forwarded-For": "198.51.100.2"}).status_code == 401
    finally:
        _dispose(proxied)
    direct = _other_app(RATELIMIT_LOGIN_ADDRESS="2 per minute")  # TRUSTED_PROXIES = 0: the header is ignored
    try:
        with direct.app_context():
            limiter.reset()
            c = direct.test_client()
            assert _staff_post(c, "y1", "guess-1234", {"X-Forwarded-For": "203.0.113.1"}).status_code == 401
            assert _staff_post(c, "y2", "guess-1234", {"X-Forwarded-For": "203.0.113.2"}).status_code == 401
            assert _staff_post(c, "y3", "guess-1234", {"X-Forwarded-For": "203.0.113.3"}).status_code == 429
    finally:
        _dispose(direct)


# ---- a store all workers share ---------------------------------------------------------------------------------

def _redis_or_skip():
    redis = pytest.importorskip("redis")
    try:
        client = redis.Redis.from_url(REDIS_URI)
        client.ping()
    except redis.exceptions.RedisError:
        pytest.skip("no Redis at " + REDIS_URI)
    return client


def test_hardening_login_failures_are_shared_through_redis(app):
    store = _redis_or_skip()
    store.flushdb()
    # Read before another app's context is pushed: touching the fixture app's objects there would load them
    # through the other app's engine and leave that connection in the fixture's session.
    username = make_user("caseworker", "420100").username
    try:
        first = _other_app(RATELIMIT_STORAGE_URI=REDIS_URI, RATELIMIT_LOGIN="2 per minute")
        try:
            with first.app_context():
                c = first.test_client()
                assert [_staff_post(c, username, "wrong-1234").status_code for _ in range(2)] == [401, 401]
        finally:
            _dispose(first)
        assert store.dbsize() > 0
        # Another worker (a new app, a new connection to the store) sees the same count.
        second = _other_app(RATELIMIT_STORAGE_URI=REDIS_URI, RATELIMIT_LOGIN="2 per minute")
        try:
            with second.app_context():
                assert _staff_post(second.test_client(), username, PASSWORD).status_code == 429
        finally:
            _dispose(second)
    finally:
        store.flushdb()


def test_hardening_memory_store_stays_the_development_default(app):
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert app.config["TRUSTED_PROXIES"] == 0


# ---- activation codes ------------------------------------------------------------------------------------------

def test_hardening_activation_code_is_stored_keyed_not_as_plain_sha256(app):
    household = make_household("420102")
    code = accounts.issue_activation_code(household, make_user("caseworker", "420102"))
    db.session.commit()
    stored = db.session.scalar(sa.select(User.activation_hash).where(User.household_id == household.id))
    assert stored != hashlib.sha256(code.encode()).hexdigest()
    assert len(stored) == 64
    # Keyed by the secret key: under another key the same code does not match.
    app.config["SECRET_KEY"] = "another-secret-key"
    with pytest.raises(accounts.ActivationRefused):
        accounts.activate_household(household.head.id_number, code, "new-password-1")
    db.session.rollback()
    app.config["SECRET_KEY"] = "test-secret"
    assert accounts.activate_household(household.head.id_number, code, "new-password-1").password_hash


def test_hardening_activation_code_is_void_after_five_wrong_tries(app, client):
    household = make_household("420102")
    code = accounts.issue_activation_code(household, make_user("caseworker", "420102"))
    db.session.commit()
    wrong = "00000000" if code != "00000000" else "11111111"

    def post(value):
        client.get("/activate")
        return client.post("/activate", data={"id_number": household.head.id_number, "code": value,
                                              "password": "new-password-1", "csrf_token": csrf_token(client)})
    assert [post(wrong).status_code for _ in range(5)] == [422] * 5
    user = db.session.scalar(sa.select(User).where(User.household_id == household.id))
    assert user.activation_attempts == 5 and user.activation_hash is None
    resp = post(code)  # even the right code is refused now: a new one must be issued
    assert resp.status_code == 422 and user.password_hash is None
    code = accounts.issue_activation_code(household, make_user("caseworker", "420102"))
    db.session.commit()
    assert post(code).status_code == 302


def test_hardening_a_few_wrong_codes_then_the_right_one_activates(app, client):
    household = make_household("420102")
    code = accounts.issue_activation_code(household, make_user("caseworker", "420102"))
    db.session.commit()
    wrong = "00000000" if code != "00000000" else "11111111"
    for _ in range(4):
        with pytest.raises(accounts.ActivationRefused):
            accounts.activate_household(household.head.id_number, wrong, "new-password-1")
        db.session.commit()
    assert accounts.activate_household(household.head.id_number, code, "new-password-1").activation_attempts == 0
