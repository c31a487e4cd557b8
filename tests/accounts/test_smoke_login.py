from tests.conftest import login
from tests.factories import make_household, make_household_user, make_user


def test_spec_1_staff_login_and_me(app, client, api_client):
    user = make_user("caseworker", "420100")
    login(client, user)
    api = api_client(user)
    resp = api.get("/api/v1/me")
    assert resp.status_code == 200
    assert resp.get_json()["region_code"] == "420100"


def test_spec_1_household_login_with_head_id_number(app, client):
    h = make_household("420102", head_name="李四")
    hu = make_household_user(h)
    login(client, hu)
