"""The household's own pages work on a phone (issue 22): at 390 px wide nothing scrolls sideways and every table
becomes cards — checked in a real browser (Debian's headless chromium) on each page the household reaches."""
from __future__ import annotations

import re
from datetime import date

import pytest

from housingcredit.appeals import repairs, service as appeals
from housingcredit.extensions import db
from housingcredit.notices.models import Notice
from tests.factories import PASSWORD, make_household, make_household_user, make_user
from tests.records.helpers import PDF, confirm, make_record

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def household_file(app, clock):
    """A household with a long address, two confirmed records (one moderate, one mild), a notice, an objection
    with materials and a repair application — every panel of its pages has rows."""
    household = make_household("420102", head_name="欧阳长名字户主", address="湖北省武汉市江岸区很长很长的街道名称"
                               "与小区名称公租房小区12栋3单元1502室（长地址测试长地址测试长地址测试）")
    home = make_household_user(household)
    recorder, reviewer = make_user("caseworker", "420100"), make_user("reviewer", "420100")
    make_user("caseworker", "420100")  # a handler other than the recorder
    clock.set(date(2026, 9, 14))
    moderate = make_record(household, recorder, "HB06", occurred=date(2026, 9, 11))
    confirm(moderate, reviewer)
    mild = make_record(household, recorder, "HB08", occurred=date(2026, 9, 10))
    confirm(mild, reviewer)
    clock.set(date(2026, 9, 28))
    appeals.file_objection(household.id, {"record_id": moderate.id, "reason": "租金已结清，" * 20},
                           [("一个很长很长的文件名称用于测试手机页面上的换行是否正常工作的缴费凭证扫描件.pdf", PDF)], home)
    repairs.apply(household.id, {"record_id": mild.id, "declaration": "已整改。" * 20, "commitment_signed": True},
                  [("整改证明.pdf", PDF)], [], home)
    db.session.commit()
    notice = db.session.scalars(db.select(Notice).where(Notice.household_id == household.id)).first()
    return household, home, notice


def _overflow(page) -> dict:
    return page.evaluate("""() => ({
        width: document.scrollingElement.scrollWidth,
        tables: [...document.querySelectorAll('main table')]
            .filter(t => getComputedStyle(t).display === 'table').map(t => t.className || t.outerHTML.slice(0, 80)),
        wide: [...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > 391)
            .slice(0, 5).map(e => e.tagName + '.' + e.className),
    })""")


def test_issue22_household_pages_fit_a_390px_phone(app, live_server, browser_page, household_file):
    household, home, notice = household_file
    page = browser_page
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server}/login")
    page.fill("#hh-id_number", household.head.id_number)
    page.fill("#hh-password", PASSWORD)
    page.click("#household-login")
    page.wait_for_url(re.compile(r"/my"))
    urls = ["/my", "/my/credit", "/my/credit?as_of=2026-09-20", "/my/notices", f"/notices/{notice.id}",
            "/my/objections", "/my/objections/new", "/my/repairs", "/my/repairs/new"]
    found = {}
    for url in urls:
        resp = page.goto(f"{live_server}{url}")
        assert resp.status == 200, url
        result = _overflow(page)
        if result["width"] > PHONE["width"] or result["tables"]:
            found[url] = result
    assert found == {}, found
