"""The public lists in a real browser (headless chromium): reached from the login page without logging in,
searched, and under the Content-Security-Policy without a violation (SPEC §11)."""
from __future__ import annotations

import re

import pytest

from tests.factories import make_household

pytestmark = pytest.mark.browser


def test_spec11_public_list_reached_from_the_login_page_and_searched(app, live_server, browser_page):
    page = browser_page
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    make_household("420102")
    page.goto(f"{live_server}/login")
    page.click("text=失信联合惩戒对象名单")
    page.wait_for_url(re.compile(r"/public/lists/punishment$"))
    assert "失信联合惩戒对象名单" in page.inner_text("h1")
    page.fill("input[name=q]", "张*丰")
    page.fill("input[name=district]", "江岸区")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"q=%E5%BC%A0\*%E4%B8%B0"))
    assert "没有符合条件的名单信息" in page.inner_text("main")
    page.click("header >> text=重点关注名单")
    page.wait_for_url(re.compile(r"/public/lists/watch$"))
    page.click("header >> a.lang")
    page.wait_for_load_state()
    assert "Watch list" in page.inner_text("h1")
    assert violations == []
