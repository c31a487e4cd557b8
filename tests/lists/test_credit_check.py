"""The credit check (信用查询, HB 六; SPEC §1 exception, §8): province-wide, with a conclusion for the business,
measures from the one measures engine, every check logged; and the household's view of who read its file."""
from __future__ import annotations

import re
from datetime import date

import sqlalchemy as sa

from housingcredit.accounts import service as accounts
from housingcredit.accounts.models import Role
from housingcredit.audit import service as audit
from housingcredit.audit.models import AuditEntry
from housingcredit.extensions import db
from housingcredit.lists.models import CreditCheck
from tests import factories
from tests.conftest import login

from .helpers import Staff, confirm_on

URL = "/api/v1/credit-check?id_number={}&business={}&purpose={}"


def _logs():
    return db.session.scalars(sa.select(CreditCheck).order_by(CreditCheck.id)).all()


def _walk(value, key=None):
    """Every (key, leaf value) of a JSON document."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v, key)
    else:
        yield key, value


def _moderate_wuhan_household(clock):
    """A Wuhan household (head 欧阳娜娜, one more member) with HB06 (moderate, 85) confirmed on 2026-06-01."""
    staff = Staff("420100")
    h = factories.make_household("420102", head_name="欧阳娜娜", members=1)
    record = confirm_on(clock, staff, h, "HB06", date(2026, 6, 1))
    clock.set(date(2026, 6, 10))
    return staff, h, record


def test_spec1_check_outside_region_answers_only_what_the_check_needs(app, clock, api_client, client):
    _staff, h, record = _moderate_wuhan_household(clock)
    names = [m.name for m in h.members]
    yichang = factories.make_user("caseworker", "420500")
    resp = api_client(yichang).get(URL.format(h.head.id_number, "swap", "调换审核"))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    # what the check needs (SPEC §1): tier, list status with dates, measures with clauses, conclusion, region
    assert (body["found"], body["scope"], body["tier"]) == (True, "limited", "moderate")
    assert (body["region_code"], body["region_name"]) == ("420102", "湖北省 武汉市 江岸区")
    assert body["watch"] == {"start_date": "2026-06-01", "until_date": "2027-06-01", "last_day": "2027-06-01"}
    assert body["conclusion"] == "restricted"
    assert [(m["code"], m["clause"], m["until"]) for m in body["restricted_by"]] == [
        ("no_swap_or_upgrade", "HB 六 (与其失信程度相适应的措施)", "2027-06-01")]
    assert {m["code"] for m in body["measures_in_force"]} == {"written_warning", "quarterly_inspection",
                                                              "no_swap_or_upgrade"}
    # never the score, the archive, names, members, records or behaviour codes
    assert (body["score"], body["archive_no"], body["household_id"]) == (None, None, None)
    leaves = list(_walk(body))
    forbidden = [h.archive_no, "HB06", "HB 四(六)", h.head.id_number, *names]
    for key, value in leaves:
        assert key not in ("name", "members", "records", "record_id", "grounds", "explanation"), key
        if isinstance(value, str):
            assert not any(f in value for f in forbidden), (key, value)
        if isinstance(value, int) and not isinstance(value, bool):
            assert key == "check_id" or value not in (h.id, record.id, 85), (key, value)
    # the page shows no more than the API
    login(client, yichang)
    resp = client.post("/credit-check", data={"csrf_token": factories.csrf_token(client),
                                              "id_number": h.head.id_number, "business": "swap",
                                              "purpose": "调换审核"})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    section = html[html.index('<section class="check-result">'):]
    assert "湖北省 武汉市 江岸区" in section and "no_swap_or_upgrade" not in section
    for text in (*forbidden, f"/households/{h.id}"):
        assert text not in section, text
    # no score: "85" as a number of its own (the masked ID number's last four digits may contain it)
    assert not re.search(r"(?<![0-9A-Za-z*])85(?![0-9A-Za-z])", section), "score shown"
    # logged, with both regions
    logs = _logs()
    assert [(c.found, c.conclusion, c.caller_region_code, c.household_region_code, c.household_id, c.purpose)
            for c in logs] == [(True, "restricted", "420500", "420102", h.id, "调换审核")] * 2


def test_spec1_check_inside_region_answers_everything(app, clock, api_client):
    staff, h, _record = _moderate_wuhan_household(clock)
    body = api_client(staff.caseworker).get(URL.format(h.head.id_number, "application", "申请审核")).get_json()
    assert (body["scope"], body["score"], body["archive_no"], body["household_id"]) == ("full", 85, h.archive_no,
                                                                                        h.id)
    assert body["conclusion"] == "may_proceed" and body["restricted_by"] == []


def test_spec1_unknown_id_number_may_proceed_and_is_logged(app, api_client):
    staff = Staff("420100")
    number = factories.id_number("420102")
    resp = api_client(staff.caseworker).get(URL.format(number, "application", "新申请"))
    assert resp.status_code == 200
    body = resp.get_json()
    assert (body["found"], body["conclusion"], body["tier"], body["measures"]) == (False, "may_proceed", None, [])
    assert body["id_number"] == number[:6] + "********" + number[-4:]
    (log,) = _logs()
    assert (log.found, log.conclusion, log.household_id, log.caller_region_code, log.household_region_code,
            log.business, log.purpose) == (False, "may_proceed", None, "420100", None, "application", "新申请")
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "credit.check"))
    assert entry.after["found"] is False and number not in str(entry.after)


def test_spec8_check_purpose_is_required(app, api_client, client):
    staff = Staff("420100")
    h = factories.make_household("420102")
    for purpose in ("", "%20%20"):
        resp = api_client(staff.caseworker).get(URL.format(h.head.id_number, "allocation", purpose))
        assert resp.status_code == 422
        assert list(resp.get_json()["errors"]) == ["purpose"]
    login(client, staff.caseworker)
    resp = client.post("/credit-check", data={"csrf_token": factories.csrf_token(client),
                                              "id_number": h.head.id_number, "business": "swap", "purpose": ""})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert f'value="{h.head.id_number}"' in html  # the form keeps what was typed
    assert re.search(r'<option selected value="swap">|<option value="swap" selected', html)
    assert _logs() == []  # nothing half-written


def test_spec8_check_input_over_the_schemas_limits_is_refused_and_nothing_logged(app, api_client):
    """The check's fast path takes the input as is only within CreditCheckIn's limits (purpose at most 200
    characters, an ID number at most 18, a known business); beyond them the schema's 422 names the field."""
    staff = Staff("420100")
    h = factories.make_household("420102")
    api = api_client(staff.caseworker)
    for number, business, purpose, field in ((h.head.id_number, "allocation", "查" * 201, "purpose"),
                                             (h.head.id_number + "1", "allocation", "复审", "id_number"),
                                             (h.head.id_number, "lottery", "复审", "business")):
        resp = api.get(URL.format(number, business, purpose))
        assert resp.status_code == 422
        assert list(resp.get_json()["errors"]) == [field]
    assert api.get(URL.format(h.head.id_number, "allocation", "查" * 200)).status_code == 200
    assert len(_logs()) == 1  # only the check within the limits was logged


def test_spec8_check_conclusion_restricted_names_measure_and_clause(app, clock, api_client):
    staff, h, _record = _moderate_wuhan_household(clock)
    api = api_client(staff.caseworker)
    body = api.get(URL.format(h.head.id_number, "swap", "调换")).get_json()
    assert body["conclusion"] == "restricted"
    assert body["restricted_by"] == [{"code": "no_swap_or_upgrade", "title": "期内不予调换、升级住房",
                                      "clause": "HB 六 (与其失信程度相适应的措施)", "until": "2027-06-01"}]
    for business in ("application", "allocation", "renewal", "subsidy", "exit", "other"):
        body = api.get(URL.format(h.head.id_number, business, "审核")).get_json()
        assert (business, body["conclusion"], body["restricted_by"]) == (business, "may_proceed", [])
    assert [c.conclusion for c in _logs()] == ["restricted"] + ["may_proceed"] * 6


def test_spec8_severe_tier_alone_gives_no_listing_measure_in_the_check(app, clock, api_client):
    staff = Staff("420100")
    h = factories.make_household("420102")
    confirm_on(clock, staff, h, "HB04", date(2026, 6, 1))  # 30 → 70, severe, 36 months
    clock.set(date(2026, 6, 10))
    api = api_client(staff.caseworker)
    body = api.get(URL.format(h.head.id_number, "allocation", "配租")).get_json()
    assert (body["tier"], body["score"], body["listed"], body["listing"], body["application_ban"]) == (
        "severe", 70, False, None, None)
    assert {m["code"] for m in body["measures"]} == {"written_warning", "quarterly_inspection",
                                                     "no_swap_or_upgrade", "eligibility_review"}
    assert [(m["code"], m["until"]) for m in body["restricted_by"]] == [("eligibility_review", "2029-06-01")]
    body = api.get(URL.format(h.head.id_number, "application", "申请")).get_json()
    assert body["conclusion"] == "may_proceed"  # no_new_application only follows a listing


def test_hb_six_member_id_finds_the_household(app, clock, api_client):
    staff, h, _record = _moderate_wuhan_household(clock)
    member = next(m for m in h.members if m.relation.value != "head")
    body = api_client(staff.caseworker).get(URL.format(member.id_number, "swap", "调换")).get_json()
    assert (body["found"], body["household_id"], body["conclusion"]) == (True, h.id, "restricted")
    assert body["id_number"] == member.id_number[:6] + "********" + member.id_number[-4:]


def test_spec8_lists_panel_shows_the_same_measures_as_the_check(app, clock, api_client):
    from housingcredit.lists import service
    staff, h, _record = _moderate_wuhan_household(clock)
    body = api_client(staff.caseworker).get(URL.format(h.head.id_number, "swap", "调换")).get_json()
    panel = service.panel(h, staff.caseworker)["status"]
    assert [(m["code"], m["clause"], m["until"].isoformat()) for m in panel["measures"]] == [
        (m["code"], m["clause"], m["until"]) for m in body["measures"]]


def test_spec1_household_sees_staff_reads_without_names(app, clock, api_client, client):
    _staff, h, _record = _moderate_wuhan_household(clock)
    wuhan = accounts.create_staff("wang-jingban", "王经办", Role.caseworker, "420100", factories.PASSWORD,
                                  actor=(None, "test"))
    yichang = accounts.create_staff("li-yichang", "李宜昌", Role.caseworker, "420500", factories.PASSWORD,
                                    actor=(None, "test"))
    db.session.commit()
    assert api_client(wuhan).get(f"/api/v1/households/{h.id}").status_code == 200  # household.read
    assert api_client(yichang).get(URL.format(h.head.id_number, "allocation", "配租资格审核")).status_code == 200
    audit.record("credit.read", "household", h.id, household_id=h.id, region_code=h.region_code,
                 actor=(None, "system"))  # a rebuild's read: the system's own, not shown
    db.session.commit()
    user = factories.make_household_user(h)
    login(client, user)
    html = client.get("/my").get_data(as_text=True)
    section = html[html.index('class="staff-reads"'):]
    section = section[:section.index("</table>")]
    assert "湖北省 宜昌市" in section and "湖北省 武汉市" in section
    assert "配租资格审核" in section and "经办人" in section
    for name in ("王经办", "李宜昌", "wang-jingban", "li-yichang"):
        assert name not in html, name
    from housingcredit.audit.reads import staff_reads
    reads = staff_reads(h.id)
    assert [(r["action"], r["region_code"], r["role"], r["business"], r["purpose"]) for r in reads] == [
        ("credit.check", "420500", "caseworker", "allocation", "配租资格审核"),
        ("household.read", "420100", "caseworker", None, None)]
    assert not any("name" in k or "label" == k for r in reads for k in r)
