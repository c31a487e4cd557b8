"""Behaviour records, evidence, four-eyes determination and the credit answer (SPEC §3, §4, §5, §13)."""
from __future__ import annotations

import io
import os
import re
from datetime import date

import pytest
import sqlalchemy as sa

from housingcredit.audit.models import AuditEntry
from housingcredit.errors import Conflict, Forbidden, InvalidInput, NotFound
from housingcredit.extensions import db
from housingcredit.notices.models import Notice
from housingcredit.platform.models import OutboxEvent
from housingcredit.records import service
from housingcredit.records.models import Evidence, Record, Revocation
from housingcredit.scoring import service as scoring
from housingcredit.scoring.models import CreditState
from tests.conftest import login
from tests.factories import make_household, make_household_user, make_user

from .helpers import JPEG, PDF, PNG, confirm, make_record, record_data, revoke
from housingcredit.accounts.gate import SYSTEM


def _evidence_files(app) -> set[str]:
    root = app.config["EVIDENCE_DIR"]
    return {os.path.join(d, f) for d, _s, fs in os.walk(root) for f in fs} if os.path.isdir(root) else set()


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html)
    return m.group(1)


# ---- §4 determination ------------------------------------------------------------------------------------

def test_hb_five_four_eyes_reviewer_is_not_recorder(app, api_client):
    household = make_household("420102")
    supervisor = make_user("supervisor", "420000")
    record = make_record(household, supervisor)
    with pytest.raises(Forbidden) as err:
        service.determine(record.id, "confirmed", "HB 四(六)", supervisor)
    assert "双人复核" in str(err.value.message)  # four-eyes, in the default locale (Chinese)
    db.session.rollback()
    resp = api_client(supervisor).post(f"/api/v1/records/{record.id}/determination",
                                       json={"decision": "confirmed", "legal_basis": "HB 四(六)"})
    assert resp.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CreditState)) == 0
    reviewer = make_user("reviewer", "420100")
    resp = api_client(reviewer).post(f"/api/v1/records/{record.id}/determination",
                                     json={"decision": "confirmed", "legal_basis": "HB 四(六)"})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["status"] == "confirmed"
    assert resp.get_json()["determination"]["determination_date"] == "2026-06-15"


def test_hb_five_only_pending_records_are_determined(app):
    household = make_household("420102")
    record = make_record(household, make_user("caseworker", "420100"))
    confirm(record, make_user("reviewer", "420100"))
    with pytest.raises(Conflict):
        service.determine(record.id, "rejected", "duplicate", make_user("reviewer", "420000"))


def test_hb_five_determination_date_is_today_never_back_dated(app, clock):
    household = make_household("420102")
    record = make_record(household, make_user("caseworker", "420100"), occurred=date(2026, 6, 1))
    clock.set(date(2026, 6, 20))
    det = confirm(record, make_user("reviewer", "420100"))
    assert det.determination_date == date(2026, 6, 20)


def test_hb_five_confirmation_issues_notice_and_platform_event(app):
    household = make_household("420102", head_name="王小明")
    caseworker, reviewer = make_user("caseworker", "420100"), make_user("reviewer", "420100")
    moderate = make_record(household, caseworker, "HB06")
    mild = make_record(household, caseworker, "HB08")
    confirm(moderate, reviewer)
    notice = db.session.scalar(sa.select(Notice).where(Notice.ref_id == str(moderate.id)))
    assert notice.kind == "determination" and notice.household_id == household.id
    assert "HB06" in notice.body and "告知书" in notice.title  # issued in Chinese whatever the reviewer reads
    event = db.session.scalar(sa.select(OutboxEvent).where(OutboxEvent.kind == "record.confirmed"))
    assert event.payload["disclose"] is True and event.payload["severity"] == "moderate"
    assert event.payload["publicity_period"] == {"from": "2026-06-15", "to": "2027-06-15"}
    assert event.payload["subject"]["name"] == "王小明"
    confirm(mild, reviewer)
    mild_event = db.session.scalars(sa.select(OutboxEvent).order_by(OutboxEvent.seq)).all()[-1]
    assert mild_event.payload["record_id"] == mild.id
    assert mild_event.payload["disclose"] is False and mild_event.payload["publicity_period"] is None
    # a rejection gives no notice
    rejected = make_record(household, caseworker, "HB07")
    service.determine(rejected.id, "rejected", "facts not established", reviewer)
    db.session.commit()
    assert db.session.scalar(sa.select(Notice).where(Notice.ref_id == str(rejected.id))) is None


def test_spec_5_score_and_tier_updated_at_once(app):
    household = make_household("420102")
    caseworker, reviewer = make_user("caseworker", "420100"), make_user("reviewer", "420100")
    record = make_record(household, caseworker, "HB06")
    assert db.session.get(CreditState, household.id) is None  # pending records do not count
    confirm(record, reviewer)
    state = db.session.get(CreditState, household.id)
    assert (state.score, state.tier) == (85, "moderate")
    assert state.next_change_date == date(2027, 6, 16)  # the day after D + 12 months
    confirm(make_record(household, caseworker, "HB04"), reviewer)
    db.session.expire_all()
    state = db.session.get(CreditState, household.id)
    assert (state.score, state.tier) == (55, "severe")


def test_hb_five_confirming_without_evidence_is_refused(app, api_client):
    household = make_household("420102")
    caseworker = make_user("caseworker", "420100")
    resp = api_client(caseworker).post(f"/api/v1/households/{household.id}/records", json=record_data())
    assert resp.status_code == 201, resp.get_json()
    record_id = resp.get_json()["id"]
    reviewer = make_user("reviewer", "420100")
    resp = api_client(reviewer).post(f"/api/v1/records/{record_id}/determination",
                                     json={"decision": "confirmed", "legal_basis": "HB 四(六)"})
    assert resp.status_code == 422 and "evidence" in resp.get_json()["errors"]
    resp = api_client(caseworker).post(f"/api/v1/records/{record_id}/evidence",
                                       data={"evidence": (io.BytesIO(PNG), "photo.png")},
                                       content_type="multipart/form-data")
    assert resp.status_code == 201 and resp.get_json()[0]["content_type"] == "image/png"
    resp = api_client(reviewer).post(f"/api/v1/records/{record_id}/determination",
                                     json={"decision": "confirmed", "legal_basis": "HB 四(六)"})
    assert resp.status_code == 201
    resp = api_client(caseworker).post(f"/api/v1/records/{record_id}/evidence",
                                       data={"evidence": (io.BytesIO(PDF), "late.pdf")},
                                       content_type="multipart/form-data")
    assert resp.status_code == 409  # evidence only while pending


# ---- §5 as of a past date, revocation, repair -----------------------------------------------------------

def test_spec_5_as_of_past_answer_unchanged_after_later_facts(app, clock, api_client):
    household = make_household("420102")
    caseworker, reviewer = make_user("caseworker", "420100"), make_user("reviewer", "420000")
    first = make_record(household, caseworker, "HB06")
    confirm(first, reviewer)
    staff = api_client(make_user("caseworker", "420102"))
    url = f"/api/v1/households/{household.id}/credit?as_of=2026-06-15"
    before = staff.get(url).get_json()
    assert (before["score"], before["tier"]) == (85, "moderate")
    assert before["items"][0]["clause"] == "HB 四(六)" and before["items"][0]["version"] == "hubei-2018"
    assert before["catalogue_versions"] == ["hubei-2018"]
    clock.set(date(2026, 7, 1))
    confirm(make_record(household, caseworker, "HB04", occurred=date(2026, 6, 30)), reviewer)
    revoke(first, caseworker, make_user("reviewer", "420100"))
    after = staff.get(url).get_json()
    # the answer about June 15 stays as it was, and marks what the later revocation did (SPEC §4)
    assert after["items"][0].pop("later_changes") == [{"kind": "revoked", "on": "2026-07-01", "reason": "error"}]
    assert before["items"][0].pop("later_changes") == []
    assert after == before
    now = staff.get(f"/api/v1/households/{household.id}/credit").get_json()
    assert (now["score"], now["tier"], now["as_of"]) == (70, "severe", "2026-07-01")
    assert [i["code"] for i in now["items"]] == ["HB04"]


def test_spec_5_credit_api_refuses_malformed_or_future_date(app, api_client):
    household = make_household("420102")
    staff = api_client(make_user("caseworker", "420100"))
    resp = staff.get(f"/api/v1/households/{household.id}/credit?as_of=2026-13-01")
    assert resp.status_code == 422 and "as_of" in resp.get_json()["errors"]
    resp = staff.get(f"/api/v1/households/{household.id}/credit?as_of=2026-06-16")
    assert resp.status_code == 422
    assert staff.get("/api/v1/households/999999/credit").status_code == 404
    assert app.test_client().get(f"/api/v1/households/{household.id}/credit").status_code == 401


def test_spec_11_staff_credit_read_is_logged(app, api_client):
    household = make_household("420102")
    staff = make_user("caseworker", "420100")
    api_client(staff).get(f"/api/v1/households/{household.id}/credit")
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "credit.read"))
    assert entry.household_id == household.id and entry.actor_id == staff.id


def test_spec_4_revocation_is_a_decision_effective_on_its_confirmation_date(app, clock, api_client):
    household = make_household("420102")
    caseworker, reviewer = make_user("caseworker", "420100"), make_user("reviewer", "420100")
    record = make_record(household, caseworker, "HB04")
    confirm(record, reviewer)
    clock.set(date(2026, 8, 3))
    proposer = make_user("caseworker", "420100")
    resp = api_client(proposer).post(f"/api/v1/records/{record.id}/revocation",
                                     json={"reason": "error", "note": "认定错误"})
    assert resp.status_code == 201 and resp.get_json()["decision"] is None
    proposal_id = resp.get_json()["id"]
    # a proposal changes nothing and is never shown to the household
    assert db.session.get(CreditState, household.id).score == 70
    assert sorted(n.kind for n in db.session.scalars(sa.select(Notice))) == ["determination", "watch_warning"]
    # a second proposal while one is open is refused
    assert api_client(proposer).post(f"/api/v1/records/{record.id}/revocation",
                                     json={"reason": "error"}).status_code == 409
    clock.set(date(2026, 8, 5))
    resp = api_client(reviewer).post(f"/api/v1/revocations/{proposal_id}/decision", json={"decision": "confirmed"})
    assert resp.status_code == 201 and resp.get_json()["status"] == "revoked"
    assert resp.get_json()["revocation"]["revoked_date"] == "2026-08-05"
    state = db.session.get(CreditState, household.id)
    assert (state.score, state.tier) == (100, "good")
    assert scoring.credit_for(household, date(2026, 8, 4), who=SYSTEM).score == 70  # still counts for the days before
    assert scoring.credit_for(household, date(2026, 8, 5), who=SYSTEM).score == 100
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Record)) == 1  # nothing deleted
    notice = db.session.scalar(sa.select(Notice).where(Notice.kind == "revocation"))
    assert notice.issued_date == date(2026, 8, 5) and "2026-08-05" in notice.body and "登记错误" in notice.body
    resp = api_client(proposer).post(f"/api/v1/records/{record.id}/revocation", json={"reason": "error"})
    assert resp.status_code == 409
    assert [e.kind for e in db.session.scalars(sa.select(OutboxEvent).order_by(OutboxEvent.seq))
            if e.kind.startswith("record.")] == [
        "record.confirmed", "record.revoked"]


def test_spec_4_revocation_two_people_proposer_and_recorder_cannot_confirm(app, clock, api_client):
    household = make_household("420102")
    recorder, reviewer = make_user("caseworker", "420100"), make_user("reviewer", "420100")
    supervisor = make_user("supervisor", "420000")
    record = make_record(household, recorder, "HB04")
    confirm(record, reviewer)
    resp = api_client(supervisor).post(f"/api/v1/records/{record.id}/revocation",
                                       json={"reason": "annulled", "note": "行政处罚已被法院撤销"})
    proposal_id = resp.get_json()["id"]
    # the proposer (a supervisor too is bound) and the recorder may not confirm
    for who in (supervisor, recorder):
        resp = api_client(who).post(f"/api/v1/revocations/{proposal_id}/decision", json={"decision": "confirmed"})
        assert resp.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Revocation)) == 0
    # a rejected proposal sends nothing and the record keeps counting
    resp = api_client(reviewer).post(f"/api/v1/revocations/{proposal_id}/decision", json={"decision": "rejected"})
    assert resp.status_code == 201 and resp.get_json()["status"] == "confirmed"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notice).where(Notice.kind == "revocation")) == 0
    assert db.session.get(CreditState, household.id).score == 70


def test_spec_4_objection_upheld_is_not_a_reason_anyone_can_pick(app, api_client):
    household = make_household("420102")
    caseworker, reviewer = make_user("caseworker", "420100"), make_user("reviewer", "420100")
    record = make_record(household, caseworker, "HB04")
    confirm(record, reviewer)
    for reason in ("objection_upheld", "corrected", "withdrawn"):
        resp = api_client(caseworker).post(f"/api/v1/records/{record.id}/revocation", json={"reason": reason})
        assert resp.status_code == 422 and "reason" in resp.get_json()["errors"]
    resp = api_client(caseworker).post(f"/api/v1/records/{record.id}/revocation", json={"reason": "other"})
    assert resp.status_code == 422 and "note" in resp.get_json()["errors"]


def test_spec_4_same_occurrence_recorded_again_after_rejection_or_revocation(app):
    household = make_household("420102")
    caseworker, reviewer = make_user("caseworker", "420100"), make_user("reviewer", "420100")
    first = make_record(household, caseworker, "HB06", occurred=date(2026, 6, 10))
    with pytest.raises(Conflict):  # pending
        make_record(household, caseworker, "HB06", occurred=date(2026, 6, 10))
    db.session.rollback()
    service.determine(first.id, "rejected", "证据不足", reviewer)
    db.session.commit()
    second = make_record(household, caseworker, "HB06", occurred=date(2026, 6, 10))  # a rejected one does not block
    confirm(second, reviewer)
    with pytest.raises(Conflict):  # standing
        make_record(household, caseworker, "HB06", occurred=date(2026, 6, 10))
    db.session.rollback()
    revoke(second, caseworker, make_user("reviewer", "420100"))
    assert make_record(household, caseworker, "HB06", occurred=date(2026, 6, 10)).id > second.id


def test_spec_4_different_behaviour_is_a_revocation_and_a_new_record(app):
    household = make_household("420102")
    caseworker, reviewer = make_user("caseworker", "420100"), make_user("reviewer", "420100")
    original = make_record(household, caseworker, "HB05")
    confirm(original, reviewer)
    with pytest.raises(InvalidInput) as err:
        service.propose_correction(original.id, {"reason": "error", "code": "HB06", "facts": "x"}, [], caseworker)
    assert "code" in err.value.errors
    db.session.rollback()
    revoke(original, caseworker, make_user("reviewer", "420100"))
    new = make_record(household, caseworker, "HB06")
    confirm(new, reviewer)
    assert db.session.get(CreditState, household.id).score == 85


def test_hb_seven_repaired_record_stops_counting(app, clock):
    household = make_household("420102")
    caseworker, reviewer = make_user("caseworker", "420100"), make_user("reviewer", "420100")
    record = make_record(household, caseworker, "HB06")
    confirm(record, reviewer)
    clock.set(date(2026, 9, 16))
    service.record_repair(record.id, "已补缴全部欠租", caseworker)
    db.session.commit()
    assert db.session.get(CreditState, household.id).score == 100
    assert scoring.credit_for(household, date(2026, 9, 15), who=SYSTEM).score == 85
    with pytest.raises(Conflict):
        service.record_repair(record.id, "again", caseworker)


def test_spec_5_history_points_follow_the_change_dates(app, clock, api_client):
    household = make_household("420102")
    caseworker, reviewer = make_user("caseworker", "420100"), make_user("reviewer", "420100")
    confirm(make_record(household, caseworker, "HB08"), reviewer)  # mild: counts 6 months
    clock.set(date(2027, 1, 20))
    resp = api_client(caseworker).get(f"/api/v1/households/{household.id}/credit/history?from=2026-06-01")
    points = [(p["date"], p["score"]) for p in resp.get_json()["points"]]
    assert ("2026-06-15", 95) in points and ("2026-12-16", 100) in points
    assert points[0] == ("2026-06-01", 100) and points[-1] == ("2027-01-20", 100)


# ---- §3 recording --------------------------------------------------------------------------------------

def test_ln_nine_late_entry_flagged_and_counted(app, clock):
    household = make_household("420102")
    caseworker = make_user("caseworker", "420100")
    # 2026-06-15 (Mon) is exactly 7 working days after 2026-06-04 (Thu): on time; one more day is late.
    on_time = make_record(household, caseworker, "HB06", occurred=date(2026, 6, 1), formed=date(2026, 6, 4))
    late = make_record(household, caseworker, "HB07", occurred=date(2026, 6, 1), formed=date(2026, 6, 3))
    assert (on_time.late, late.late) == (False, True)
    data = service.overview(caseworker)
    assert data["late_entries"] == 1 and data["my_pending"] == 2
    assert [r.id for r in data["late_records"]] == [late.id]


def test_hb_four_eleven_has_no_points_of_its_own_and_cannot_be_recorded(app):
    household = make_household("420102")
    with pytest.raises(InvalidInput) as err:
        service.create_record(household.id, record_data("HB11"), [("a.pdf", PDF)], make_user("caseworker", "420100"))
    assert "code" in err.value.errors


def test_hb_five_evidence_required_and_checked_by_content(app, api_client):
    household = make_household("420102")
    caseworker = make_user("caseworker", "420100")
    api = api_client(caseworker)
    url = f"/api/v1/households/{household.id}/records"
    files_before = _evidence_files(app)
    cases = [
        [],                                                  # none at all
        [(io.BytesIO(b"MZ\x90\x00 not a pdf"), "scan.pdf")],  # right name, wrong content
        [(io.BytesIO(PDF), "scan.exe")],                     # right content, wrong name
        [(io.BytesIO(PDF), "ok.pdf"), (io.BytesIO(b"#!/bin/sh"), "x.png")],  # one bad file refuses all
    ]
    for files in cases:
        resp = api.post(url, data={**record_data(), "evidence": files}, content_type="multipart/form-data")
        assert resp.status_code == 422, resp.get_json()
        assert "evidence" in resp.get_json()["errors"]
    app.config["EVIDENCE_MAX_BYTES"] = 1024
    resp = api.post(url, data={**record_data(), "evidence": [(io.BytesIO(PDF + b"0" * 2000), "big.pdf")]},
                    content_type="multipart/form-data")
    assert resp.status_code == 422 and "evidence" in resp.get_json()["errors"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Record)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Evidence)) == 0
    assert _evidence_files(app) == files_before


def test_hb_five_evidence_stored_by_sha256_never_overwritten(app, api_client):
    import hashlib
    household = make_household("420102")
    caseworker = make_user("caseworker", "420100")
    resp = api_client(caseworker).post(
        f"/api/v1/households/{household.id}/records",
        data={**record_data(), "evidence": [(io.BytesIO(JPEG), "现场照片.JPG"), (io.BytesIO(PDF), "../../etc/x.pdf")]},
        content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_json()
    evidence = resp.get_json()["evidence"]
    assert [e["filename"] for e in evidence] == ["现场照片.JPG", "x.pdf"]
    assert evidence[0]["sha256"] == hashlib.sha256(JPEG).hexdigest()
    path = os.path.join(app.config["EVIDENCE_DIR"], evidence[1]["sha256"][:2], evidence[1]["sha256"])
    mtime = os.stat(path).st_mtime_ns
    make_record(household, caseworker, "HB07", files=[("again.pdf", PDF)])  # same bytes: stored once
    assert os.stat(path).st_mtime_ns == mtime
    with open(path, "rb") as fh:
        assert fh.read() == PDF


def test_hb_five_a_record_is_made_once_per_occurrence(app):
    household = make_household("420102")
    caseworker = make_user("caseworker", "420100")
    make_record(household, caseworker, "HB06")
    with pytest.raises(Conflict):
        make_record(household, caseworker, "HB06")


def test_hb_eight_wuhan_caseworker_cannot_record_for_yichang_household(app, client, api_client):
    yichang = make_household("420502", head_name="刘宜昌")
    wuhan_caseworker = make_user("caseworker", "420100")
    with pytest.raises(NotFound):
        service.create_record(yichang.id, record_data(), [("a.pdf", PDF)], wuhan_caseworker)
    db.session.rollback()
    resp = api_client(wuhan_caseworker).post(f"/api/v1/households/{yichang.id}/records",
                                             data={**record_data(), "evidence": [(io.BytesIO(PDF), "a.pdf")]},
                                             content_type="multipart/form-data")
    assert resp.status_code == 404
    login(client, wuhan_caseworker)
    assert client.get(f"/households/{yichang.id}/records/new").status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Record)) == 0
    # and its evidence cannot be downloaded from Wuhan either
    record = make_record(yichang, make_user("caseworker", "420500"))
    assert client.get(f"/evidence/{record.evidence[0].id}").status_code == 404
    assert client.get(f"/records/{record.id}").status_code == 404


def test_catalogue_api_lists_behaviours_in_force(app, api_client):
    resp = api_client(make_user("caseworker", "420100")).get("/api/v1/catalogue?region=420102")
    items = {i["code"]: i for i in resp.get_json()}
    # HB01–HB10 of the SPEC §3 table; HB11 has no points of its own and is not offered for recording
    assert [i["code"] for i in resp.get_json()] == [f"HB{n:02d}" for n in range(1, 11)]
    assert items["HB06"] == {"code": "HB06", "clause": "HB 四(六)", "deduct": 15, "tier": "moderate",
                             "use_months": 12, "version": "hubei-2018", "parent": None, "repairable": True,
                             "title_zh": "无正当理由拖欠租金累计6个月以上",
                             "title_en": "Rent arrears accumulated over 6 months without justification"}
    assert {c: (i["deduct"], i["tier"], i["use_months"]) for c, i in items.items()} == {
        "HB01": (20, "moderate", 12), "HB02": (50, "severe", 36), "HB03": (10, "mild", 6),
        "HB04": (30, "severe", 36), "HB05": (20, "moderate", 12), "HB06": (15, "moderate", 12),
        "HB07": (10, "mild", 6), "HB08": (5, "mild", 6), "HB09": (30, "severe", 36), "HB10": (20, "moderate", 12)}
    assert api_client(make_user("caseworker", "420100")).get("/api/v1/catalogue?region=12").status_code == 422


# ---- pages ---------------------------------------------------------------------------------------------

def test_record_form_keeps_typed_values_on_error_and_records(app, client):
    household = make_household("420102")
    caseworker = make_user("caseworker", "420100")
    login(client, caseworker)
    page = client.get(f"/households/{household.id}/records/new")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "HB06" in html and "湖北意见 四(六)" in html and "无正当理由拖欠租金" in html
    data = {**record_data(facts="欠租七个月的事实"), "csrf_token": _csrf(html)}
    resp = client.post(f"/households/{household.id}/records/new", data=data, content_type="multipart/form-data")
    assert resp.status_code == 422
    assert "欠租七个月的事实" in resp.get_data(as_text=True)
    assert 'value="2026-06-10"' in resp.get_data(as_text=True)
    data["evidence"] = [(io.BytesIO(PDF), "a.pdf")]
    resp = client.post(f"/households/{household.id}/records/new", data=data, content_type="multipart/form-data")
    assert resp.status_code == 302
    record = db.session.scalar(sa.select(Record))
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert record.evidence[0].sha256 in page and "HB06" in page


def test_review_queue_shows_own_records_disabled_and_determines(app, client):
    household = make_household("420102")
    reviewer = make_user("reviewer", "420100")
    own = make_record(household, make_user("supervisor", "420100"), "HB07")
    other = make_record(household, make_user("caseworker", "420100"), "HB06")
    supervisor_own = db.session.get(Record, own.id).recorded_by
    login(client, supervisor_own)
    html = client.get("/review").get_data(as_text=True)
    assert f"/records/{other.id}" in html and f"/records/{own.id}\"" not in html
    client.get("/logout")
    login(client, reviewer)
    page = client.get(f"/records/{other.id}").get_data(as_text=True)
    resp = client.post(f"/records/{other.id}/determine",
                       data={"decision": "confirmed", "legal_basis": "", "csrf_token": _csrf(page)})
    assert resp.status_code == 422  # legal basis required
    resp = client.post(f"/records/{other.id}/determine",
                       data={"decision": "confirmed", "legal_basis": "HB 四(六)", "csrf_token": _csrf(page)})
    assert resp.status_code == 302
    assert db.session.get(CreditState, household.id).score == 85


def test_household_sees_own_score_explanation_and_records(app, client):
    household = make_household("420102", head_name="赵六")
    confirm(make_record(household, make_user("caseworker", "420100"), "HB06"), make_user("reviewer", "420100"))
    user = make_household_user(household)
    login(client, user)
    resp = client.get("/my/credit?lang=en")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert 'data-score="85"' in html and 'data-tier="moderate"' in html
    assert "Hubei opinions 四(六)" in html and "hubei-2018" in html and "<svg" in html and "<polyline" in html
    assert "Record a behaviour" not in html
    other = make_household("420102", head_name="钱七")
    assert client.get(f"/api/v1/households/{other.id}/credit").status_code == 401  # no API for households


def test_credit_panel_as_of_a_past_date_for_staff(app, client, clock):
    household = make_household("420102")
    caseworker = make_user("caseworker", "420100")
    confirm(make_record(household, caseworker, "HB04"), make_user("reviewer", "420100"))
    clock.set(date(2026, 7, 1))
    login(client, caseworker)
    from flask import render_template_string

    from housingcredit.records.views import credit_panel
    with app.test_request_context("/?as_of=2026-06-14"):
        from flask_login import login_user
        login_user(caseworker)
        html = render_template_string('{% include "records/_credit_panel.html" %}', household=household,
                                      credit=credit_panel(household))  # the view prepares it
    # as of 2026-06-14 the record (determined 2026-06-15) does not count yet; the staff panel offers recording
    assert 'data-score="100"' in html and 'data-tier="good"' in html
    assert "记录失信行为" in html  # Chinese first
    with app.test_request_context("/?as_of=not-a-date"):
        from flask_login import login_user
        login_user(caseworker)
        html = render_template_string('{% include "records/_credit_panel.html" %}', household=household,
                                      credit=credit_panel(household))  # the view prepares it
    assert 'data-score="70"' in html and 'role="alert"' in html


def test_hb_three_archive_pages_carry_the_credit_panel(app, client):
    household = make_household("420102", head_name="孙八")
    caseworker = make_user("caseworker", "420100")
    confirm(make_record(household, caseworker, "HB08"), make_user("reviewer", "420100"))
    login(client, caseworker)
    html = client.get(f"/households/{household.id}").get_data(as_text=True)
    assert 'data-score="95"' in html and 'data-tier="mild"' in html
    assert f"/households/{household.id}/records/new" in html
    client.post("/logout", data={"csrf_token": _csrf(html)})
    login(client, make_household_user(household))
    html = client.get("/my").get_data(as_text=True)
    assert 'data-score="95"' in html and "湖北意见 四(八)" in html
    assert f"/households/{household.id}/records/new" not in html


def test_ln_nine_caseworker_overview_page_counts_late_entries(app, client):
    household = make_household("420102")
    caseworker = make_user("caseworker", "420100")
    make_record(household, caseworker, "HB07", occurred=date(2026, 5, 1), formed=date(2026, 5, 6))
    login(client, caseworker)
    html = client.get("/records/overview").get_data(as_text=True)
    assert re.search(r'data-count="late">1<', html) and re.search(r'data-count="pending">1<', html)


def test_evidence_download_in_region(app, client):
    household = make_household("420102")
    caseworker = make_user("caseworker", "420100")
    record = make_record(household, caseworker, files=[("合同.pdf", PDF)])
    login(client, make_user("reviewer", "420102"))
    resp = client.get(f"/evidence/{record.evidence[0].id}")
    assert resp.status_code == 200 and resp.data == PDF and resp.mimetype == "application/pdf"
    resp.close()
    assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "evidence.read")) is not None
