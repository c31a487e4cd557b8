"""Issue 21 (the credit check, fast) on the audit trail: read-logs (`*.read`, `credit.check`) are written without
the chain's lock, unchained, and chained in batches — by the scheduler, before a checkpoint and by
`flask audit verify`. Everything that reads the trail sees them at once; once chained they verify like any entry;
before that the table stays append-only (PostgreSQL trigger) and only the one chaining UPDATE gets through."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from housingcredit import jobs
from housingcredit.audit import service as audit
from housingcredit.audit.models import AuditEntry
from housingcredit.audit.reads import staff_reads
from housingcredit.extensions import db
from tests.conftest import is_postgres
from tests.factories import make_household, make_user

from .test_audit_chain import _entries, _tamper

CHECK_URL = "/api/v1/credit-check?id_number={}&business=allocation&purpose=分配审核"


@pytest.fixture
def reads(app, api_client):
    """A household, then a staff read of it and a credit check on it: two read-logs, unchained."""
    h = make_household("420102")
    worker = make_user("caseworker", "420100")
    api = api_client(worker)
    assert api.get(f"/api/v1/households/{h.id}").status_code == 200
    assert api.get(CHECK_URL.format(h.head.id_number)).status_code == 200
    return h, worker


def _unchained():
    return [e for e in _entries() if e.hash is None]


def test_issue21_read_logs_are_written_unchained_and_seen_at_once(app, client, reads):
    h, worker = reads
    pending = _unchained()
    assert [(e.action, e.household_id, e.seq, e.prev_hash) for e in pending] == [
        ("household.read", h.id, None, None), ("credit.check", h.id, None, None)]
    # the household's "who read my file" (SPEC §1), the archive's history of reads, the count
    assert [r["action"] for r in staff_reads(h.id)] == ["credit.check", "household.read"]
    assert [e.action for e in audit.history(h.id, reads=True)] == ["credit.check", "household.read"]
    assert audit.pending() == 2
    # the chain so far verifies, and says what it does not cover yet
    result = audit.verify()
    assert result.ok and result.pending == 2


def test_issue21_read_logs_chained_in_a_batch_verify_like_any_entry(app, reads):
    h, worker = reads
    changes_before = [e.seq for e in _entries() if e.hash is not None]
    make_household("420106", actor=worker)  # a change after the reads: chained at once, ahead of them
    db.session.commit()
    assert audit.chain_pending() == 2
    db.session.commit()
    entries = sorted(_entries(), key=lambda e: e.seq)
    assert all(e.hash is not None for e in entries) and audit.pending() == 0
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))  # one chain, no gap
    assert [e.action for e in entries[-2:]] == ["household.read", "credit.check"]  # placed when chained
    assert len(changes_before) == len(entries) - 3
    result = audit.verify()
    assert (result.ok, result.checked, result.pending) == (True, len(entries), 0)
    # a read altered after it was chained is found like any altered entry
    target = entries[-1]
    _tamper("UPDATE audit_entries SET after = NULL WHERE id = :id", {"id": target.id})
    db.session.commit()
    result = audit.verify()
    assert (result.ok, result.first_bad_id, result.problem) == (False, target.seq, "altered")


def test_issue21_flask_audit_verify_chains_what_is_pending_first(app, runner, reads):
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "chained 2 read-log entries" in result.output and "audit trail intact" in result.output
    assert audit.pending() == 0


def test_issue21_checkpoint_covers_the_reads_chained_before_it(app, runner, reads):
    result = runner.invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 0, result.output
    count = db.session.scalar(sa.select(sa.func.count(AuditEntry.id)))
    assert audit.pending() == 0 and audit.latest_checkpoint()["count"] == count


def test_issue21_scheduler_job_chains_the_read_logs(app, reads):
    jobs.run_audit_chain(app)
    assert audit.pending() == 0 and audit.verify().ok


def test_issue21_a_transaction_with_a_change_chains_its_reads_too(app):
    worker = make_user("caseworker", "420100")
    db.session.commit()
    audit.record("household.read", "household", 1, region_code="420102", actor=worker)
    audit.record("user.update", "user", worker.id, actor=worker)
    db.session.commit()
    assert audit.pending() == 0 and audit.verify().ok


def test_issue21_a_rolled_back_read_leaves_nothing(app):
    worker = make_user("caseworker", "420100")
    db.session.commit()
    start = len(_entries())
    audit.record("household.read", "household", 1, region_code="420102", actor=worker)
    db.session.rollback()
    assert len(_entries()) == start


@pytest.mark.skipif(not is_postgres(), reason="the append-only trigger is PostgreSQL's")
def test_issue21_pg_trigger_keeps_unchained_reads_append_only_and_lets_only_chaining_through(app, reads):
    target = _unchained()[0]
    refused = [
        ("DELETE FROM audit_entries WHERE id = :id", {}),
        ("UPDATE audit_entries SET actor_label = 'x' WHERE id = :id", {}),
        # chaining that also changes what the entry says
        ("UPDATE audit_entries SET seq = 99, prev_hash = :h, hash = :h, after = NULL WHERE id = :id", {"h": "0" * 64}),
        ("UPDATE audit_entries SET seq = 99, prev_hash = :h, hash = :h, id = 999 WHERE id = :id", {"h": "0" * 64}),
    ]
    for sql, params in refused:
        with pytest.raises(sa.exc.DBAPIError, match="audit_entries is append-only"):
            db.session.execute(sa.text(sql), {"id": target.id, **params})
        db.session.rollback()
    assert audit.chain_pending() == 2  # the chaining UPDATE itself goes through
    db.session.commit()
    chained = next(e for e in _entries() if e.id == target.id)
    assert chained.seq is not None
    with pytest.raises(sa.exc.DBAPIError, match="audit_entries is append-only"):  # and only once
        db.session.execute(sa.text("UPDATE audit_entries SET hash = :h WHERE id = :id"),
                           {"h": "1" * 64, "id": target.id})
    db.session.rollback()
    assert audit.verify().ok


def test_issue21_audit_trail_page_shows_unchained_reads(app, client, reads):
    from tests.conftest import login
    login(client, make_user("supervisor", "420000"))
    html = client.get("/audit").get_data(as_text=True)
    assert html.count("尚未入链") == 2  # the two read-logs, marked as not chained yet
    audit.chain_all()
    assert "尚未入链" not in client.get("/audit").get_data(as_text=True)


def test_issue21_a_check_rolled_back_leaves_neither_its_row_nor_its_read_log(app):
    """The check's row and its read-log are written in the caller's transaction: a rollback takes both."""
    from housingcredit.lists import service
    from housingcredit.lists.models import CreditCheck
    h = make_household("420102")
    worker = make_user("caseworker", "420100")
    db.session.commit()
    before = (db.session.scalar(sa.select(sa.func.count(CreditCheck.id))), len(_entries()))
    result = service.credit_check(h.head.id_number, "allocation", "分配审核", worker)
    assert result.check_id and result.found
    db.session.rollback()
    assert (db.session.scalar(sa.select(sa.func.count(CreditCheck.id))), len(_entries())) == before


def test_issue21_with_reads_chained_at_commit_a_checks_read_log_is_chained(app, api_client):
    """AUDIT_READS_UNCHAINED = false: the check's read-log is placed in the chain at its own commit."""
    app.config["AUDIT_READS_UNCHAINED"] = False
    h = make_household("420102")
    worker = make_user("caseworker", "420100")
    db.session.commit()
    body = api_client(worker).get(CHECK_URL.format(h.head.id_number)).get_json()
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "credit.check")).one()
    assert entry.object_id == str(body["check_id"]) and entry.hash is not None and audit.pending() == 0
    assert audit.verify().ok
