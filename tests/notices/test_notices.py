"""HB 五 (信用认定结果…应及时告知保障家庭): the written notices reach the household in the app; staff see them on the
archive page with the time the household read them; nobody else can open them."""
from __future__ import annotations

import sqlalchemy as sa

from housingcredit.extensions import db
from housingcredit.notices.models import Notice
from tests.conftest import login
from tests.factories import make_household, make_household_user, make_user
from tests.records.helpers import confirm, make_record


def _confirmed_notice(household):
    caseworker, reviewer = make_user("caseworker", "420100"), make_user("reviewer", "420100")
    confirm(make_record(household, caseworker), reviewer)
    return db.session.scalar(sa.select(Notice).where(Notice.household_id == household.id,
                                                     Notice.kind == "determination"))


def test_hb_five_the_household_reads_its_determination_notice_in_the_app(app, client):
    household = make_household("420102", head_name="王五")
    notice = _confirmed_notice(household)
    login(client, make_household_user(household))

    unread = '<span class="badge late">未读</span>'
    inbox = client.get("/my/notices").get_data(as_text=True)
    assert notice.title in inbox and unread in inbox
    before = inbox.count(unread)
    assert "我的告知" in client.get("/my").get_data(as_text=True)  # the nav shows the inbox

    page = client.get(f"/notices/{notice.id}")
    assert page.status_code == 200 and notice.body in page.get_data(as_text=True)
    db.session.refresh(notice)
    assert notice.read_dt is not None
    assert client.get("/my/notices").get_data(as_text=True).count(unread) == before - 1


def test_hb_five_staff_see_notices_and_when_they_were_read_on_the_archive(app, client):
    household = make_household("420102")
    notice = _confirmed_notice(household)
    login(client, make_user("caseworker", "420100"))
    page = client.get(f"/households/{household.id}").get_data(as_text=True)
    assert notice.title in page and "未读" in page
    client.get(f"/notices/{notice.id}")
    db.session.refresh(notice)
    assert notice.read_dt is None  # a staff member opening it does not mark it read for the household


def test_hb_eight_a_notice_is_reachable_only_inside_the_gate(app, client):
    household = make_household("420102")
    notice = _confirmed_notice(household)
    other = make_household("420103", head_name="赵六")
    login(client, make_household_user(other))
    assert client.get(f"/notices/{notice.id}").status_code == 404
    client.post("/logout", data={})
    yichang = make_user("caseworker", "420500")
    client2 = app.test_client()
    login(client2, yichang)
    assert client2.get(f"/notices/{notice.id}").status_code == 404
    assert client2.get("/my/notices").status_code == 404
