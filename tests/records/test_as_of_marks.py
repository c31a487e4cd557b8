"""SPEC §4: answers about a date before a revocation, correction or repair stay as they were — and every answer
made later that shows such a date marks the record "revoked on … (reason)", "corrected on …" or "repaired on …"."""
from __future__ import annotations

from datetime import date

import pytest

from housingcredit.extensions import db
from housingcredit.records import service
from tests.conftest import login
from tests.factories import make_household, make_household_user, make_user
from tests.records.helpers import confirm, make_record, revoke


@pytest.fixture
def world(app, clock):
    household = make_household("420102")
    recorder, proposer = make_user("caseworker", "420100"), make_user("caseworker", "420100")
    reviewer = make_user("reviewer", "420100")
    clock.set(date(2026, 6, 15))
    revoked = make_record(household, recorder, "HB06", occurred=date(2026, 6, 10))  # moderate, 15 points
    confirm(revoked, reviewer)
    corrected = make_record(household, recorder, "HB08", occurred=date(2026, 6, 11))  # mild
    confirm(corrected, reviewer)
    clock.set(date(2026, 7, 1))
    revoke(revoked, proposer, reviewer, reason="annulled", note="法院撤销")
    p = service.propose_correction(corrected.id, {"reason": "error", "occurred_date": "2026-06-09",
                                                  "facts": "更正后的事实"}, [], proposer)
    service.decide_correction(p.id, "confirmed", "", reviewer)
    db.session.commit()
    clock.set(date(2026, 7, 10))
    return type("World", (), dict(household=household, proposer=proposer, revoked=revoked, corrected=corrected))


def test_spec4_credit_as_of_an_earlier_date_stays_and_marks_later_decisions(world, api_client):
    api = api_client(world.proposer)
    before = api.get(f"/api/v1/households/{world.household.id}/credit?as_of=2026-06-20").get_json()
    items = {i["record_id"]: i for i in before["items"]}
    assert set(items) == {world.revoked.id, world.corrected.id}  # the answer about June 20 is unchanged
    assert items[world.revoked.id]["later_changes"] == [{"kind": "revoked", "on": "2026-07-01",
                                                         "reason": "annulled"}]
    assert items[world.corrected.id]["later_changes"] == [{"kind": "corrected", "on": "2026-07-01",
                                                           "reason": "error"}]
    today = api.get(f"/api/v1/households/{world.household.id}/credit").get_json()
    assert [(i["record_id"], i["later_changes"]) for i in today["items"]] == [(world.corrected.id, [])]


def test_spec4_household_page_as_of_marks_revoked_and_corrected(world, client):
    login(client, make_household_user(world.household))
    page = client.get("/my/credit?as_of=2026-06-20").get_data(as_text=True)
    panel = page.split('id="credit"')[1].split("</table>")[0]
    assert panel.count('data-later="revoked"') == 1 and panel.count('data-later="corrected"') == 1
    assert "2026-07-01" in panel
    page = client.get("/my/credit").get_data(as_text=True)
    assert "data-later=" not in page.split('id="credit"')[1].split("</table>")[0]
