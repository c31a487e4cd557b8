"""Security guarantees of the foundation: secrets, password storage, login throttling, CSRF, cookies, and no
resident ID number in logs or in the audit trail (SPEC §11, HB 八)."""
from __future__ import annotations

import json
import logging
import re
import threading
from datetime import date

import httpx
import pytest
import sqlalchemy as sa
from werkzeug.security import check_password_hash
from werkzeug.serving import make_server

from housingcredit import create_app
from housingcredit.accounts import service as accounts
from housingcredit.audit.models import AuditEntry
from housingcredit.extensions import db
from housingcredit.logging_filters import mask_id_numbers
from tests.conftest import _config, login
from tests.factories import PASSWORD, csrf_token, id_number, make_household, make_household_user, make_user

RAW_ID = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")


def _masked(number: str) -> str:
    return number[:6] + "********" + number[-4:]


# ---- configuration -----------------------------------------------------------------------------------------

def test_production_refuses_to_start_without_a_secret_key(app, monkeypatch):
    monkeypatch.setenv("HOUSINGCREDIT_ENV_NAME", "production")
    monkeypatch.delenv("HOUSINGCREDIT_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": _config()["SQLALCHEMY_DATABASE_URI"]})
    # The development key does not count as a secret either.
    monkeypatch.setenv("HOUSINGCREDIT_SECRET_KEY", app.config["DEV_SECRET_KEY"])
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": _config()["SQLALCHEMY_DATABASE_URI"]})


def test_production_starts_with_a_secret_key_and_secure_cookies(app, monkeypatch):
    monkeypatch.setenv("HOUSINGCREDIT_ENV_NAME", "production")
    monkeypatch.setenv("HOUSINGCREDIT_SECRET_KEY", "a-real-secret-from-the-environment-0123456789")
    monkeypatch.setenv("HOUSINGCREDIT_AUDIT_KEY", "a-real-audit-key-from-the-environment-0123")
    prod = create_app({"SQLALCHEMY_DATABASE_URI": _config()["SQLALCHEMY_DATABASE_URI"]})
    assert prod.config["SECRET_KEY"] == "a-real-secret-from-the-environment-0123456789"
    assert prod.config["SESSION_COOKIE_SECURE"] and prod.config["REMEMBER_COOKIE_SECURE"]
    assert prod.config["SESSION_COOKIE_HTTPONLY"]


def test_development_is_not_marked_secure_so_local_http_works(app):
    assert app.config["ENV_NAME"] != "production"
    assert not app.config.get("SESSION_COOKIE_SECURE")


# ---- passwords -----------------------------------------------------------------------------------------------

def test_passwords_are_stored_only_as_slow_hashes(app):
    staff = make_user("caseworker", "420100", password="s3cret-Passw0rd")
    household_user = make_household_user(make_household("420102"), password="h0usehold-Pass")
    for user, password in ((staff, "s3cret-Passw0rd"), (household_user, "h0usehold-Pass")):
        row = db.session.execute(sa.text("SELECT * FROM users WHERE id = :id"), {"id": user.id}).mappings().one()
        assert row["password_hash"].split(":")[0] in ("scrypt", "pbkdf2")
        assert check_password_hash(row["password_hash"], password)
        assert not any(password in str(value) for value in row.values())
    assert accounts.authenticate_staff(staff.username, "s3cret-Passw0rd") == staff
    assert accounts.authenticate_staff(staff.username, "wrong-password") is None


def test_activation_code_and_api_token_are_stored_as_hashes_only(app):
    h = make_household("420102")
    code = accounts.issue_activation_code(h, make_user("caseworker", "420102"))
    raw_token = accounts.create_token(make_user("caseworker", "420100"), "client")
    db.session.commit()
    dump = json.dumps([dict(r) for r in db.session.execute(sa.text("SELECT * FROM users")).mappings()]
                      + [dict(r) for r in db.session.execute(sa.text("SELECT * FROM api_tokens")).mappings()],
                      default=str)
    assert code not in dump and raw_token not in dump


# ---- login throttling, CSRF, cookies ----------------------------------------------------------------------------

def _staff_post(client, username, password, token=True):
    data = {"mode": "staff", "staff-username": username, "staff-password": password}
    if token:
        data["staff-csrf_token"] = csrf_token(client)
    return client.post("/login", data=data)


def test_login_is_rate_limited_by_ratelimit_login(app, client):
    app.config["RATELIMIT_LOGIN"] = "3 per minute"
    user = make_user("caseworker", "420100")
    statuses = [_staff_post(client, user.username, "wrong-password").status_code for _ in range(3)]
    assert statuses == [401, 401, 401]
    blocked = _staff_post(client, user.username, PASSWORD)  # even the right password waits now
    assert blocked.status_code == 429
    assert client.get("/", follow_redirects=False).status_code == 302  # still not logged in


def test_default_login_limit_is_ten_a_minute(app, client):
    user = make_user("caseworker", "420100")
    assert [_staff_post(client, user.username, "nope-nope").status_code for _ in range(10)] == [401] * 10
    assert _staff_post(client, user.username, "nope-nope").status_code == 429


def test_household_activation_is_rate_limited_too(app, client):
    app.config["RATELIMIT_LOGIN"] = "2 per minute"
    for expected in (422, 422, 429):
        client.get("/activate")
        resp = client.post("/activate", data={"id_number": id_number(), "code": "00000000", "password": "whatever-1",
                                              "csrf_token": csrf_token(client)})
        assert resp.status_code == expected


def test_form_post_without_csrf_token_is_refused(app, client):
    user = make_user("caseworker", "420100")
    resp = _staff_post(client, user.username, PASSWORD, token=False)
    assert resp.status_code == 400
    assert client.get("/").status_code == 302  # not logged in


def test_logout_needs_csrf_and_cookie_api_writes_are_refused(app, client):
    user = make_user("caseworker", "420100")
    login(client, user)
    assert client.post("/logout").status_code == 400
    assert "/login" not in client.get("/").headers.get("Location", "")  # still logged in
    body = {"region_code": "420102", "address": "x", "protection_category": "physical",
            "members": [{"name": "甲", "id_number": id_number("420102"), "relation": "head"}]}
    # The API acts only for a bearer token: a logged-in browser's cookie write is refused (401), so it needs no CSRF.
    assert client.post("/api/v1/households", json=body).status_code == 401
    assert db.session.scalar(sa.text("SELECT count(*) FROM households")) == 0


def test_session_cookie_is_httponly_and_lax(app, client):
    resp = _staff_post(client, make_user("caseworker", "420100").username, PASSWORD)
    assert resp.status_code == 302
    cookie = next(v for k, v in resp.headers.items() if k == "Set-Cookie" and v.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # development over plain http


def test_session_cookie_is_secure_in_production(app, monkeypatch):
    monkeypatch.setenv("HOUSINGCREDIT_ENV_NAME", "production")
    monkeypatch.setenv("HOUSINGCREDIT_AUDIT_KEY", "a-real-audit-key-from-the-environment-0123")
    prod = create_app(_config(SECRET_KEY="production-secret-0123456789abcdef"))
    from tests.strict_client import StrictClient
    prod.test_client_class = StrictClient
    user = make_user("caseworker", "420100")
    client = prod.test_client()
    try:
        resp = _staff_post(client, user.username, PASSWORD)
    finally:
        with prod.app_context():
            db.engine.dispose()  # this app's own pool, or its connection outlives the test
    assert resp.status_code == 302
    cookie = next(v for k, v in resp.headers.items() if k == "Set-Cookie" and v.startswith("session="))
    assert "Secure" in cookie and "HttpOnly" in cookie


# ---- no ID number in logs -----------------------------------------------------------------------------------

def test_spec_11_mask_matches_the_disclosure_mask():
    from housingcredit.disclosure.masking import mask_id_number
    number = id_number("420102", date(1990, 1, 1))
    x_number = "11010519491231002X"
    text = f"id={number}&other={x_number} long=1234567890123456789012 short=12345"
    assert mask_id_numbers(text) == (f"id={mask_id_number(number)}&other={mask_id_number(x_number)}"
                                     " long=1234567890123456789012 short=12345")


def test_spec_11_request_lines_in_the_server_log_never_show_an_id_number(app, api_client, caplog):
    """A real werkzeug server logs its request lines; the query string's ID number comes out masked."""
    h = make_household("420102")
    number = h.head.id_number
    token = api_client(make_user("caseworker", "420100")).token
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.INFO, logger="werkzeug")
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as http:
            found = http.get("/api/v1/households", params={"q": number})
            http.get(f"/api/v1/credit-check?id_number={number}&business=allocation")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert found.status_code == 200 and [x["id"] for x in found.json()["items"]] == [h.id]
    request_lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug" and "GET /api/v1/" in r.getMessage()]
    assert len(request_lines) == 2
    assert all(_masked(number) in line for line in request_lines)
    assert number not in caplog.text
    assert not RAW_ID.search(caplog.text)


def test_spec_11_any_logger_masks_id_numbers_in_messages_and_tracebacks(app, caplog):
    number = id_number("420102", date(1990, 1, 1))
    caplog.set_level(logging.DEBUG)
    logging.getLogger("housingcredit.somewhere").warning("credit check for %s", number)
    logging.getLogger("gunicorn.access").info("%(r)s %(s)s", {"r": f"GET /api/v1/credit-check?id_number={number}",
                                                              "s": "200"})
    logging.getLogger("werkzeug").info('127.0.0.1 - - "%s" %s', f"GET /x?id={number} HTTP/1.1", 200)
    try:
        raise ValueError(f"duplicate key value ({number})")
    except ValueError:
        logging.getLogger("sqlalchemy.pool").exception("failed")
    app.logger.error("oops %s", number)
    assert number not in caplog.text
    assert caplog.text.count(_masked(number)) >= 5
    assert all(number not in (r.exc_text or "") for r in caplog.records)


def test_spec_11_filter_is_on_root_werkzeug_and_gunicorn_loggers(app):
    from housingcredit.logging_filters import IdNumberFilter
    for name in ("", "werkzeug", "gunicorn.error", "gunicorn.access"):
        assert sum(isinstance(f, IdNumberFilter) for f in logging.getLogger(name).filters) == 1, name
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "id %s", ("420102199001011234",), None)
    assert IdNumberFilter().filter(record) and record.getMessage() == "id 420102********1234"


# ---- no ID number in the audit trail ------------------------------------------------------------------------

def test_spec_11_audit_entries_of_create_and_edit_hold_no_raw_id_number(app, api_client):
    api = api_client(make_user("caseworker", "420100"))
    head, child = id_number("420102", date(1990, 1, 1)), id_number("420102", date(2015, 2, 2))
    body = {"region_code": "420102", "address": "江岸区1号", "protection_category": "physical",
            "members": [{"name": "甲", "id_number": head, "relation": "head"},
                        {"name": "乙", "id_number": child, "relation": "child"}]}
    archive = api.post("/api/v1/households", json=body).get_json()
    new_child = id_number("420102", date(2016, 3, 3))
    edit = {**body, "version": archive["version"], "address": "江岸区2号",
            "members": [{"id": archive["members"][0]["id"], "name": "甲", "id_number": head, "relation": "head"},
                        {"name": "丙", "id_number": new_child, "relation": "child"}]}
    assert api.put(f"/api/v1/households/{archive['id']}", json=edit).status_code == 200
    assert api.get(f"/api/v1/households/{archive['id']}").status_code == 200
    entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.household_id == archive["id"])).all()
    assert {e.action for e in entries} == {"household.create", "household.update", "household.read"}
    dump = json.dumps([{c.name: getattr(e, c.name) for c in AuditEntry.__table__.columns} for e in entries],
                      default=str, ensure_ascii=False)
    for number in (head, child, new_child):
        assert number not in dump
    assert not RAW_ID.search(dump)
    assert _masked(child) in dump and _masked(new_child) in dump  # the change itself is still visible
