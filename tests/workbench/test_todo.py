"""The to-do home page (issue #18): per role, what waits — records for review with their waiting time, my rejected
records to fix, orders and procedure steps due, objections and repairs due, late entries — each with its count
and a link to where it is done; staff land on it after logging in."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from housingcredit.extensions import db
from housingcredit.records import service as records
from tests.conftest import login
from tests.factories import make_household, make_household_user, make_user
from tests.records.helpers import make_record


def _todo(html: str, key: str) -> tuple[int, str]:
    m = re.search(r'data-todo="' + key + r'">\s*<a href="([^"]+)"><strong class="count">(\d+)</strong>', html)
    assert m, key
    return int(m.group(2)), m.group(1)


@pytest.fixture
def wuhan(app):
    return {"caseworker": make_user("caseworker", "420100"), "reviewer": make_user("reviewer", "420100"),
            "supervisor": make_user("supervisor", "420000"), "auditor": make_user("auditor", "420000"),
            "household": make_household("420102", head_name="张三丰")}


def test_issue18_staff_land_on_their_todos_households_on_their_own_page(app, client, wuhan):
    login(client, wuhan["reviewer"])
    assert client.get("/").headers["Location"].endswith("/home")
    login(client, make_household_user(wuhan["household"]))
    assert "/home" not in client.get("/").headers["Location"]
    assert client.get("/home").status_code == 403


def test_hb_five_reviewer_sees_records_waiting_with_their_waiting_time(app, client, clock, wuhan):
    record = make_record(wuhan["household"], wuhan["caseworker"])
    clock.advance(days=3)
    login(client, wuhan["reviewer"])
    html = client.get("/home").get_data(as_text=True)
    count, url = _todo(html, "review")
    assert count == 1 and url == "/review"
    assert f"/records/{record.id}" in html
    assert "3 天" in html or "3 days" in html
    assert 'data-todo="rejected"' not in html  # a reviewer records nothing


def test_hb_five_caseworker_sees_their_rejected_record_until_it_is_recorded_again(app, client, wuhan):
    record = make_record(wuhan["household"], wuhan["caseworker"])
    records.determine(record.id, "rejected", "证据不足", wuhan["reviewer"])
    db.session.commit()
    login(client, wuhan["caseworker"])
    html = client.get("/home").get_data(as_text=True)
    count, url = _todo(html, "rejected")
    assert count == 1 and "status=rejected" in url
    assert f"/records/{record.id}" in html
    assert 'data-todo="review"' not in html  # a caseworker determines nothing
    make_record(wuhan["household"], wuhan["caseworker"])  # recorded anew with what was missing
    assert _todo(client.get("/home").get_data(as_text=True), "rejected")[0] == 0


def test_ln_nine_late_entries_and_due_orders_are_counted_as_their_pages_count_them(app, client, clock, wuhan):
    from housingcredit.lists import service as lists
    make_record(wuhan["household"], wuhan["caseworker"], occurred=clock.today() - timedelta(days=400))
    deadline = clock.today() + timedelta(days=30)
    lists.issue_order(wuhan["household"].id, "use_change", deadline.isoformat(), "恢复原状", None,
                      wuhan["caseworker"])
    db.session.commit()
    clock.set(deadline)
    login(client, wuhan["caseworker"])
    html = client.get("/home").get_data(as_text=True)
    overview = records.overview(wuhan["caseworker"])
    due = lists.due(wuhan["caseworker"])
    assert _todo(html, "late") == (overview["region_late"], "/records/overview")
    assert _todo(html, "orders_due_today") == (due["sections"]["orders_due_today"]["total"], "/due")
    assert due["sections"]["orders_due_today"]["total"] == 1
    assert _todo(html, "overdue_orders")[0] == 0


def test_issue18_every_staff_role_gets_a_todo_page(app, client, wuhan):
    for role in ("caseworker", "reviewer", "supervisor", "auditor"):
        login(client, wuhan[role])
        html = client.get("/home").get_data(as_text=True)
        assert 'data-todo="procedures"' in html, role
        assert 'data-todo="objections"' in html and 'data-todo="repairs"' in html, role
        assert ('data-todo="export_requests"' in html) == (role == "supervisor"), role
