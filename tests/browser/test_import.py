"""Excel import in headless chromium (issue 18): a caseworker downloads nothing, uploads a file with one bad
row, reads in Chinese what is wrong with it, confirms, follows the progress bar (the page polls the JSON progress
endpoint) and finds the imported households."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from housingcredit.archives.models import Household
from housingcredit.extensions import db
from tests.factories import PASSWORD, id_number, make_user
from tests.imports.helpers import row, xlsx

pytestmark = pytest.mark.browser


def test_issue18_import_with_one_bad_row_in_the_browser(app, live_server, browser_page, tmp_path):
    app.config["IMPORT_BATCH"] = 1  # one household per batch: the bar moves through several steps
    page = browser_page
    caseworker = make_user("caseworker", "420100")
    bad = id_number("420102")
    bad = bad[:-1] + ("0" if bad[-1] != "0" else "1")
    path = tmp_path / "导入.xlsx"
    path.write_bytes(xlsx([row("1", "王建国", id_number("420102")),
                           row("1", "李秀英", id_number("420102"), "配偶", household=False),
                           row("2", "张三", id_number("420102")),
                           row("3", "错号", bad)]))

    page.goto(f"{live_server}/login")
    page.fill("#staff-username", caseworker.username)
    page.fill("#staff-password", PASSWORD)
    page.click("#staff-login")
    page.wait_for_url(re.compile(r"/home$"))  # staff land on their to-dos
    page.goto(f"{live_server}/households")
    page.click("#import-link")
    page.wait_for_url(re.compile(r"/imports$"))
    assert page.locator("h1").inner_text() == "从 Excel 批量导入家庭档案"
    assert page.get_attribute("#template-link", "href").endswith("/imports/template.xlsx")
    page.set_input_files("#file", str(path))
    page.click("#check")

    page.wait_for_url(re.compile(r"/imports/\d+$"))
    summary = page.inner_text("#summary")
    assert "已检查 4 行：2 户共 3 行可以导入；1 行有问题。" in summary
    bad_rows = page.locator("#bad-rows tbody tr")
    assert bad_rows.count() == 1
    text = bad_rows.inner_text()
    assert "5" in text and "公民身份号码" in text and "错*" in text and bad not in text
    assert db.session.scalar(sa.select(sa.func.count(Household.id))) == 0  # nothing before the confirm

    page.click("#confirm")
    page.wait_for_selector("#progress-status:has-text('导入完成：已写入 2 户。')")
    assert page.get_attribute("#bar", "value") == "100"
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Household.id))) == 2
    with page.expect_download() as download:
        page.click("#report-link")
    assert download.value.suggested_filename.endswith(".xlsx")
