"""The workbench in headless chromium (issue #18): a reviewer lands on the to-do page and follows a to-do to the
record; a caseworker filters the archives by region and exports exactly what is filtered, masked (SPEC §11)."""
from __future__ import annotations

import re

import pytest
from openpyxl import load_workbook

from housingcredit.disclosure.masking import mask_id_number
from tests.factories import PASSWORD, make_household, make_user
from tests.records.helpers import make_record

pytestmark = pytest.mark.browser


def _login(page, live_server, user):
    page.goto(f"{live_server}/login")
    page.fill("#staff-username", user.username)
    page.fill("#staff-password", PASSWORD)
    page.click("#staff-login")


def test_issue18_reviewer_lands_on_todos_and_follows_one_to_the_record(app, clock, live_server, browser_page):
    page = browser_page
    caseworker, reviewer = make_user("caseworker", "420100"), make_user("reviewer", "420100")
    record = make_record(make_household("420102", head_name="王建国"), caseworker)
    clock.advance(days=2)
    _login(page, live_server, reviewer)
    page.wait_for_url(re.compile(r"/home$"))
    assert page.locator("h1").inner_text() == "待办"
    todo = page.locator("[data-todo=review]")
    assert todo.locator(".count").inner_text() == "1"
    assert "待认定的记录" in todo.inner_text() and "已等待 2 天" in todo.inner_text()
    todo.locator(f"a[href='/records/{record.id}']").click()
    page.wait_for_url(re.compile(rf"/records/{record.id}$"))
    assert "HB06" in page.inner_text("main")


def test_issue18_caseworker_filters_archives_and_exports_exactly_that_masked(app, live_server, browser_page,
                                                                              tmp_path):
    page = browser_page
    jiangan = make_household("420102", head_name="张三丰", address="江岸区幸福路8号3栋201")
    make_household("420106", head_name="李四")
    make_household("420502", head_name="欧阳娜娜")  # Yichang: never in a Wuhan caseworker's list
    _login(page, live_server, make_user("caseworker", "420100"))
    page.wait_for_url(re.compile(r"/home$"))
    page.goto(f"{live_server}/workbench/archives")
    assert page.locator("[data-count=total]").inner_text().startswith("共 2 条")
    assert "欧**娜" not in page.inner_text("main")
    page.select_option("#filter-region", "420102")
    page.click("#apply-filters")
    page.wait_for_url(re.compile(r"region=420102"))
    assert page.locator("[data-count=total]").inner_text().startswith("共 1 条")
    with page.expect_download() as info:
        page.click("#export-xlsx")
    target = tmp_path / "export.xlsx"
    info.value.save_as(target)
    book = load_workbook(target, read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    book.close()
    assert len(rows) == 2
    assert rows[1][:3] == (jiangan.archive_no, "张*丰", mask_id_number(jiangan.head.id_number))
    assert "幸福路" not in rows[1][4]
