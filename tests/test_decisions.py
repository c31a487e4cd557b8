"""SPEC §4 "every decision has two people": one helper (housingcredit/decisions.py) serves every decision that is a
proposal by one person and a confirmation by another — an objection's result, a repair decision, a revocation, a
correction — each a fact with its author, date and reasons; nothing deleted."""
from __future__ import annotations

import inspect
from datetime import date

import pytest
import sqlalchemy as sa

from housingcredit import decisions
from housingcredit.appeals import repairs, service as appeals
from housingcredit.appeals.models import RevocationDecision, RevocationProposal
from housingcredit.audit.models import AuditEntry
from housingcredit.errors import Conflict, Forbidden
from housingcredit.extensions import db
from housingcredit.records import service as records
from tests.factories import make_household, make_user
from tests.records.helpers import confirm, make_record

PROPOSALS = (appeals.propose, repairs.propose, records.propose_revocation, records.propose_correction)
DECISIONS = (appeals.decide, repairs.decide, records.decide_revocation, records.decide_correction)


def test_spec4_every_two_person_decision_goes_through_the_one_helper():
    for fn in PROPOSALS:
        assert "decisions.propose(" in inspect.getsource(fn), fn.__qualname__
    for fn in DECISIONS:
        source = inspect.getsource(fn)
        if "_decide_change(" in source:  # a revocation's and a correction's decision share one wrapper of it
            source += inspect.getsource(records._decide_change)
        assert "decisions.decide(" in source, fn.__qualname__
        assert "lock_household" not in source and "raise Forbidden" not in source, fn.__qualname__
    # an upheld objection's correction is decided by the objection's decision (appeals.decide), nowhere else
    assert "confirm_correction_for_objection(" in inspect.getsource(appeals.decide)


def test_spec4_a_supervisor_who_proposed_may_not_confirm_and_a_decision_is_kept_with_its_author(app, clock):
    household = make_household("420102")
    recorder, reviewer = make_user("caseworker", "420100"), make_user("reviewer", "420100")
    supervisor = make_user("supervisor", "420000")
    clock.set(date(2026, 6, 15))
    record = make_record(household, recorder, "HB06")
    confirm(record, reviewer)
    clock.set(date(2026, 7, 1))
    proposal = records.propose_revocation(record.id, "error", "登记错误", supervisor)
    db.session.commit()
    with pytest.raises(Forbidden):  # supervisors are bound too
        records.decide_revocation(proposal.id, "confirmed", "", supervisor)
    db.session.rollback()
    with pytest.raises(Forbidden):  # the recorder neither
        records.decide_revocation(proposal.id, "confirmed", "", recorder)
    db.session.rollback()
    row = records.decide_revocation(proposal.id, "rejected", "证据充分，不予撤销", reviewer)
    db.session.commit()
    assert (row.by_id, row.decided_date, row.note) == (reviewer.id, date(2026, 7, 1), "证据充分，不予撤销")
    with pytest.raises(Conflict):  # decided once: the fact stands, a second decision is refused
        records.decide_revocation(proposal.id, "confirmed", "", make_user("reviewer", "420100"))
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RevocationDecision)) == 1
    assert db.session.get(RevocationProposal, proposal.id).proposed_by_id == supervisor.id
    actions = db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.object_type == "record",
                                                                    AuditEntry.object_id == str(record.id))
                                 .order_by(AuditEntry.id)).all()
    assert actions[-2:] == ["record.revocation_proposed", "record.revocation_decided"]


def test_decisions_helper_refuses_an_excluded_person_before_anything_is_written(app):
    household = make_household("420102")
    who = make_user("reviewer", "420100")
    written = []
    with pytest.raises(Forbidden):
        decisions.decide(household, who, excluded=(None, who.id), forbidden="no", decided=lambda: False,
                         decided_message="", proposal=lambda: object(), make=lambda *a: written.append(a),
                         action="x.decide", object_type="x", object_id=1, after=lambda *a: {})
    assert written == []
