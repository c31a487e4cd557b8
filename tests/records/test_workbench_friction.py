"""Everyday friction removed (issue 18), page by page: the record page names its household and leads back,
evidence shows in the page, the review queue says whose record and how long it waited and offers the next one,
the search says whom it matched and finds by name with the last digits of an ID number, a refused record form
keeps its files and reports every error in the field's own words, the change history speaks in labels and staff
names, error pages explain and lead back, and clauses are cited (参照 for another province's guideline)."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import sqlalchemy as sa

from housingcredit.archives import service as archives
from housingcredit.extensions import db
from housingcredit.records.models import Record
from tests.conftest import login
from tests.factories import id_number, make_household, make_user

from .helpers import PDF, PNG, make_record, record_data


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html)
    return m.group(1)


def _logout(client):
    client.post("/logout", data={"csrf_token": _csrf(client.get("/households").get_data(as_text=True))})


def test_issue18_record_page_names_its_household_and_links_back(client):
    household = make_household("420102", head_name="周九")
    record = make_record(household, make_user("caseworker", "420100"))
    login(client, make_user("reviewer", "420100"))
    page = client.get(f"/records/{record.id}").get_data(as_text=True)
    assert "周九家庭" in page
    assert f'href="/households/{household.id}" id="household-link"' in page and household.archive_no in page


def test_issue18_evidence_previews_inline_for_reviewers(client):
    household = make_household("420102")
    record = make_record(household, make_user("caseworker", "420100"),
                         files=[("现场照片.png", PNG), ("催缴通知.pdf", PDF)])
    login(client, make_user("reviewer", "420100"))
    page = client.get(f"/records/{record.id}").get_data(as_text=True)
    png, pdf = sorted(record.evidence, key=lambda e: e.content_type != "image/png")
    assert f'<img src="/evidence/{png.id}?inline=1"' in page
    assert f'href="/evidence/{pdf.id}?inline=1" target="_blank"' in page
    inline = client.get(f"/evidence/{png.id}?inline=1")
    inline.close()
    assert inline.status_code == 200 and inline.mimetype == "image/png"
    assert inline.headers["Content-Disposition"].startswith("inline")
    download = client.get(f"/evidence/{png.id}")
    download.close()
    assert download.headers["Content-Disposition"].startswith("attachment")


def test_issue18_review_queue_shows_household_behaviour_waiting_time_and_offers_the_next(app, client, clock):
    household = make_household("420102", head_name="吴十")
    caseworker = make_user("caseworker", "420100")
    first = make_record(household, caseworker, "HB06")
    clock.advance(hours=30)
    second = make_record(household, caseworker, "HB07")
    clock.advance(hours=2)
    login(client, make_user("reviewer", "420100"))
    queue = client.get("/review").get_data(as_text=True)
    assert "吴十家庭" in queue and "HB06" in queue
    waits = re.findall(r'<td class="waiting">([^<]+)</td>', queue)
    assert waits == ["1 天 8 小时", "2 小时"]
    page = client.get(f"/records/{first.id}").get_data(as_text=True)
    resp = client.post(f"/records/{first.id}/determine",
                       data={"decision": "confirmed", "legal_basis": "HB 四(六)", "csrf_token": _csrf(page)})
    assert resp.status_code == 302 and "decided=1" in resp.headers["Location"]
    after = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert f'href="/records/{second.id}"' in after and "下一条待认定记录" in after


def test_issue18_search_by_name_and_id_tail_says_which_member_matched(client):
    spouse = id_number("420102")
    household = make_household("420102", head_name="王建国")
    h = archives.require_household(household.id)
    data = {"region_code": h.region_code, "address": h.address, "protection_category": "physical",
            "version": h.version, "members": [{"id": m.id, "name": m.name, "id_number": m.id_number,
                                               "relation": m.relation.value} for m in h.members]
            + [{"name": "李秀英", "id_number": spouse, "relation": "spouse"}]}
    archives.update_household(household.id, data, make_user("supervisor", "420000"))
    db.session.commit()
    make_household("420102", head_name="李秀梅")  # same name start, another tail
    login(client, make_user("caseworker", "420100"))
    page = client.get("/households", query_string={"q": f"李秀英 {spouse[-4:]}"}).get_data(as_text=True)
    rows = re.findall(r"<tr>\s*<td><a href=\"/households/(\d+)\"", page)
    assert rows == [str(household.id)]
    assert "匹配成员：李秀英（配偶" in page and spouse not in page
    page = client.get("/households", query_string={"q": f"{spouse[-4:]}李秀"}).get_data(as_text=True)
    assert re.findall(r"<tr>\s*<td><a href=\"/households/(\d+)\"", page) == [str(household.id)]
    wrong = "0000" if spouse[-4:] != "0000" else "1111"
    page = client.get("/households", query_string={"q": f"李秀英 {wrong}"}).get_data(as_text=True)
    assert re.findall(r"<tr>\s*<td><a href=\"/households/(\d+)\"", page) == []


def test_issue18_refused_record_form_keeps_files_and_reports_every_error_in_field_words(app, client):
    household = make_household("420102")
    caseworker = make_user("caseworker", "420100")
    login(client, caseworker)
    url = f"/households/{household.id}/records/new"
    html = client.get(url).get_data(as_text=True)
    data = {**record_data(), "code": "", "occurred_date": "", "source": "", "csrf_token": _csrf(html),
            "evidence": [(io.BytesIO(PDF), "催缴通知.pdf")]}
    resp = client.post(url, data=data, content_type="multipart/form-data")
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    for message in ("请选择失信行为。", "请填写日期。", "请选择信息来源。"):
        assert message in page
    summary = re.search(r'<div class="error-box" role="alert">(.*?)</div>', page, re.S).group(1)
    assert "occurred_date" not in summary and "code" not in summary and "日期" in summary
    assert "催缴通知.pdf" in re.search(r'id="kept-files">(.*?)</div>', page, re.S).group(1)
    token = re.search(r'name="pending_token" value="([^"]+)"', page).group(1)
    assert db.session.scalar(sa.select(sa.func.count(Record.id))) == 0
    # corrected, without choosing the file again: the kept file becomes the evidence
    data = {**record_data(), "csrf_token": _csrf(page), "pending_token": token}
    resp = client.post(url, data=data, content_type="multipart/form-data")
    assert resp.status_code == 302
    record = db.session.scalars(sa.select(Record)).one()
    assert [e.filename for e in record.evidence] == ["催缴通知.pdf"]


def test_issue18_kept_files_belong_to_their_user_only(app, client):
    household = make_household("420102")
    login(client, make_user("caseworker", "420100"))
    url = f"/households/{household.id}/records/new"
    html = client.get(url).get_data(as_text=True)
    page = client.post(url, data={**record_data(), "code": "", "csrf_token": _csrf(html),
                                  "evidence": [(io.BytesIO(PDF), "a.pdf")]},
                       content_type="multipart/form-data").get_data(as_text=True)
    token = re.search(r'name="pending_token" value="([^"]+)"', page).group(1)
    _logout(client)
    login(client, make_user("caseworker", "420100"))
    html = client.get(url).get_data(as_text=True)
    resp = client.post(url, data={**record_data(), "csrf_token": _csrf(html), "pending_token": token},
                       content_type="multipart/form-data")
    assert resp.status_code == 422 and 'id="kept-files"' not in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Record.id))) == 0


def test_issue18_change_history_shows_field_labels_and_staff_names(client):
    supervisor = make_user("supervisor", "420000", username="zhang.wei")
    supervisor.display_name = "张伟"
    db.session.commit()
    household = make_household("420102", actor=supervisor)
    make_record(household, make_user("caseworker", "420100"))
    login(client, make_user("caseworker", "420100"))
    page = client.get(f"/households/{household.id}").get_data(as_text=True)
    history = re.search(r'<section class="card" id="history">(.*?)</section>', page, re.S).group(1)
    assert "张伟" in history and "zhang.wei" not in history
    assert "失信行为" in history and "发生日期" in history
    cells = re.findall(r"<tr>\s*(?:<td rowspan[^>]*>[^<]*</td>\s*){0,3}<td>([^<]+)</td>", history)
    assert cells and not [c for c in cells if re.fullmatch(r"[a-z_]+", c.strip())]


def test_issue18_error_pages_explain_and_offer_a_way_back(client):
    household = make_household("420502")  # Yichang: outside a Wuhan caseworker's region
    login(client, make_user("caseworker", "420100"))
    resp = client.get(f"/households/{household.id}", headers={"Referer": "http://localhost/households?q=张"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 404 and "不在您的辖区内" in page
    assert 'href="/households?q=张" id="error-back"' in page
    resp = client.get("/audit", headers={"Referer": "https://evil.example/phish"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 403 and "湖北意见 八" in page and "evil.example" not in page


def test_issue18_clauses_cite_hubei_and_say_cf_for_liaoning(client, clock):
    household = make_household("420102")
    login(client, make_user("caseworker", "420100"))
    html = client.get(f"/households/{household.id}/records/new").get_data(as_text=True)
    assert "湖北意见 四(六)" in html and "<td>HB 四(六)</td>" not in html
    data = {**record_data(occurred=clock.today() - timedelta(days=60)), "csrf_token": _csrf(html),
            "evidence": [(io.BytesIO(PDF), "a.pdf")]}
    resp = client.post(f"/households/{household.id}/records/new", data=data, content_type="multipart/form-data")
    assert resp.status_code == 302
    assert "参照辽宁指引第九条" in client.get(resp.headers["Location"]).get_data(as_text=True)
