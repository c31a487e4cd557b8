"""SPEC §11, §12: formal documents — gapless document numbers per office, series and year; notices and credit
reports as PDFs (read back with poppler's pdftotext/pdftoppm); masked identity; public verification."""
from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date

import pytest
import sqlalchemy as sa

from housingcredit.extensions import db
from housingcredit.notices.models import Notice
from housingcredit.reports import numbers
from housingcredit.reports.models import Document
from housingcredit.reports.pdf import StaticOnlyFetcher, render_html_to_pdf
from tests.conftest import login
from tests.factories import make_household, make_household_user, make_user
from tests.records.helpers import confirm, make_record

pytestmark = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils (pdftotext) not installed")


def pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True,
                          text=True).stdout


def dark_pixels(data: bytes, tmp_path) -> int:
    """Render page 1 at 30 dpi to greyscale PGM (pdftoppm -gray) and count pixels darker than mid-grey."""
    path = tmp_path / "page.pdf"
    path.write_bytes(data)
    subprocess.run(["pdftoppm", "-gray", "-r", "30", "-f", "1", "-l", "1", str(path), str(tmp_path / "p")],
                   check=True)
    pgm = next(tmp_path.glob("p*.pgm")).read_bytes()
    # binary PGM: "P5\n<w> <h>\n<max>\n" then one byte per pixel
    m = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", pgm)
    pixels = pgm[m.end():]
    assert len(pixels) == int(m[1]) * int(m[2])
    return sum(1 for b in pixels if b < 128)


def _determination(household, reviewer_region="420100"):
    caseworker = make_user("caseworker", "420100")
    reviewer = make_user("reviewer", reviewer_region)
    record = make_record(household, caseworker)
    confirm(record, reviewer)
    return db.session.scalar(sa.select(Notice).where(Notice.household_id == household.id,
                                                     Notice.kind == "determination"))


def test_spec12_document_number_per_office_series_year_without_gaps(app):
    assert numbers.office_for("420102") == "420100"  # a Wuhan district → the Wuhan office
    assert numbers.office_for("420581") == "420500"  # a Yichang county → the Yichang office
    assert numbers.office_for("420000") == "420000"
    on = date(2026, 11, 26)
    assert numbers.next_number("420100", "告", on) == "鄂武房信告〔2026〕第0001号"
    assert numbers.next_number("420100", "告", on) == "鄂武房信告〔2026〕第0002号"
    assert numbers.next_number("420100", "令", on) == "鄂武房信令〔2026〕第0001号"
    assert numbers.next_number("420500", "告", on) == "鄂宜房信告〔2026〕第0001号"
    assert numbers.next_number("420000", "告", on) == "鄂房信告〔2026〕第0001号"
    assert numbers.next_number("420100", "告", date(2027, 1, 4)) == "鄂武房信告〔2027〕第0001号"
    db.session.commit()
    # a number taken in a transaction that rolls back is given back: no gap
    assert numbers.next_number("420100", "告", on) == "鄂武房信告〔2026〕第0003号"
    db.session.rollback()
    assert numbers.next_number("420100", "告", on) == "鄂武房信告〔2026〕第0003号"
    db.session.commit()


def test_spec12_a_notice_is_numbered_by_the_office_of_the_user_who_decided(app):
    wuhan = _determination(make_household("420102", head_name="王五"))
    province = _determination(make_household("420103", head_name="赵六"), reviewer_region="420000")
    number = lambda n: db.session.scalar(sa.select(Document.number).where(Document.notice_id == n.id))  # noqa: E731
    assert number(wuhan) == "鄂武房信告〔2026〕第0001号"
    assert number(province) == "鄂房信告〔2026〕第0001号"


def test_spec12_notice_pdf_has_number_addressee_and_chinese_date(app, client, tmp_path):
    household = make_household("420102", head_name="王五")
    notice = _determination(household)
    login(client, make_household_user(household))
    resp = client.get(f"/notices/{notice.id}.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    data = resp.get_data()
    text = pdf_text(data, tmp_path)
    flat = re.sub(r"\s+", "", text)
    assert "鄂武房信告〔2026〕第0001号" in flat
    assert "王五（户主" in flat
    assert "2026年6月15日" in flat  # the FixedClock's day, the determination date
    assert "10个工作日内（即2026年6月30日前）" in flat  # 15 June (Mon) + 10 working days; 19 June is Dragon Boat
    assert "武汉市住房和城市更新局" in flat and "印章" in flat
    assert dark_pixels(data, tmp_path) > 200  # the page is not blank
    # the CJK glyphs are really there: the Chinese font is embedded (missing glyphs would draw empty boxes)
    (tmp_path / "fonts.pdf").write_bytes(data)
    fonts = subprocess.run(["pdffonts", str(tmp_path / "fonts.pdf")], capture_output=True, text=True).stdout
    assert "WenQuanYi" in fonts
    doc = db.session.scalar(sa.select(Document).where(Document.notice_id == notice.id))
    assert doc.pdf_sha256 is not None
    # immutable: a second download serves the stored bytes
    assert client.get(f"/notices/{notice.id}.pdf").get_data() == data


def test_spec12_notice_pdf_is_gated_like_the_notice(app, client):
    household = make_household("420102", head_name="王五")
    notice = _determination(household)
    login(client, make_household_user(make_household("420103", head_name="赵六")))
    assert client.get(f"/notices/{notice.id}.pdf").status_code == 404


def test_spec12_an_old_notice_gets_its_number_and_pdf_on_demand(app, client, tmp_path):
    household = make_household("420102", head_name="王五")
    notice = _determination(household)
    db.session.execute(sa.delete(Document))  # as if issued before numbered documents existed
    db.session.commit()
    login(client, make_user("caseworker", "420100"))
    text = re.sub(r"\s+", "", pdf_text(client.get(f"/notices/{notice.id}.pdf").get_data(), tmp_path))
    assert "鄂武房信告〔2026〕第0002号" in text  # 0001 stays used by the deleted row: numbers never repeat
    from housingcredit.reports.formal import chinese_dates
    assert re.sub(r"\s+", "", chinese_dates(notice.body))[:20] in text  # its facts, dates written 2026年6月15日


def _report(app, client, household):
    login(client, make_user("caseworker", "420100"))
    resp = client.post(f"/households/{household.id}/credit-report", data={"csrf_token": _csrf(client)})
    assert resp.status_code == 302
    return db.session.scalar(sa.select(Document).where(Document.kind == "credit_report")), client.get(
        resp.headers["Location"])


def _csrf(client):
    from tests.factories import csrf_token
    client.get("/")
    return csrf_token(client)


def test_spec11_report_masks_name_and_id(app, client, tmp_path):
    household = make_household("420102", head_name="张三丰")
    _determination(household)
    head_id = household.head.id_number
    doc, resp = _report(app, client, household)
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    flat = re.sub(r"\s+", "", pdf_text(resp.get_data(), tmp_path))
    assert "张*丰" in flat and "张三丰" not in flat
    assert f"{head_id[:6]}********{head_id[-4:]}" in flat and head_id not in flat
    assert "85分" in flat and "中度失信" in flat  # 100 − 15 (HB06)
    assert "HB06" in flat and "无正当理由拖欠租金累计6个月以上" in flat
    assert "鄂武房信报〔2026〕第0001号" in flat and "2026年6月15日" in flat and "2026年7月15日" in flat
    assert doc.verify_code in flat
    assert dark_pixels(resp.get_data(), tmp_path) > 200


def test_spec12_a_household_downloads_its_own_report_and_nobody_elses(app, client):
    household = make_household("420102", head_name="张三丰")
    doc, _resp = _report(app, client, household)
    other = app.test_client()
    login(other, make_household_user(make_household("420103", head_name="赵六")))
    assert other.get(f"/reports/{doc.id}.pdf").status_code == 404
    own = app.test_client()
    login(own, make_household_user(household))
    assert own.get(f"/reports/{doc.id}.pdf").status_code == 200


def test_spec12_verification_reports_changed_bytes_not_genuine(app, client):
    household = make_household("420102", head_name="张三丰")
    doc, _resp = _report(app, client, household)
    public = app.test_client()
    page = public.get(f"/verify/{doc.verify_code}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "public" in page.headers["Cache-Control"]
    assert "鄂武房信报〔2026〕第0001号" in html and "张*丰" in html and "张三丰" not in html
    assert "有效" in html or "真实" in html
    assert household.head.id_number not in html
    genuine_html = html

    data = bytearray(doc.pdf)
    data[len(data) // 2] ^= 0x01  # flip one bit in the stored PDF
    db.session.execute(sa.update(Document).where(Document.id == doc.id).values(pdf=bytes(data)))
    db.session.commit()
    tampered = public.get(f"/verify/{doc.verify_code}").get_data(as_text=True)
    assert tampered != genuine_html
    assert "不是真实" in tampered or "非真实" in tampered or "不一致" in tampered
    assert public.get("/verify/NOSUCHCODE").status_code == 404


def test_spec12_verification_is_rate_limited(app):
    app.config["RATELIMIT_VERIFY"] = "3/minute"
    public = app.test_client()
    assert [public.get("/verify/NOSUCHCODE").status_code for _ in range(4)] == [404, 404, 404, 429]


def test_spec12_pdf_url_fetcher_refuses_anything_but_static_files(app):
    fetcher = StaticOnlyFetcher()
    from housingcredit.reports.pdf import STATIC, RefusedURL
    for url in ("http://example.com/", "https://example.com/x.png", "file:///etc/passwd",
                (STATIC / ".." / "__init__.py").as_uri(), "ftp://example.com/a"):
        with pytest.raises(RefusedURL):
            fetcher.fetch(url)
    assert fetcher.fetch((STATIC / "app.css").as_uri()) is not None
    # a document asking for an outside image still renders, without fetching it
    data = render_html_to_pdf('<p>外部</p><img src="http://example.com/x.png">'
                              '<link rel="stylesheet" href="http://example.com/x.css">')
    assert data.startswith(b"%PDF")


def test_spec12_the_household_issues_its_own_report_from_its_page(app, client):
    household = make_household("420102", head_name="张三丰")
    login(client, make_household_user(household))
    page = client.get("/my").get_data(as_text=True)
    assert "<button type=\"submit\">出具信用报告</button>" in page
    resp = client.post("/my/credit-report", data={"csrf_token": _csrf(client)})
    assert resp.status_code == 302
    doc = db.session.scalar(sa.select(Document).where(Document.kind == "credit_report"))
    assert doc.household_id == household.id and doc.number == "鄂武房信报〔2026〕第0001号"
    assert doc.number in client.get("/my").get_data(as_text=True)


def test_spec12_an_auditor_reads_reports_but_does_not_issue_them(app, client):
    household = make_household("420102", head_name="张三丰")
    login(client, make_user("auditor", "420000"))
    page = client.get(f"/households/{household.id}").get_data(as_text=True)
    assert "<button type=\"submit\">出具信用报告</button>" not in page and "尚未出具信用报告" in page
    assert client.post(f"/households/{household.id}/credit-report",
                       data={"csrf_token": _csrf(client)}).status_code in (403, 404)


def test_spec12_the_notice_page_prints_without_the_menu_and_links_its_pdf(app, client):
    household = make_household("420102", head_name="王五")
    notice = _determination(household)
    login(client, make_household_user(household))
    page = client.get(f"/notices/{notice.id}").get_data(as_text=True)
    assert f"/notices/{notice.id}.pdf" in page
    resp = client.get("/static/app.css")
    css = resp.get_data(as_text=True)
    resp.close()
    assert "@media print" in css and "header.top" in css.split("@media print", 1)[1]


@pytest.mark.skipif(not __import__("tests.conftest", fromlist=["is_postgres"]).is_postgres(),
                    reason="row locks between concurrent transactions: PostgreSQL")
def test_spec12_concurrent_issuers_get_distinct_numbers_without_gaps(app):
    import threading
    taken, errors = [], []

    def worker():
        try:
            with app.app_context():
                for _ in range(10):
                    taken.append(numbers.next_number("420100", "告", date(2026, 11, 26)))
                    db.session.commit()
                db.session.remove()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(taken) == [f"鄂武房信告〔2026〕第{n:04d}号" for n in range(1, 31)]
