"""SPEC §9: caseworkers and supervisors see every open objection and repair application with its due date, the
overdue first — on the due page and in the due API — and staff register both at the counter, marked as such, the
deadlines counted from the day received (the working-day calendar: National Day 2026, adjusted working days)."""
from __future__ import annotations

from datetime import date

from housingcredit.appeals import repairs, service as appeals
from housingcredit.extensions import db
from tests.conftest import login
from tests.factories import make_household, make_user
from tests.records.helpers import PDF, confirm, make_record


def test_spec9_open_objections_and_repairs_on_the_due_page_overdue_first_registered_at_the_counter(
        app, clock, api_client):
    household = make_household("420102")
    recorder, counter = make_user("caseworker", "420100"), make_user("caseworker", "420102")
    reviewer = make_user("reviewer", "420100")
    clock.set(date(2026, 9, 14))
    moderate = make_record(household, recorder, "HB06", occurred=date(2026, 9, 11))
    confirm(moderate, reviewer)
    mild = make_record(household, recorder, "HB08", occurred=date(2026, 9, 11))
    confirm(mild, reviewer)
    clock.set(date(2026, 10, 12))
    o = appeals.file_objection(household.id, {"record_id": moderate.id, "reason": "纸质异议",
                                              "received_date": "2026-09-17"}, [("异议.pdf", PDF)], counter)
    a = repairs.apply(household.id, {"record_id": mild.id, "declaration": "已整改", "commitment_signed": True,
                                     "received_date": "2026-10-09"}, [("整改证明.pdf", PDF)], [], counter)
    db.session.commit()
    # registered at the counter, marked so, every deadline from the day received: F + 10 working days crosses the
    # adjusted working Sunday (Sep 20) and National Day; R + 3 the adjusted working Saturday (Oct 10)
    assert (o.at_counter, o.filed_date, o.due_date) == (True, date(2026, 9, 17), date(2026, 10, 8))
    view = repairs.view_of(a)
    assert (a.at_counter, a.filed_date, view.acceptance_due) == (True, date(2026, 10, 9), date(2026, 10, 13))
    for who in (make_user("caseworker", "420100"), make_user("supervisor", "420000")):
        listed = api_client(who).get("/api/v1/due").get_json()["appeals"]
        assert [(x["kind"], x["id"], x["due_date"], x["overdue"]) for x in listed] == [
            ("objection", o.id, "2026-10-08", True), ("repair", a.id, "2026-10-13", False)]
    client = app.test_client()
    login(client, make_user("caseworker", "420100"))
    page = client.get("/due").get_data(as_text=True).split('id="appeals"')[1]
    assert page.index('data-kind="objection"') < page.index('data-kind="repair"')
    assert 'class="overdue" data-kind="objection"' in page and "2026-10-13" in page
    assert [x.id for x in appeals.open_objections(reviewer)] == [o.id]
    assert [x.id for x in repairs.open_repairs(reviewer)] == [a.id]
