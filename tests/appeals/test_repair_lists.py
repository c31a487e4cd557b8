"""A granted repair (信用修复, SPEC §9; LN 第十三条) through the service: the record stays, marked repaired; from the
decision date it stops counting and grounding lists — the listing resting on it ends (reason `repaired`) and the
application ban with it (SPEC §7, §8) — answers about earlier days stay, and the change is pushed."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from housingcredit.appeals import repairs
from housingcredit.extensions import db
from housingcredit.lists import service as lists
from housingcredit.lists.models import ProcedureStep
from housingcredit.records.models import RecordRepair
from housingcredit.scoring.models import CreditState
from tests.factories import make_household, make_household_user, make_user
from tests.lists.helpers import PDF, Staff, confirm_on, outbox_kinds, procedures, run_jobs_on


def test_spec9_spec7_granted_repair_ends_the_listing_and_its_application_ban_from_the_decision_date(app, clock):
    staff = Staff("420100")
    make_user("caseworker", "420100")  # the repair's handler, other than the recorder
    household = make_household("420102")
    home = make_household_user(household)
    ground = confirm_on(clock, staff, household, "HB05", date(2026, 1, 15))  # moderate: repairable from 04-16
    clock.set(date(2026, 3, 2))
    p = lists.open_procedure(household.id, "court_judgment", "（2026）鄂0102民初125号", ("judgment.pdf", PDF),
                             staff.caseworker, record_id=ground.id)
    db.session.commit()
    run_jobs_on(clock, date(2026, 3, 10))  # publicity from O + 6 working days
    run_jobs_on(clock, date(2026, 3, 19))  # listed on L = O + 13 working days
    listed = lists.measures_of(household.id, date(2026, 4, 15))
    assert listed.listing is not None and listed.ban is not None
    assert {"recovery", "no_new_application"} <= {m.code for m in listed.in_force}

    clock.set(date(2026, 4, 16))
    a = repairs.apply(household.id, {"record_id": ground.id, "declaration": "已恢复原用途并整改完毕",
                                     "commitment_signed": True}, [("整改证明.pdf", PDF)], [], home)
    db.session.commit()
    repairs.accept(a.id, a.handler)
    repairs.propose(a.id, {"outcome": "granted", "reasons": "已整改"}, a.handler)
    db.session.commit()
    repairs.decide(a.id, {"decision": "confirmed"}, staff.reviewer)
    db.session.commit()

    assert db.session.scalar(sa.select(RecordRepair.repaired_date).where(RecordRepair.record_id == ground.id)) == \
        date(2026, 4, 16)
    assert db.session.get(CreditState, household.id).score == 100
    [proc] = procedures(household.id)
    end = db.session.scalar(sa.select(ProcedureStep).where(ProcedureStep.procedure_id == p.id,
                                                           ProcedureStep.step == "ended"))
    assert (proc.state, end.step_date, end.reason) == ("ended", date(2026, 4, 16), "repaired")
    after = lists.measures_of(household.id, date(2026, 4, 16))
    assert after.listing is None and after.ban is None and not after.in_force
    # the day before stays as it was
    before = lists.measures_of(household.id, date(2026, 4, 15))
    assert before.listing is not None and {m.code for m in before.in_force} == {m.code for m in listed.in_force}
    assert "record.repaired" in outbox_kinds(household.id)
