"""SPEC §12: every notice is a formal administrative document — document number (series per kind), addressee,
facts, clause, decision, the household's rights with their deadlines, issuing office, seal area, the date written
2026年11月26日, and "评审委员会" only where a committee decided (none does: one reviewer confirms). A revocation or
correction cites the number it replaces and supersedes it; so does a newer credit report (verification says so)."""
from __future__ import annotations

import re
import shutil
from datetime import date

import pytest
import sqlalchemy as sa

from housingcredit.accounts.gate import SYSTEM
from housingcredit.accounts.models import User
from housingcredit.appeals import repairs, service as appeals
from housingcredit.extensions import db
from housingcredit.notices.models import Notice
from housingcredit.records import service as records
from housingcredit.reports import service as documents
from housingcredit.reports.models import Document
from tests.factories import make_household, make_household_user, make_user
from tests.lists.helpers import PDF, run_jobs_on
from tests.records.helpers import PNG, confirm, make_record
from tests.reports.test_documents import dark_pixels, pdf_text

pytestmark = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils (pdftotext) not installed")
OFFICE = "武汉市住房和城市更新局"


def _notice(household, kind) -> Notice:
    db.session.expire_all()
    return db.session.scalar(sa.select(Notice).where(Notice.household_id == household.id, Notice.kind == kind)
                             .order_by(Notice.id.desc()).limit(1))


def _formal(household, kind, tmp_path, series, issued_zh, clause, decision, rights=()):
    """The notice of `kind` as its PDF, holding every formal part; returns (document, flat text)."""
    notice = _notice(household, kind)
    assert notice is not None, kind
    doc, data = documents.notice_pdf(notice.id, SYSTEM)
    db.session.commit()
    flat = re.sub(r"\s+", "", pdf_text(data, tmp_path))
    assert re.fullmatch(rf"鄂武房信{series}〔2026〕第\d{{4}}号", doc.number), (kind, doc.number)
    assert doc.number in flat, kind
    assert "王五（户主" in flat, kind  # the addressee: the head by name
    assert "一、事实" in flat and "二、依据" in flat and re.sub(r"\s+", "", clause) in flat, kind
    assert "三、决定" in flat and decision in flat, kind
    for right in rights:
        assert "四、您的权利及期限" in flat and right in flat, (kind, right)
    if not rights:
        assert "您的权利" not in flat, kind
    assert OFFICE in flat and "印章" in flat and issued_zh in flat, kind
    assert not re.search(r"\b\d{4}-\d{2}-\d{2}\b", flat), kind  # every date written 2026年6月15日
    assert "评审委员会" not in flat, kind  # no committee decided
    assert dark_pixels(data, tmp_path) > 200
    return doc, flat


@pytest.fixture
def wuhan(app, clock):
    household = make_household("420102", head_name="王五")
    staff = {"recorder": make_user("caseworker", "420100"), "caseworker": make_user("caseworker", "420100"),
             "reviewer": make_user("reviewer", "420100"), "home": make_household_user(household)}
    return household, staff


def test_spec12_determination_and_watch_warning_with_rights_and_deadlines(wuhan, clock, tmp_path):
    household, s = wuhan
    clock.set(date(2026, 6, 15))
    confirm(make_record(household, s["recorder"], "HB06", occurred=date(2026, 6, 10)), s["reviewer"])
    _doc, flat = _formal(household, "determination", tmp_path, "告", "2026年6月15日",
                         "HB 四(六); 公共租赁住房租赁合同第八条", "认定上述失信行为成立",
                         rights=("10个工作日内（即2026年6月30日前）",  # Dragon Boat Festival 19 June skipped
                                 "本记录最早可于2026年9月16日起申请修复"))  # moderate: D + 3 months, the day after
    assert "计分有效期至2027年6月15日" in flat or "2027年6月15日" in flat  # the facts, dates in Chinese
    assert "另一名评审人审核认定" in flat
    _formal(household, "watch_warning", tmp_path, "警", "2026年6月15日", "HB六", "列入重点关注名单",
            rights=("10个工作日内（即2026年6月30日前）",))


def test_spec12_objection_result_revocation_and_restoration_supersede_the_determination(
        wuhan, clock, tmp_path, client):
    household, s = wuhan
    clock.set(date(2026, 9, 14))
    record = make_record(household, s["recorder"], "HB06", occurred=date(2026, 9, 11))
    confirm(record, s["reviewer"])
    determination = db.session.scalar(sa.select(Document).where(
        Document.notice_id == _notice(household, "determination").id))
    clock.set(date(2026, 9, 28))
    o = appeals.file_objection(household.id, {"record_id": str(record.id), "reason": "租金已结清"},
                               [("缴费凭证.pdf", PDF)], s["home"])
    db.session.commit()
    handler = db.session.get(User, o.handler_id)
    appeals.propose(o.id, {"outcome": "upheld", "reasons": "凭证属实"}, handler)
    db.session.commit()
    clock.set(date(2026, 10, 14))
    appeals.decide(o.id, {"decision": "confirmed"}, s["reviewer"])
    db.session.commit()
    _formal(household, "objection_result", tmp_path, "复", "2026年10月14日", "HB七;LN第十条", "异议成立",
            rights=("行政复议", "2026年12月13日前"))  # 60 days
    revocation, flat = _formal(household, "revocation", tmp_path, "更", "2026年10月14日", "HB七",
                               "撤销该失信行为记录")
    assert determination.number in flat  # the revocation cites the number it replaces
    _formal(household, "restoration", tmp_path, "更", "2026年10月14日", "HB七", "恢复您家庭的信誉")
    db.session.refresh(determination)
    assert determination.superseded_by_id == revocation.id
    page = client.get(f"/verify/{determination.verify_code}").get_data(as_text=True)
    assert f"于 2026年10月14日 被 {revocation.number} 替代" in page or (
        "2026年10月14日" in page and revocation.number in page)
    assert "王五" not in page


def test_spec12_rejected_objection_result_states_the_rejection(wuhan, clock, tmp_path):
    household, s = wuhan
    clock.set(date(2026, 9, 14))
    record = make_record(household, s["recorder"], "HB06", occurred=date(2026, 9, 11))
    confirm(record, s["reviewer"])
    clock.set(date(2026, 9, 28))
    o = appeals.file_objection(household.id, {"record_id": str(record.id), "reason": "有异议"},
                               [("说明.pdf", PDF)], s["home"])
    db.session.commit()
    appeals.propose(o.id, {"outcome": "rejected", "reasons": "证据不足"}, db.session.get(User, o.handler_id))
    db.session.commit()
    appeals.decide(o.id, {"decision": "confirmed"}, s["reviewer"])
    db.session.commit()
    _formal(household, "objection_result", tmp_path, "复", "2026年9月28日", "LN第十条", "异议不成立",
            rights=("行政复议",))


def test_spec12_repair_incomplete_acceptance_and_decision(wuhan, clock, tmp_path):
    household, s = wuhan
    clock.set(date(2026, 1, 15))
    record = make_record(household, s["recorder"], "HB06", occurred=date(2026, 1, 12))
    confirm(record, s["reviewer"])
    clock.set(date(2026, 4, 16))
    a = repairs.apply(household.id, {"record_id": str(record.id), "declaration": "已补缴",
                                     "commitment_signed": "true"}, [("补缴凭证.pdf", PDF)], [], s["home"])
    db.session.commit()
    handler = db.session.get(User, a.handler_id)
    repairs.mark_incomplete(a.id, {"missing": "缴费凭证原件"}, handler)
    db.session.commit()
    _formal(household, "repair_incomplete", tmp_path, "复", "2026年4月16日", "LN第十二条", "一次性补正")
    repairs.complete(a.id, {}, [("原件.pdf", PDF)], [], s["home"])
    db.session.commit()
    clock.set(date(2026, 4, 17))
    repairs.accept(a.id, handler)
    db.session.commit()
    _d, flat = _formal(household, "repair_acceptance", tmp_path, "复", "2026年4月17日", "LN第十三条", "予以受理")
    assert re.search(r"2026年4月\d+日前|于2026年4月\d+日", flat) or "2026年4月" in flat
    repairs.propose(a.id, {"outcome": "granted", "reasons": "已整改"}, handler)
    db.session.commit()
    repairs.decide(a.id, {"decision": "confirmed"}, s["reviewer"])
    db.session.commit()
    _formal(household, "repair_result", tmp_path, "复", "2026年4月17日", "LN第十一条、第十三条", "准予信用修复",
            rights=("行政复议",))


def test_spec12_order_risk_notice_publicity_and_listing(wuhan, clock, tmp_path):
    from housingcredit.lists import service as lists
    household, s = wuhan
    clock.set(date(2026, 3, 2))
    lists.issue_order(household.id, "illegal_transfer", "2026-03-30", "停止转租", None, s["caseworker"])
    db.session.commit()
    _formal(household, "rectification_order", tmp_path, "令", "2026年3月2日", "HB", "责令您家庭在上述期限内改正",
            rights=("10个工作日内",))
    lists.open_procedure(household.id, "administrative_penalty", "江岸区住房保障局行政处罚决定书", ("d.pdf", PDF),
                         s["caseworker"])
    db.session.commit()
    _formal(household, "risk_notice", tmp_path, "催", "2026年3月2日", "HB六", "拟将您家庭列入失信联合惩戒对象名单",
            rights=("10个工作日内",))
    run_jobs_on(clock, date(2026, 3, 10))
    _formal(household, "procedure_publicity", tmp_path, "决", "2026年3月10日", "HB六", "予以公示",
            rights=("10个工作日内",))
    run_jobs_on(clock, date(2026, 3, 19))
    _formal(household, "procedure_listed", tmp_path, "决", "2026年3月19日", "HB六", "列入失信联合惩戒对象名单",
            rights=("10个工作日内", "行政复议", "2026年9月19日前"))  # six months for a lawsuit


def test_spec12_correction_cites_and_supersedes_the_determination(wuhan, clock, tmp_path, client):
    household, s = wuhan
    clock.set(date(2026, 6, 15))
    record = make_record(household, s["recorder"], "HB06", occurred=date(2026, 6, 10))
    confirm(record, s["reviewer"])
    determination = db.session.scalar(sa.select(Document).where(
        Document.notice_id == _notice(household, "determination").id))
    clock.set(date(2026, 7, 1))
    proposal = records.propose_correction(record.id, {"reason": "error", "occurred_date": "2026-06-08",
                                                      "facts": "经核实，发生于6月8日。"},
                                          [("缴费记录.png", PNG)], s["caseworker"])
    records.decide_correction(proposal.id, "confirmed", "", s["reviewer"])
    db.session.commit()
    correction, flat = _formal(household, "correction", tmp_path, "更", "2026年7月1日", "HB三", "更正",
                               rights=("10个工作日内",))
    assert determination.number in flat and "2026年6月8日" in flat
    db.session.refresh(determination)
    assert determination.superseded_by_id == correction.id
    result = documents.verify(determination.verify_code)
    assert (result["genuine"], result["stands"]) == (True, False)
    assert (result["superseded_by"], result["superseded_on"]) == (correction.number, "2026年7月1日")


def test_spec12_a_newer_credit_report_supersedes_the_older(wuhan, clock, client):
    household, s = wuhan
    first = documents.issue_credit_report(household.id, s["caseworker"])
    db.session.commit()
    clock.set(date(2026, 6, 20))
    second = documents.issue_credit_report(household.id, s["caseworker"])
    db.session.commit()
    db.session.refresh(first)
    assert first.superseded_by_id == second.id and second.superseded_by_id is None
    page = client.get(f"/verify/{first.verify_code}").get_data(as_text=True)
    assert second.number in page and "2026年6月20日" in page and "王*" in page
    assert "王五" not in page and household.head.id_number not in page
    assert documents.verify(second.verify_code)["stands"] is True
