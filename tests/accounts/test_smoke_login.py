import re

from tests.conftest import login
from tests.factories import make_household, make_household_user, make_user


def _text(resp) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True)))


def test_spec_1_staff_login_and_me(app, client, api_client):
    user = make_user("caseworker", "420100", username="cw_wuhan")
    login(client, user)
    resp = client.get("/", follow_redirects=True)
    assert resp.request.path == "/home"  # staff land on their to-dos (issue #18)
    assert "cw_wuhan · 经办人 · 武汉市" in _text(resp)
    me = api_client(user).get("/api/v1/me")
    assert me.status_code == 200
    assert me.get_json() == {"id": user.id, "username": "cw_wuhan", "display_name": "cw_wuhan",
                             "role": "caseworker", "region_code": "420100", "household_id": None}


def test_spec_1_household_login_with_head_id_number(app, client):
    h = make_household("420102", head_name="李四")
    other = make_household("420102", head_name="王五")
    hu = make_household_user(h)
    login(client, hu)
    resp = client.get("/my")
    assert resp.status_code == 200
    text = _text(resp)
    # its own archive: number, head, masked ID number, score and tier
    masked = h.head.id_number[:6] + "********" + h.head.id_number[-4:]
    assert f"档案编号 {h.archive_no}" in text and "李四 户主 " + masked in text
    assert "信用分: 100 守信" in text
    assert h.head.id_number not in resp.get_data(as_text=True)
    assert other.archive_no not in text and "王五" not in text
