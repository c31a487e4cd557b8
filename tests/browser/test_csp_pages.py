"""Hardening — headers: under the Content-Security-Policy the pages still work in a real browser (headless
chromium): no CSP violation on the staff pages, and the Swagger UI page at /api/v1/docs still renders."""
from __future__ import annotations

import re

import pytest

from tests.factories import PASSWORD, make_household, make_user

pytestmark = pytest.mark.browser


def _watch_csp(page) -> list[str]:
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text)
            if "Content Security Policy" in msg.text or "Content-Security-Policy" in msg.text else None)
    return violations


def test_hardening_staff_pages_run_under_the_csp(app, live_server, browser_page):
    page = browser_page
    violations = _watch_csp(page)
    caseworker = make_user("caseworker", "420100")
    household = make_household("420102")
    page.goto(f"{live_server}/login")
    page.fill("#staff-username", caseworker.username)
    page.fill("#staff-password", PASSWORD)
    page.click("#staff-login")
    page.wait_for_url(re.compile(r"/home$"))  # staff land on their to-dos
    page.goto(f"{live_server}/workbench/archives")
    assert page.locator("#export-xlsx").is_visible()
    page.goto(f"{live_server}/households/{household.id}")
    assert household.archive_no in page.inner_text("main")
    page.goto(f"{live_server}/account/password")
    assert page.locator("#new_password_repeat").is_visible()
    page.goto(f"{live_server}/watch")
    page.click("header >> button.lang")  # the language switch posts a form
    page.wait_for_load_state()
    assert "Watch list" in page.inner_text("header")
    assert violations == []


def test_hardening_swagger_ui_renders_under_its_own_csp(app, live_server, browser_page):
    page = browser_page
    violations = _watch_csp(page)
    page.goto(f"{live_server}/api/v1/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "housingcredit" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock")  # the operations came from /api/v1/openapi.json
    assert violations == []
