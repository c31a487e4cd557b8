"""SPEC §2: every change is kept as history and shown; staff reads (SPEC §11) are listed apart from it."""
from housingcredit.archives import service
from housingcredit.audit import service as audit
from housingcredit.extensions import db
from tests.factories import make_household, make_user


def test_spec_2_history_keeps_changes_when_reads_outnumber_them(app):
    caseworker = make_user("caseworker", "420100")
    household = make_household("420102", actor=caseworker)
    for _ in range(5):
        service.read_household(household.id, caseworker)
    db.session.commit()

    changes = audit.history(household.id, limit=3)
    reads = audit.history(household.id, reads=True, limit=3)

    assert [e.action for e in changes] == ["household.create"]
    assert [e.action for e in reads] == ["household.read"] * 3
