"""Issue 18 — staff administration by supervisors (/admin/staff) and each user's own API tokens (/account/tokens).

A supervisor creates accounts of their region (no password: a one-time activation code), changes role, region
and office, deactivates (sessions and tokens end at once) and resets a password (a new code; sessions and tokens
end). Nobody deactivates, demotes or moves themselves; the last active supervisor stays. Tokens expire after
API_TOKEN_DAYS (90) with a 401 that says so. Everything is audited; caseworkers and auditors cannot reach it.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from housingcredit.accounts import service as accounts
from housingcredit.accounts import staff, tokens
from housingcredit.accounts.models import ApiToken, Role, User
from housingcredit.audit.models import AuditEntry
from housingcredit.errors import Conflict, InvalidInput, NotFound
from housingcredit.extensions import db
from tests.conftest import login
from tests.factories import PASSWORD, make_household, make_household_user, make_user

NEW_PASSWORD = "fresh-start-2026"


def _csrf(client, url: str) -> str:
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"', html).group(1)


def _code(html: str) -> str:
    return re.search(r'id="activation-code">(\d{8})<', html).group(1)


def _entries(object_type: str, object_id) -> list[AuditEntry]:
    db.session.expire_all()
    return db.session.scalars(sa.select(AuditEntry).where(AuditEntry.object_type == object_type,
                                                          AuditEntry.object_id == str(object_id))
                              .order_by(AuditEntry.id)).all()


def _is_login_redirect(resp) -> bool:
    return resp.status_code == 302 and "/login" in resp.headers["Location"]


def _activate(app, username: str, code: str, password: str = NEW_PASSWORD):
    browser = app.test_client()
    token = _csrf(browser, "/activate/staff")
    return browser.post("/activate/staff", data={"csrf_token": token, "username": username, "code": code,
                                                 "password": password, "password_repeat": password}), browser


@pytest.fixture
def supervisor(app):
    return make_user("supervisor", "420100", username="sup_wh")


def _create(client, **fields):
    data = {"username": "li_si", "display_name": "李四", "role": "caseworker", "region_code": "420102",
            "office": "江岸区住房保障中心"}
    data.update(fields)
    data["csrf_token"] = _csrf(client, "/admin/staff/new")
    return client.post("/admin/staff/new", data=data)


def test_issue18_supervisor_creates_an_account_that_its_holder_activates_with_a_one_time_code(app, client,
                                                                                             supervisor):
    login(client, supervisor)
    resp = _create(client)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    code = _code(html)
    user = db.session.scalar(sa.select(User).where(User.username == "li_si"))
    assert (user.role, user.region_code, user.office, user.password_hash) == (
        Role.caseworker, "420102", "江岸区住房保障中心", None)
    assert code not in (user.activation_hash or "")  # kept as an HMAC only
    assert accounts.authenticate_staff("li_si", code) is None  # no password yet: no login
    assert code not in client.get(f"/admin/staff/{user.id}").get_data(as_text=True)  # shown once
    wrong, _ = _activate(app, "li_si", "00000000" if code != "00000000" else "11111111")
    assert wrong.status_code == 422
    resp, browser = _activate(app, "li_si", code)
    assert resp.status_code == 302
    assert browser.get("/households").status_code == 200  # logged in
    assert accounts.authenticate_staff("li_si", NEW_PASSWORD).id == user.id
    assert _activate(app, "li_si", code)[0].status_code == 422  # the code works once
    actions = [e.action for e in _entries("user", user.id)]
    assert actions[0] == "user.create" and "user.activation_failed" in actions and "user.activated" in actions
    created = _entries("user", user.id)[0]
    assert created.actor_id == supervisor.id and created.after["office"] == "江岸区住房保障中心"


def test_issue18_a_create_names_every_bad_field_at_once_and_writes_nothing(app, client, supervisor):
    login(client, supervisor)
    before = db.session.scalar(sa.select(sa.func.count(User.id)))
    resp = _create(client, username="x", display_name="", role="", region_code="420502")
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "请选择角色" in html and "请填写姓名" in html and "不在您的辖区" in html
    resp = _create(client, username="SUP_WH")  # the supervisor's own username, in other letters
    assert resp.status_code == 422 and "用户名已被使用" in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == before


def test_issue18_role_region_and_office_change_is_audited_with_before_and_after(app, client, supervisor):
    target = make_user("caseworker", "420102")
    login(client, supervisor)
    url = f"/admin/staff/{target.id}"
    resp = client.post(url, data={"csrf_token": _csrf(client, url), "display_name": target.display_name,
                                  "role": "reviewer", "region_code": "420106", "office": "武昌区评审组"})
    assert resp.status_code == 303
    db.session.expire_all()
    row = db.session.get(User, target.id)
    assert (row.role, row.region_code, row.office) == (Role.reviewer, "420106", "武昌区评审组")
    entry = _entries("user", target.id)[-1]
    assert entry.action == "user.update" and entry.actor_id == supervisor.id
    assert entry.before == {"office": "", "region_code": "420102", "role": "caseworker"}
    assert entry.after == {"office": "武昌区评审组", "region_code": "420106", "role": "reviewer"}
    # outside the supervisor's region: refused, nothing changed
    resp = client.post(url, data={"csrf_token": _csrf(client, url), "display_name": "x", "role": "reviewer",
                                  "region_code": "420502", "office": ""})
    assert resp.status_code == 422
    assert db.session.get(User, target.id).region_code == "420106"


def test_issue18_deactivation_ends_the_caseworkers_session_and_token_at_once(app, client, supervisor, api_client):
    target = make_user("caseworker", "420102")
    api = api_client(target)
    their_browser = login(app.test_client(), target)
    assert their_browser.get("/households").status_code == 200
    assert api.get("/api/v1/me").status_code == 200
    login(client, supervisor)
    url = f"/admin/staff/{target.id}"
    resp = client.post(f"{url}/deactivate", data={"csrf_token": _csrf(client, url)})
    assert resp.status_code == 303
    assert _is_login_redirect(their_browser.get("/households"))  # the very next request
    refused = api.get("/api/v1/me")
    assert refused.status_code == 401 and "撤销" in refused.get_json()["message"]
    assert accounts.authenticate_staff(target.username, PASSWORD) is None
    assert db.session.scalar(sa.select(ApiToken.revoked_dt).where(ApiToken.user_id == target.id)) is not None
    assert _entries("user", target.id)[-1].action == "user.deactivate"
    again = client.post(f"{url}/deactivate", data={"csrf_token": _csrf(client, url)})
    assert again.status_code == 409


def test_issue18_password_reset_gives_a_new_code_and_ends_sessions_and_tokens(app, client, supervisor, api_client):
    target = make_user("reviewer", "420106")
    api = api_client(target)
    their_browser = login(app.test_client(), target)
    login(client, supervisor)
    url = f"/admin/staff/{target.id}"
    resp = client.post(f"{url}/reset", data={"csrf_token": _csrf(client, url)})
    assert resp.status_code == 200
    code = _code(resp.get_data(as_text=True))
    assert _is_login_redirect(their_browser.get("/households"))
    assert api.get("/api/v1/me").status_code == 401
    assert accounts.authenticate_staff(target.username, PASSWORD) is None  # the old password is gone
    assert _activate(app, target.username, code)[0].status_code == 302
    assert accounts.authenticate_staff(target.username, NEW_PASSWORD).id == target.id
    assert [e.action for e in _entries("user", target.id)][-2:] == ["user.password_reset", "user.activated"]


def test_issue18_a_supervisor_cannot_deactivate_demote_move_or_reset_themselves(app, client, supervisor):
    make_user("supervisor", "420000")  # not the last one: the self rule alone refuses
    login(client, supervisor)
    url = f"/admin/staff/{supervisor.id}"
    for data in ({"role": "caseworker", "region_code": "420100"}, {"role": "supervisor", "region_code": "420102"}):
        resp = client.post(url, data={"csrf_token": _csrf(client, url), "display_name": "主管", "office": "",
                                      **data})
        assert resp.status_code == 422
    with pytest.raises(InvalidInput):
        accounts.deactivate_user(supervisor.username, supervisor)
    db.session.rollback()
    with pytest.raises(InvalidInput):
        staff.reset_password(supervisor.id, supervisor)
    db.session.rollback()
    row = db.session.get(User, supervisor.id)
    assert (row.role, row.region_code, row.active) == (Role.supervisor, "420100", True)
    # the name and office of one's own account may change
    resp = client.post(url, data={"csrf_token": _csrf(client, url), "display_name": "王主管", "office": "省厅",
                                  "role": "supervisor", "region_code": "420100"})
    assert resp.status_code == 303 and db.session.get(User, supervisor.id).display_name == "王主管"


def test_issue18_the_last_active_supervisor_cannot_be_removed(app, runner):
    first = make_user("supervisor", "420000")
    second = make_user("supervisor", "420100")
    accounts.deactivate_user(second.username, first)  # another active supervisor remains: allowed
    db.session.commit()
    result = runner.invoke(args=["users", "deactivate", first.username])  # the CLI, on the last one
    assert result.exit_code != 0
    assert db.session.get(User, first.id).active
    # Demoting needs another supervisor as actor, so it meets the rule only when two act at once: the check
    # (which locks the other supervisors' rows on PostgreSQL) refuses the last one.
    with pytest.raises(Conflict):
        accounts.keep_a_supervisor(first)
    third = make_user("supervisor", "420000")
    staff.update_account(first.id, {"display_name": "x", "role": "auditor", "region_code": "420000"}, third)
    db.session.commit()
    with pytest.raises(Conflict):
        accounts.deactivate_user(third.username)
    db.session.rollback()


def test_issue18_caseworkers_and_auditors_cannot_reach_the_admin_pages(app, client):
    target = make_user("caseworker", "420102")
    for role in ("caseworker", "reviewer", "auditor"):
        c = login(app.test_client(), make_user(role, "420000"))
        assert c.get("/admin/staff").status_code == 403
        assert c.get("/admin/staff/new").status_code == 403
        assert c.get(f"/admin/staff/{target.id}").status_code == 403
        token = _csrf(c, "/account/password")
        assert c.post(f"/admin/staff/{target.id}/deactivate", data={"csrf_token": token}).status_code == 403
        assert c.post(f"/admin/staff/{target.id}/reset", data={"csrf_token": token}).status_code == 403
    assert db.session.get(User, target.id).active
    assert '/admin/staff"' not in login(client, make_user("caseworker", "420100")).get("/households").get_data(
        as_text=True)


def test_issue18_a_supervisor_manages_only_accounts_of_their_region(app, client, supervisor):
    yichang = make_user("caseworker", "420502", username="yc_cw")
    jiangan = make_user("caseworker", "420102", username="ja_cw")
    login(client, supervisor)
    page = client.get("/admin/staff").get_data(as_text=True)
    assert "ja_cw" in page and "yc_cw" not in page
    assert client.get(f"/admin/staff/{yichang.id}").status_code == 404
    token = _csrf(client, "/admin/staff")
    assert client.post(f"/admin/staff/{yichang.id}/deactivate", data={"csrf_token": token}).status_code == 404
    household_account = make_household_user(make_household("420102"))
    assert client.get(f"/admin/staff/{household_account.id}").status_code == 404  # households are no staff
    assert db.session.get(User, yichang.id).active and db.session.get(User, jiangan.id).active


# ---- API tokens ------------------------------------------------------------------------------------------------

def _settings_token_days() -> int:
    import tomllib
    from housingcredit import ROOT
    with open(ROOT / "config" / "settings.toml", "rb") as fh:
        return int(tomllib.load(fh)["API_TOKEN_DAYS"])


_SETTINGS_TOKEN_DAYS = _settings_token_days()


def test_issue18_tokens_last_90_days_by_default():
    assert _SETTINGS_TOKEN_DAYS == 90


def _new_token(client, name="报表脚本") -> tuple:
    resp = client.post("/account/tokens", data={"csrf_token": _csrf(client, "/account/tokens"), "name": name})
    m = re.search(r'id="new-token">([^<]+)<', resp.get_data(as_text=True))
    return resp, m.group(1) if m else None


def test_issue18_each_user_creates_lists_and_revokes_their_own_tokens(app, client):
    app.config["API_TOKEN_DAYS"] = _SETTINGS_TOKEN_DAYS
    user = make_user("caseworker", "420100")
    login(client, user)
    resp, raw = _new_token(client)
    assert resp.status_code == 200 and raw
    api = app.test_client()
    me = api.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
    assert me.status_code == 200 and me.get_json()["username"] == user.username
    page = client.get("/account/tokens").get_data(as_text=True)
    assert "报表脚本" in page and raw not in page  # listed, never shown again
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == user.id))
    assert token.expires_dt - token.created_dt == timedelta(days=90)
    assert client.post(f"/account/tokens/{token.id}/revoke",
                       data={"csrf_token": _csrf(client, "/account/tokens")}).status_code == 303
    refused = api.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
    assert refused.status_code == 401 and refused.get_json()["message"] == "接口令牌已被撤销。"
    assert [e.action for e in _entries("api_token", token.id)] == ["token.create", "token.revoke"]
    assert _new_token(client, name="")[0].status_code == 422  # a name is needed


def test_issue18_nobody_revokes_another_users_token_and_households_have_none(app, client):
    owner = make_user("caseworker", "420100")
    tokens.create_token(owner, "theirs")
    db.session.commit()
    token_id = db.session.scalar(sa.select(ApiToken.id).where(ApiToken.user_id == owner.id))
    login(client, make_user("supervisor", "420000"))
    resp = client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": _csrf(client, "/account/tokens")})
    assert resp.status_code == 404
    assert db.session.get(ApiToken, token_id).revoked_dt is None
    household = login(app.test_client(), make_household_user(make_household("420102")))
    assert household.get("/account/tokens").status_code == 403


def test_issue18_tokens_expire_after_the_configured_days_with_a_clear_401(app, clock):
    app.config["API_TOKEN_DAYS"] = _SETTINGS_TOKEN_DAYS
    user = make_user("caseworker", "420100")
    raw = tokens.create_token(user, "nightly")
    db.session.commit()
    api = app.test_client()
    headers = {"Authorization": f"Bearer {raw}"}
    clock.advance(89)
    assert api.get("/api/v1/me", headers=headers).status_code == 200
    clock.advance(1)
    refused = api.get("/api/v1/me", headers=headers)
    assert refused.status_code == 401
    assert refused.get_json()["message"] == "接口令牌已过期，请在“接口令牌”页面创建新的令牌。"
    assert "invalid_token" in refused.headers["WWW-Authenticate"]
    english = api.get("/api/v1/me", headers={**headers, "Accept-Language": "en"})
    assert "expired" in english.get_json()["message"]


def test_issue18_lowering_the_token_lifetime_shortens_tokens_made_before(app, clock):
    app.config["API_TOKEN_DAYS"] = _SETTINGS_TOKEN_DAYS
    user = make_user("caseworker", "420100")
    raw = tokens.create_token(user, "old cli token")
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == user.id))
    token.expires_dt = token.created_dt + timedelta(days=365)  # as `flask users token` made them before
    db.session.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    clock.advance(100)
    assert app.test_client().get("/api/v1/me", headers=headers).status_code == 401
    app.config["API_TOKEN_DAYS"] = 120
    assert app.test_client().get("/api/v1/me", headers=headers).status_code == 200
    app.config["API_TOKEN_DAYS"] = 30
    assert app.test_client().get("/api/v1/me", headers=headers).status_code == 401


def test_issue18_service_refusals(app):
    sup = make_user("supervisor", "420100")
    with pytest.raises(NotFound):
        staff.managed(10**9, sup)
    with pytest.raises(InvalidInput) as err:
        staff.create_account({"username": "ok_name", "display_name": "甲", "role": "household",
                              "region_code": "420100"}, sup)
    assert set(err.value.errors) == {"role"}
