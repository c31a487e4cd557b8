"""Objections and the lists (SPEC §6, §7, §9), through the service: what may be objected to (a record still
counting or grounding a list entry or measure in force), and an upheld objection ending a procedure with reason
`objection_upheld` — on the procedure's ground or on the procedure itself."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from housingcredit.accounts.models import User
from housingcredit.appeals import service as appeals
from housingcredit.appeals.models import Restoration
from housingcredit.errors import Conflict, InvalidInput
from housingcredit.extensions import db
from housingcredit.lists import service as lists
from housingcredit.lists.models import ProcedureStep
from housingcredit.scoring import service as scoring
from housingcredit.scoring.engine import compute_credit
from tests.factories import make_household, make_household_user, make_user
from tests.lists.helpers import PDF, Staff, confirm_on, procedures


@pytest.fixture
def staff(app):
    s = Staff("420100")
    make_user("caseworker", "420100")  # a handler other than the recorder
    return s


def _file(household, home, **item):
    o = appeals.file_objection(household.id, {"reason": "异议理由", **item}, [("材料.pdf", PDF)], home)
    db.session.commit()
    return o


def _decide(o, outcome, reviewer, **extra):
    handler = db.session.get(User, o.handler_id)
    appeals.propose(o.id, {"outcome": outcome, "reasons": "核实", **extra}, handler)
    db.session.commit()
    appeals.decide(o.id, {"decision": "confirmed"}, reviewer)
    db.session.commit()


def test_spec9_spec6_a_mild_record_past_its_use_period_that_grounds_a_watch_entry_may_be_objected_to(
        app, clock, staff):
    """SPEC §9: an objection may be filed "as long as the record still counts or grounds a list entry or measure
    in force". A mild record no longer counting in the score (6 months) still grounds the mild+mild watch entry
    (12 months, SPEC §6): it may be objected to, and the entry's measures are suspended (without it the grounds
    would not make the entry, SPEC §8). A mild record grounding nothing and no longer counting may not."""
    household, lone = make_household("420102"), make_household("420102", head_name="李四")
    home, lone_home = make_household_user(household), make_household_user(lone)
    first = confirm_on(clock, staff, household, "HB08", date(2026, 1, 12))
    confirm_on(clock, staff, household, "HB07", date(2026, 3, 10))  # mild + mild: watched from 03-10
    alone = confirm_on(clock, staff, lone, "HB08", date(2026, 1, 12))
    clock.set(date(2026, 8, 3))
    credit = compute_credit(scoring.facts_for([household.id])[household.id], scoring.rules_book(), date(2026, 8, 3))
    assert [i.record_id for i in credit.items if i.record_id == first.id] == []  # no longer counts
    o = _file(household, home, record_id=first.id)
    suspended = {m.code for m in lists.measures_of(household.id, date(2026, 8, 3)).suspended}
    assert {"written_warning", "quarterly_inspection", "no_swap_or_upgrade"} <= suspended
    assert o.due_date > o.filed_date
    with pytest.raises(Conflict):
        appeals.file_objection(lone.id, {"reason": "x", "record_id": alone.id}, [("材料.pdf", PDF)], lone_home)
    db.session.rollback()


def test_spec9_spec7_upheld_objection_on_the_ground_ends_the_procedure_with_objection_upheld(app, clock, staff):
    household = make_household("420102")
    home = make_household_user(household)
    ground = confirm_on(clock, staff, household, "HB05", date(2026, 6, 1))
    clock.set(date(2026, 6, 8))
    lists.open_procedure(household.id, "court_judgment", "（2026）鄂0102民初123号", ("judgment.pdf", PDF),
                         staff.caseworker, record_id=ground.id)
    db.session.commit()
    clock.set(date(2026, 6, 10))
    o = _file(household, home, record_id=ground.id)
    clock.set(date(2026, 6, 16))
    _decide(o, "upheld", staff.reviewer)
    [p] = procedures(household.id)
    end = db.session.scalar(sa.select(ProcedureStep).where(ProcedureStep.procedure_id == p.id,
                                                           ProcedureStep.step == "ended"))
    assert (p.state, end.step_date, end.reason) == ("ended", date(2026, 6, 16), "objection_upheld")
    assert db.session.scalar(sa.select(Restoration).where(Restoration.objection_id == o.id)) is not None


def test_spec9_spec7_upheld_objection_on_the_procedure_itself_ends_it_and_cannot_correct(app, clock, staff):
    household = make_household("420102")
    home = make_household_user(household)
    clock.set(date(2026, 6, 8))
    p = lists.open_procedure(household.id, "court_judgment", "（2026）鄂0102民初124号", ("judgment.pdf", PDF),
                             staff.caseworker)
    db.session.commit()
    clock.set(date(2026, 6, 10))
    o = _file(household, home, procedure_id=p.id)
    handler = db.session.get(User, o.handler_id)
    with pytest.raises(InvalidInput) as refused:  # a procedure has no record facts to correct
        appeals.propose(o.id, {"outcome": "upheld", "reasons": "x", "effect": "correct", "facts": "y"}, handler)
    assert "effect" in refused.value.errors
    db.session.rollback()
    clock.set(date(2026, 6, 16))
    _decide(o, "upheld", staff.reviewer)
    end = db.session.scalar(sa.select(ProcedureStep).where(ProcedureStep.procedure_id == p.id,
                                                           ProcedureStep.step == "ended"))
    assert (end.step_date, end.reason) == (date(2026, 6, 16), "objection_upheld")
    assert db.session.scalar(sa.select(Restoration).where(Restoration.objection_id == o.id)) is not None
