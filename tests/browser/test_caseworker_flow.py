"""A caseworker's first day (SPEC §1–§2, DESIGN rule 8), driven in headless chromium: log in, create a household
archive through the form, find it in the search — all in the Chinese UI, with no JavaScript needed."""
from __future__ import annotations

import re

import pytest

from housingcredit.disclosure.masking import mask_id_number
from tests.factories import PASSWORD, id_number, make_user

pytestmark = pytest.mark.browser

SCREENSHOT = "/tmp/housingcredit-caseworker-archive.png"


def test_spec_two_caseworker_creates_archive_and_finds_it_in_chinese_ui(app, live_server, browser_page):
    page = browser_page
    caseworker = make_user("caseworker", "420100")
    head_id, spouse_id = id_number("420102"), id_number("420102")

    page.goto(f"{live_server}/households")  # not logged in: sent to the login page
    assert "/login" in page.url
    assert page.locator("h2", has_text="工作人员登录").is_visible()
    page.fill("#staff-username", caseworker.username)
    page.fill("#staff-password", PASSWORD)
    page.click("#staff-login")

    page.wait_for_url(re.compile(r"/households$"))
    assert page.locator("h1").inner_text() == "家庭信用档案"
    assert "您的辖区内还没有家庭信用档案" in page.inner_text("main")
    page.click("text=新建档案")

    page.wait_for_url(re.compile(r"/households/new$"))
    page.select_option("#region_code", "420102")
    page.fill("#address", "江岸区幸福路8号3栋201")
    page.fill("#hukou", "武汉市江岸区")
    page.select_option("#marital_status", "已婚")
    page.fill("#housing_status", "本地无自有住房")
    page.fill("#income_yuan", "36000")
    page.select_option("#protection_category", "physical")
    page.select_option("#protection_group", "低收入")
    page.check("input[name=priority_flags][value=残疾人]")
    page.fill("#members-0-name", "王建国")
    page.fill("#members-0-id_number", head_id)
    page.fill("#members-1-name", "李秀英")
    page.fill("#members-1-id_number", spouse_id)
    page.select_option("#members-1-relation", "spouse")
    page.click("#save")

    page.wait_for_url(re.compile(r"/households/\d+$"))
    main = page.inner_text("main")
    assert "已建立信用档案" in main and "王建国 家庭信用档案" in main
    assert "低收入家庭" in main and "残疾人" in main and "配偶" in main
    assert head_id in main  # a caseworker may read the full number on the archive page
    page.screenshot(path=SCREENSHOT, full_page=True)

    page.click("header >> text=信用档案")
    page.fill("#q", "王")
    page.press("#q", "Enter")
    page.wait_for_url(re.compile(r"q="))
    row = page.locator("table.results tbody tr")
    assert row.count() == 1
    text = row.inner_text()
    assert "王建国" in text and mask_id_number(head_id) in text and head_id not in text
    assert "湖北省 武汉市 江岸区" in text

    page.click("header button.lang")  # the language switch
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Household archives"
