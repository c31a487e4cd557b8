"""Hardening — refusals say what they are: an HTML action refused for scope or state answers 403/404/409/422 with
the page and a message, never a redirect to a URL that names another region's household."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from housingcredit.extensions import db
from housingcredit.lists import service as lists
from housingcredit.lists.models import OrderCompliance, RectificationOrder
from tests.conftest import login
from tests.factories import csrf_token, make_household, make_user


def _order(household, region_code="420100"):
    order = lists.issue_order(household.id, "ineligible", date(2026, 7, 15), "退出公租房",
                              None, make_user("caseworker", region_code))
    db.session.commit()
    return order


def test_hardening_order_on_another_regions_household_is_404_without_its_archive(app, client):
    wuhan = make_household("420102")
    login(client, make_user("caseworker", "420500"))  # Yichang
    resp = client.post(f"/households/{wuhan.id}/orders", data={
        "csrf_token": csrf_token(client), "order-ground": "ineligible", "order-deadline": "2026-06-30",
        "order-requirement": "退出公租房", "next": f"/households/{wuhan.id}/lists"})
    assert resp.status_code == 404 and "Location" not in resp.headers
    body = resp.get_data(as_text=True)
    assert wuhan.archive_no not in body and f"/households/{wuhan.id}/lists" not in body
    assert "未找到" in body
    assert db.session.scalar(sa.select(sa.func.count(RectificationOrder.id))) == 0


def test_hardening_compliance_on_another_regions_order_is_404_not_a_redirect(app, client):
    wuhan = make_household("420102")
    order = _order(wuhan)
    login(client, make_user("caseworker", "420500"))
    resp = client.post(f"/orders/{order.id}/compliance", data={
        "csrf_token": csrf_token(client), "comp-complied_date": "2026-06-15", "comp-note": "已退出"})
    assert resp.status_code == 404 and "Location" not in resp.headers
    body = resp.get_data(as_text=True)
    assert wuhan.archive_no not in body and f"/households/{wuhan.id}/lists" not in body
    assert db.session.scalar(sa.select(sa.func.count(OrderCompliance.id))) == 0


def test_hardening_compliance_refused_for_state_shows_the_page_with_its_status(app, client):
    wuhan = make_household("420102")
    order = _order(wuhan)
    login(client, make_user("caseworker", "420100"))
    token = csrf_token(client)
    resp = client.post(f"/orders/{order.id}/compliance", data={
        "csrf_token": token, "comp-complied_date": "not-a-date", "comp-note": ""})
    assert resp.status_code == 422 and "Location" not in resp.headers
    assert wuhan.archive_no in resp.get_data(as_text=True)  # the lists page of this household, with the message
    assert 'class="flash error"' in resp.get_data(as_text=True)
    ok = client.post(f"/orders/{order.id}/compliance", data={
        "csrf_token": token, "comp-complied_date": "2026-06-15", "comp-note": "已退出"})
    assert ok.status_code == 303
    again = client.post(f"/orders/{order.id}/compliance", data={
        "csrf_token": token, "comp-complied_date": "2026-06-15", "comp-note": "再次"})
    assert again.status_code == 409 and "Location" not in again.headers
    assert 'class="flash error"' in again.get_data(as_text=True)


def test_hardening_compliance_refused_for_role_is_403_with_the_page(app, client):
    wuhan = make_household("420102")
    order = _order(wuhan)
    login(client, make_user("reviewer", "420100"))  # may read the lists, may not write them
    resp = client.post(f"/orders/{order.id}/compliance", data={
        "csrf_token": csrf_token(client), "comp-complied_date": "2026-06-15", "comp-note": "x"})
    assert resp.status_code == 403 and "Location" not in resp.headers
    assert "您没有执行此操作的权限" in resp.get_data(as_text=True)


def test_hardening_unknown_order_is_404_not_a_redirect(app, client):
    login(client, make_user("caseworker", "420100"))
    resp = client.post("/orders/424242/compliance", data={
        "csrf_token": csrf_token(client), "comp-complied_date": "2026-06-15", "comp-note": "x"})
    assert resp.status_code == 404 and "Location" not in resp.headers
