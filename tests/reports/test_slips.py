"""SPEC §8, §12: the credit-check slip — the desk's answer to one logged check, printed cleanly and downloaded as a
one-page PDF (conclusion, business, purpose, time, operator as office and role, masked ID number, verification
code); only its operator or staff of the same office get it; /verify shows no more than the slip did."""
from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date

import pytest
import sqlalchemy as sa

from housingcredit.extensions import db
from housingcredit.lists.models import CreditCheck
from housingcredit.reports.models import Document
from tests import factories
from tests.conftest import login
from tests.lists.helpers import Staff, confirm_on
from tests.reports.test_documents import dark_pixels, pdf_text

pytestmark = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils (pdftotext) not installed")


def _check(client, user, id_number, business="swap", purpose="调换住房审核"):
    login(client, user)
    client.get("/credit-check")
    resp = client.post("/credit-check", data={"csrf_token": factories.csrf_token(client), "id_number": id_number,
                                              "business": business, "purpose": purpose})
    assert resp.status_code == 200
    row = db.session.scalar(sa.select(CreditCheck).order_by(CreditCheck.id.desc()).limit(1))
    return row, resp.get_data(as_text=True)


def _flat(data, tmp_path):
    return re.sub(r"\s+", "", pdf_text(data, tmp_path))


@pytest.fixture
def moderate(app, clock):
    staff = Staff("420100")
    h = factories.make_household("420102", head_name="张三丰")
    confirm_on(clock, staff, h, "HB06", date(2026, 6, 1))  # moderate: no swap or upgrade (SPEC §8)
    clock.set(date(2026, 6, 15))
    return staff, h


def test_spec8_the_check_slip_is_one_page_with_the_logged_checks_answer(app, client, moderate, tmp_path):
    staff, h = moderate
    row, page = _check(client, staff.caseworker, h.head.id_number)
    assert f"/credit-checks/{row.id}/slip.pdf" in page
    resp = client.get(f"/credit-checks/{row.id}/slip.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    data = resp.get_data()
    (tmp_path / "slip.pdf").write_bytes(data)
    info = subprocess.run(["pdfinfo", str(tmp_path / "slip.pdf")], capture_output=True, text=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M)  # one page
    flat = _flat(data, tmp_path)
    masked = h.head.id_number[:6] + "********" + h.head.id_number[-4:]
    assert "信用查询凭证" in flat and "鄂武房信查〔2026〕第0001号" in flat
    assert "受限，不予办理" in flat and "调换" in flat and "调换住房审核" in flat  # conclusion, business, purpose
    assert "2026年6月15日" in flat and "武汉市住房和城市更新局经办人" in flat  # time; operator: office and role
    assert "期内不予调换、升级住房" in flat  # the measure restricting the business, with its clause
    assert masked in flat and h.head.id_number not in flat
    assert staff.caseworker.username not in flat and "张三丰" not in flat
    doc = db.session.scalar(sa.select(Document).where(Document.credit_check_id == row.id))
    assert doc.kind == "check_slip" and doc.verify_code in flat and doc.pdf_sha256
    assert dark_pixels(data, tmp_path) > 200
    assert client.get(f"/credit-checks/{row.id}/slip.pdf").get_data() == data  # issued once, never changed


def _score_in(text: str) -> bool:
    """The household's score (85) as a number of its own — not inside a masked ID number or a verification code."""
    import re
    return re.search(r"(?<![0-9A-Za-z*])85(?![0-9A-Za-z])", text) is not None


def test_spec12_the_slip_verifies_showing_no_more_than_it_printed(app, client, moderate):
    staff, h = moderate
    row, _page = _check(client, staff.caseworker, h.head.id_number)
    client.get(f"/credit-checks/{row.id}/slip.pdf")
    doc = db.session.scalar(sa.select(Document).where(Document.credit_check_id == row.id))
    html = app.test_client().get(f"/verify/{doc.verify_code}").get_data(as_text=True)
    assert "真实" in html and doc.number in html and "受限" in html and "调换" in html
    assert row.id_number_masked in html
    assert h.head.id_number not in html and "张*丰" not in html and h.archive_no not in html
    assert not _score_in(html)  # no score: the slip printed none


def test_spec1_only_the_operator_or_the_same_office_downloads_the_slip(app, client, moderate):
    staff, h = moderate
    row, _page = _check(client, staff.caseworker, h.head.id_number)
    colleague = app.test_client()  # a Jiang'an caseworker: the Wuhan office too
    login(colleague, factories.make_user("caseworker", "420102"))
    assert colleague.get(f"/credit-checks/{row.id}/slip.pdf").status_code == 200
    yichang = app.test_client()
    login(yichang, factories.make_user("caseworker", "420500"))
    assert yichang.get(f"/credit-checks/{row.id}/slip.pdf").status_code == 404
    household = app.test_client()
    login(household, factories.make_household_user(h))
    assert household.get(f"/credit-checks/{row.id}/slip.pdf").status_code in (403, 404)
    assert client.get("/credit-checks/999999/slip.pdf").status_code == 404


def test_spec1_a_slip_outside_the_callers_region_shows_only_what_the_check_needs(app, moderate, tmp_path):
    _staff, h = moderate
    yichang = app.test_client()
    row, _page = _check(yichang, factories.make_user("caseworker", "420500"), h.head.id_number)
    assert row.household_region_code == "420102"
    flat = _flat(yichang.get(f"/credit-checks/{row.id}/slip.pdf").get_data(), tmp_path)
    assert "鄂宜房信查〔2026〕第0001号" in flat and "宜昌市住房和城市更新局经办人" in flat
    assert "中度失信" in flat and "受限" in flat
    assert h.archive_no not in flat and not _score_in(flat.replace("2026", "")) and "张" not in flat


def test_spec8_an_unknown_id_number_gets_a_slip_that_says_may_proceed(app, client, tmp_path):
    staff = Staff("420100")
    row, _page = _check(client, staff.caseworker, factories.id_number("420102"), business="application")
    flat = _flat(client.get(f"/credit-checks/{row.id}/slip.pdf").get_data(), tmp_path)
    assert "可以办理" in flat and "无信用档案" in flat


def test_spec8_the_check_page_prints_without_menu_or_form(app, client, moderate):
    staff, h = moderate
    _row, page = _check(client, staff.caseworker, h.head.id_number)
    assert re.search(r'<form method="post" action="/credit-check" class="no-print">', page)
    assert 'class="print-page"' in page and "/static/reports/print.js" in page
    resp = client.get("/static/app.css")
    css = resp.get_data(as_text=True)
    resp.close()
    printed = css.split("@media print", 1)[1]
    assert "header.top" in printed and ".no-print" in printed
