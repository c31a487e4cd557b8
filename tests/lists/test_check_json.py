"""SPEC §8 (the credit check's answer, issue 21 speed): the API writes the check's answer without a per-request
marshmallow dump — what it sends must be exactly what the documented schema (CreditCheckOut) dumps, for every kind
of answer: unknown number, inside and outside the caller's region, watch, listing and ban, suspended measures."""
from __future__ import annotations

import json
from datetime import date

import pytest

from housingcredit.appeals import service as appeals
from housingcredit.extensions import db
from housingcredit.lists import api as lists_api
from housingcredit.lists import service
from housingcredit.lists.schemas import CreditCheckOut
from tests import factories
from tests.records.helpers import confirm, make_record

from .helpers import PDF, Staff, confirm_on, run_jobs_on

URL = "/api/v1/credit-check"


@pytest.fixture
def compared(monkeypatch):
    """Every answer the API writes during the test, held against CreditCheckOut().dump of the same answer."""
    seen = []
    write = lists_api.answer_response

    def checked(answer):
        resp = write(answer)
        sent = json.loads(resp.get_data(as_text=True))
        assert sent == CreditCheckOut().dump(answer)
        assert resp.mimetype == "application/json"
        seen.append(sent)
        return resp

    monkeypatch.setattr(lists_api, "answer_response", checked)
    return seen


def _ask(api, number, business="allocation"):
    resp = api.get(URL, query_string={"id_number": number, "business": business, "purpose": "核对"})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_spec8_check_answer_is_the_schema_dump_unknown_full_limited_and_listed(app, clock, api_client, compared):
    staff = Staff("420100")
    yichang = factories.make_user("caseworker", "420500")
    moderate = factories.make_household("420102", members=1)
    confirm_on(clock, staff, moderate, "HB06", date(2026, 6, 1))  # tier moderate, watch entry
    listed = factories.make_household("420102")
    clock.set(date(2026, 3, 2))
    service.open_procedure(listed.id, "administrative_penalty", "江岸区住房保障局行政处罚决定书", ("d.pdf", PDF),
                           staff.caseworker)
    db.session.commit()
    run_jobs_on(clock, date(2026, 3, 10))
    run_jobs_on(clock, date(2026, 3, 19))  # listed: listing, application ban, procedure
    clock.set(date(2026, 6, 10))
    plain = factories.make_household("420102")  # no record, procedure or objection
    bodies = []
    for who in (staff.caseworker, yichang):
        api = api_client(who)
        bodies.append(_ask(api, factories.id_number("420102")))  # unknown
        bodies.append(_ask(api, plain.head.id_number))
        for business in ("swap", "other"):
            bodies.append(_ask(api, moderate.members[-1].id_number, business))
            bodies.append(_ask(api, listed.head.id_number, business))
    assert len(compared) == len(bodies) == 12
    assert {(b["found"], b["scope"]) for b in bodies} == {(False, None), (True, "full"), (True, "limited")}
    assert any(b["listing"] and b["application_ban"] and b["procedure"] for b in bodies)
    assert any(b["watch"] and b["conclusion"] == "restricted" and b["restricted_by"] for b in bodies)


def test_spec8_check_answer_is_the_schema_dump_with_suspended_measures(app, clock, api_client, compared):
    household = factories.make_household("420102")
    home = factories.make_household_user(household)
    recorder = factories.make_user("caseworker", "420100")
    reviewer = factories.make_user("reviewer", "420100")
    clock.set(date(2026, 9, 14))
    record = make_record(household, recorder, "HB06", occurred=date(2026, 9, 11))
    confirm(record, reviewer)
    clock.set(date(2026, 9, 28))
    appeals.file_objection(household.id, {"record_id": str(record.id), "reason": "租金已于催缴前结清。"},
                           [("缴费凭证.pdf", PDF)], home)
    db.session.commit()
    for who in (factories.make_user("caseworker", "420100"), factories.make_user("caseworker", "420500")):
        body = _ask(api_client(who), household.head.id_number, "swap")
        assert body["suspended"] and body["measures_suspended"]
        assert all(m["suspended_by"] for m in body["measures_suspended"])
    assert len(compared) == 2
