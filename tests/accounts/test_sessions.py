"""Hardening — sessions: logging out, changing the password and deactivating an account end the sessions on the
server (a replayed cookie no longer works) and revoke the user's API tokens, in the same transaction."""
from __future__ import annotations

import re

import sqlalchemy as sa

from housingcredit.accounts import service as accounts
from housingcredit.accounts.models import ApiToken, User
from housingcredit.audit.models import AuditEntry
from housingcredit.errors import NotFound
from housingcredit.extensions import db
from tests.conftest import login
from tests.factories import PASSWORD, make_household, make_household_user, make_user

NEW_PASSWORD = "brand-new-pass-2026"


def _page_csrf(client, url="/households") -> str:
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _replay(app, cookie_value: str):
    """A fresh browser that only carries the saved session cookie."""
    other = app.test_client()
    other.set_cookie("session", cookie_value)
    return other


def _is_login_redirect(resp) -> bool:
    return resp.status_code == 302 and "/login" in resp.headers["Location"]


def _actions(user_id: int) -> list[str]:
    return list(db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.object_id == str(user_id),
                                                                       AuditEntry.object_type == "user")
                                   .order_by(AuditEntry.id)))


def test_hardening_logout_ends_the_session_so_a_saved_cookie_is_refused(app, client):
    user = make_user("caseworker", "420100")
    login(client, user)
    assert client.get("/households").status_code == 200
    saved = client.get_cookie("session").value
    assert _replay(app, saved).get("/households").status_code == 200  # the cookie alone is a session
    resp = client.post("/logout", data={"csrf_token": _page_csrf(client)})
    assert _is_login_redirect(resp)
    assert _is_login_redirect(_replay(app, saved).get("/households"))
    assert _is_login_redirect(_replay(app, saved).get(f"/households/{make_household('420102').id}"))
    assert _actions(user.id)[-1] == "logout"
    login(client, user)  # logging in again works
    assert client.get("/households").status_code == 200


def test_hardening_household_logout_ends_its_session(app, client):
    user = make_household_user(make_household("420102"))
    login(client, user)
    assert client.get("/my").status_code == 200
    saved = client.get_cookie("session").value
    assert client.post("/logout", data={"csrf_token": _page_csrf(client, "/my")}).status_code == 302
    assert _is_login_redirect(_replay(app, saved).get("/my"))


def test_hardening_password_change_ends_other_sessions_and_revokes_api_tokens(app, client, api_client):
    user = make_user("caseworker", "420100")
    api = api_client(user)
    assert api.get("/api/v1/me").status_code == 200
    other_browser = login(app.test_client(), user)
    assert other_browser.get("/households").status_code == 200
    login(client, user)
    page = client.get("/account/password")
    assert page.status_code == 200 and 'name="new_password_repeat"' in page.get_data(as_text=True)
    resp = client.post("/account/password", data={
        "csrf_token": _page_csrf(client, "/account/password"), "current_password": PASSWORD,
        "new_password": NEW_PASSWORD, "new_password_repeat": NEW_PASSWORD})
    assert resp.status_code == 302
    assert client.get("/households").status_code == 200  # this browser goes on with the new password
    assert _is_login_redirect(other_browser.get("/households"))
    assert api.get("/api/v1/me").status_code == 401
    assert db.session.scalar(sa.select(ApiToken.revoked_dt).where(ApiToken.user_id == user.id)) is not None
    assert accounts.authenticate_staff(user.username, PASSWORD) is None
    assert accounts.authenticate_staff(user.username, NEW_PASSWORD).id == user.id
    assert "user.password_changed" in _actions(user.id)


def test_hardening_password_change_refused_names_the_field_and_changes_nothing(app, client, api_client):
    user = make_user("caseworker", "420100")
    api = api_client(user)
    login(client, user)
    token = _page_csrf(client, "/account/password")
    resp = client.post("/account/password", data={"csrf_token": token, "current_password": "not-my-password",
                                                  "new_password": NEW_PASSWORD, "new_password_repeat": NEW_PASSWORD})
    assert resp.status_code == 422
    assert "当前密码不正确" in resp.get_data(as_text=True)
    resp = client.post("/account/password", data={"csrf_token": token, "current_password": PASSWORD,
                                                  "new_password": NEW_PASSWORD, "new_password_repeat": "different-1"})
    assert resp.status_code == 422
    assert "两次输入的新密码不一致" in resp.get_data(as_text=True)
    resp = client.post("/account/password", data={"csrf_token": token, "current_password": PASSWORD,
                                                  "new_password": "short", "new_password_repeat": "short"})
    assert resp.status_code == 422
    assert client.get("/households").status_code == 200  # still logged in
    assert api.get("/api/v1/me").status_code == 200
    assert accounts.authenticate_staff(user.username, PASSWORD).id == user.id
    assert "user.password_changed" not in _actions(user.id)


def test_hardening_deactivation_ends_sessions_and_revokes_tokens(app, client, api_client, runner):
    user = make_user("caseworker", "420100")
    api = api_client(user)
    login(client, user)
    assert client.get("/households").status_code == 200
    result = runner.invoke(args=["users", "deactivate", user.username])
    assert result.exit_code == 0, result.output
    assert _is_login_redirect(client.get("/households"))
    assert api.get("/api/v1/me").status_code == 401
    row = db.session.scalar(sa.select(User).where(User.id == user.id))
    assert row.active is False and row.session_epoch == 1
    assert db.session.scalar(sa.select(ApiToken.revoked_dt).where(ApiToken.user_id == user.id)) is not None
    assert _actions(user.id)[-1] == "user.deactivate"
    # Reactivating the flag alone would not revive the old session: the epoch moved on.
    row.active = True
    db.session.commit()
    assert _is_login_redirect(client.get("/households"))
    assert runner.invoke(args=["users", "deactivate", "nobody-here"]).exit_code != 0


def test_hardening_deactivation_by_a_supervisor_stays_in_region(app):
    target = make_user("caseworker", "420500")
    outsider = make_user("supervisor", "420100")
    try:
        accounts.deactivate_user(target.username, outsider)
    except NotFound:
        db.session.rollback()
    else:
        raise AssertionError("a Wuhan supervisor deactivated a Yichang account")
    accounts.deactivate_user(target.username, make_user("supervisor", "420000"))
    db.session.commit()
    assert db.session.get(User, target.id).active is False
