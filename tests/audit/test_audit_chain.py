"""DESIGN rule 6 / SPEC §11: every service write leaves an audit entry in its own transaction, staff reads are
logged, and `flask audit verify` finds the first altered or missing entry of the hash chain."""
from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa

from housingcredit.archives import service as archives
from housingcredit.archives.models import Household
from housingcredit.audit import service as audit
from housingcredit.audit.models import AuditEntry
from housingcredit.errors import Conflict, InvalidInput
from housingcredit.extensions import db
from tests.factories import id_number, make_household, make_user


def _entries():
    db.session.expire_all()
    return db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)).all()


def _data(**extra):
    data = {"region_code": "420102", "address": "江岸区1号", "protection_category": "physical",
            "members": [{"name": "甲", "id_number": id_number("420102", date(1990, 1, 1)), "relation": "head"}]}
    data.update(extra)
    return data


def test_design_6_create_and_update_append_one_entry_each_with_actor_and_before_after(app):
    caseworker = make_user("caseworker", "420100")
    start = len(_entries())
    h = archives.create_household(_data(), caseworker)
    db.session.commit()
    archives.update_household(h.id, _data(address="江岸区2号", version=h.version,
                                          members=[{"id": h.head.id, "name": "甲", "id_number": h.head.id_number,
                                                    "relation": "head"}]), caseworker)
    db.session.commit()
    new = _entries()[start:]
    # (Who is recorded comes from the request's user; the API tests check that attribution.)
    assert [(e.action, e.household_id, e.region_code) for e in new] == [
        ("household.create", h.id, "420102"), ("household.update", h.id, "420102")]
    assert new[0].before is None and new[0].after["address"] == "江岸区1号"
    assert (new[1].before["address"], new[1].after["address"]) == ("江岸区1号", "江岸区2号")
    assert new[1].prev_hash == new[0].hash


def test_design_6_an_unchanged_edit_writes_no_entry(app):
    caseworker = make_user("caseworker", "420100")
    h = make_household("420102", actor=caseworker)
    start = len(_entries())
    same = {"region_code": h.region_code, "address": h.address, "protection_category": h.protection_category.value,
            "protection_group": h.protection_group, "version": h.version,
            "members": [{"id": h.head.id, "name": h.head.name, "id_number": h.head.id_number, "relation": "head"}]}
    archives.update_household(h.id, same, caseworker)
    db.session.commit()
    assert len(_entries()) == start


def test_design_6_entry_lives_in_the_write_transaction(app):
    """Roll the use case back after the service wrote (and audited): neither the archive nor the entry stays.
    The entry is staged in the session until the commit (issue: no lock from the first append to the commit)."""
    caseworker = make_user("caseworker", "420100")
    start = len(_entries())
    archives.create_household(_data(), caseworker)
    assert [e.action for e in audit.staged()] == ["household.create"]
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id))) == start  # staged, not yet in the table
    db.session.rollback()
    assert audit.staged() == []
    db.session.commit()
    assert len(_entries()) == start
    assert db.session.scalar(sa.select(sa.func.count(Household.id))) == 0


def test_audit_staged_entry_is_written_by_the_commit_with_its_id(app):
    caseworker = make_user("caseworker", "420100")
    start = len(_entries())
    archives.create_household(_data(), caseworker)
    entry = audit.staged()[0]
    assert entry.id is None
    db.session.commit()
    assert entry.id == start + 1
    assert [e.action for e in _entries()[start:]] == ["household.create"]


def test_audit_append_now_gives_the_id_before_the_commit(app):
    caseworker = make_user("caseworker", "420100")
    start = len(_entries())
    entry = audit.record("household.read", "household", 7, region_code="420102", actor=caseworker)
    audit.append_now()
    assert entry.id == start + 1
    assert audit.staged() == []
    db.session.commit()
    assert _entries()[-1].id == start + 1


@pytest.mark.parametrize("bad", [
    {"region_code": "429999"},
    {"members": [{"name": "甲", "id_number": "420102199001011230", "relation": "head"}]},
    {"members": []},
])
def test_design_6_failing_write_leaves_no_entry(app, bad):
    caseworker = make_user("caseworker", "420100")
    start = len(_entries())
    with pytest.raises(InvalidInput):
        archives.create_household(_data(**bad), caseworker)
    db.session.rollback()
    db.session.commit()
    assert len(_entries()) == start


def test_design_6_conflicting_edit_leaves_no_entry(app):
    caseworker = make_user("caseworker", "420100")
    h = make_household("420102", actor=caseworker)
    start = len(_entries())
    with pytest.raises(Conflict):
        archives.update_household(h.id, _data(version=h.version - 1), caseworker)
    db.session.rollback()
    assert len(_entries()) == start


def test_design_6_failing_api_write_leaves_no_entry(app, api_client):
    api = api_client(make_user("caseworker", "420100"))
    start = len(_entries())
    resp = api.post("/api/v1/households", json=_data(address=""))
    assert resp.status_code == 422
    assert len(_entries()) == start


def test_spec_11_staff_reads_are_logged_household_own_reads_are_not(app, api_client, client):
    from tests.conftest import login
    from tests.factories import make_household_user
    h = make_household("420102")
    auditor = make_user("auditor", "420000")
    assert api_client(auditor).get(f"/api/v1/households/{h.id}").status_code == 200
    login(client, make_household_user(h))
    assert client.get("/my").status_code == 200
    reads = [e for e in _entries() if e.action == "household.read"]
    assert [(e.household_id, e.actor_id, e.region_code) for e in reads] == [(h.id, auditor.id, "420102")]


# ---- flask audit verify ----------------------------------------------------------------------------------------

@pytest.fixture
def chain(app):
    """A few entries written through services."""
    supervisor = make_user("supervisor", "420000")
    for region in ("420102", "420106", "420111"):
        make_household(region, actor=supervisor)
    entries = _entries()
    assert len(entries) == 4
    return entries


def test_design_6_audit_verify_passes_on_an_intact_chain(runner, chain):
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert f"intact: {len(chain)} entries" in result.output


def test_design_6_audit_verify_reports_the_first_altered_entry(runner, chain):
    target = chain[2]
    _tamper("UPDATE audit_entries SET actor_label = 'someone else' WHERE id = :id", {"id": target.id})
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"BROKEN at entry {target.id}: altered" in result.output
    assert audit.verify().first_bad_id == target.id


def _tamper(sql: str, params: dict | None = None) -> None:
    """Write to the audit table behind the application's back, as someone with database access could (on
    PostgreSQL the table owner first disables the append-only trigger)."""
    from tests.conftest import is_postgres
    if is_postgres():
        db.session.execute(sa.text("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only"))
    db.session.execute(sa.text(sql), params or {})
    if is_postgres():
        db.session.execute(sa.text("ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_append_only"))
    db.session.commit()
    db.session.expire_all()


def _recompute_chain_from(target_id: int, digest) -> None:
    """Rewrite the chain from `target_id` on with `digest(prev_hash, fields)` — what a forger without the key
    can do: plain SHA-256 (the old, unkeyed chain) or an HMAC with a key of their own."""
    entries = _entries()
    prev = next((e.hash for e in entries if e.id == target_id - 1), audit.GENESIS)
    for e in entries:
        if e.id < target_id:
            continue
        new_hash = digest(prev, audit._fields(e))
        _tamper("UPDATE audit_entries SET prev_hash = :p, hash = :h WHERE id = :id",
                {"p": prev, "h": new_hash, "id": e.id})
        prev = new_hash


@pytest.mark.parametrize("forger", ["plain-sha256", "wrong-key"])
def test_audit_rewritten_row_with_recomputed_chain_is_reported(runner, chain, forger):
    """Issue item 4: change an entry and really recompute its hash and every later link — without AUDIT_KEY the
    recomputed hashes cannot match, so the first rewritten entry is reported."""
    import hashlib
    import hmac
    target = chain[1]
    _tamper("UPDATE audit_entries SET actor_label = 'someone else' WHERE id = :id", {"id": target.id})
    if forger == "plain-sha256":
        _recompute_chain_from(target.id, audit._legacy_digest)
    else:
        _recompute_chain_from(target.id, lambda prev, fields: hmac.new(
            b"not-the-key", audit._body(prev, fields), hashlib.sha256).hexdigest())
    rewritten = _entries()
    assert all(b.prev_hash == a.hash for a, b in zip(rewritten, rewritten[1:]))  # the links are consistent
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"BROKEN at entry {target.id}: altered" in result.output


def test_design_6_audit_verify_reports_a_deleted_entry_as_missing(runner, chain):
    target_id = chain[2].id
    _tamper("DELETE FROM audit_entries WHERE id = :id", {"id": target_id})
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"BROKEN at entry {target_id}: missing" in result.output


def test_design_6_audit_verify_reports_a_changed_before_after(runner, chain):
    created = next(e for e in chain if e.action == "household.create")
    _tamper("UPDATE audit_entries SET after = :a WHERE id = :id",
            {"a": json.dumps({**created.after, "address": "伪造"}, ensure_ascii=False), "id": created.id})
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"BROKEN at entry {created.id}: altered" in result.output
