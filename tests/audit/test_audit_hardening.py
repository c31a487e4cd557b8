"""Issue items on the audit trail: a keyed chain with signed checkpoints outside the database (truncation,
rewriting, reordering and gaps are reported), ids never reused, an append-only table on PostgreSQL, the chain lock
taken only at the commit, and each region's auditors seeing their region's trail."""
from __future__ import annotations

import json
import os
import stat

import pytest
import sqlalchemy as sa

from housingcredit import create_app, jobs
from housingcredit.audit import service as audit
from housingcredit.extensions import db
from tests.conftest import _config, is_postgres, login
from tests.factories import make_household, make_user

from .test_audit_chain import _entries, _tamper


@pytest.fixture
def chain(app):
    """Five entries: one account (no region), four archives (three in Wuhan 4201xx, one in Yichang 4205xx)."""
    supervisor = make_user("supervisor", "420000")
    for region in ("420102", "420106", "420502", "420111"):
        make_household(region, actor=supervisor)
    db.session.commit()
    entries = _entries()
    assert [e.id for e in entries] == [1, 2, 3, 4, 5]
    return entries


def _checkpoint_lines(app) -> list[dict]:
    with open(app.config["AUDIT_CHECKPOINT_FILE"], encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_audit_checkpoint_is_signed_and_kept_outside_the_table(app, runner, chain):
    result = runner.invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 0, result.output
    assert "5 entries up to entry 5" in result.output
    [cp] = _checkpoint_lines(app)
    assert (cp["count"], cp["last_id"], cp["last_hash"]) == (5, 5, chain[-1].hash)
    assert cp["at"] == "2026-06-15T01:00:00+00:00"  # the injected clock: 2026-06-15 09:00 Asia/Shanghai
    assert len(cp["sig"]) == 64
    assert stat.S_IMODE(os.stat(app.config["AUDIT_CHECKPOINT_FILE"]).st_mode) == 0o600
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "intact: 5 entries; matches the checkpoint" in result.output


def test_audit_forged_checkpoint_is_reported(app, runner, chain):
    runner.invoke(args=["audit", "checkpoint"])
    path = app.config["AUDIT_CHECKPOINT_FILE"]
    [cp] = _checkpoint_lines(app)
    cp.update(count=2, last_id=2, last_hash=chain[1].hash)  # lowered to hide a truncation, signature kept
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(cp) + "\n")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "checkpoint's signature is not valid" in result.output


def test_audit_daily_checkpoint_job_appends_a_checkpoint(app, chain):
    lines = list(jobs.run_once("audit_checkpoint"))
    assert lines[0].startswith("audit_checkpoint: {'entries': 5, 'last_id': 5}")
    assert [c["last_id"] for c in _checkpoint_lines(app)] == [5]
    assert "audit_checkpoint" not in jobs.JOBS  # `jobs once` without a name (the demo's day walk) skips it
    assert list(jobs.DAILY_AFTER) == ["audit_checkpoint"]


def test_audit_truncation_is_reported_against_checkpoint(app, runner, chain):
    runner.invoke(args=["audit", "checkpoint"])
    _tamper("DELETE FROM audit_entries WHERE id >= 4")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert ("BROKEN at entry 4: truncated: the checkpoint of 2026-06-15T01:00:00+00:00 covers 5 entries up to "
            "entry 5, the trail ends at entry 3") in result.output


def test_audit_whole_trail_deleted_is_reported_against_checkpoint(app, runner, chain):
    runner.invoke(args=["audit", "checkpoint"])
    _tamper("DELETE FROM audit_entries")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "BROKEN at entry 1: truncated" in result.output


def test_audit_places_are_never_reused_after_a_truncated_tail(app, runner, chain):
    runner.invoke(args=["audit", "checkpoint"])
    _tamper("DELETE FROM audit_entries WHERE id >= 4")
    make_household("420102")  # a new account and archive: two entries
    # their places in the chain are above the checkpoint's last place 5, not 4 and 5 again
    assert [e.seq for e in _entries()] == [1, 2, 3, 6, 7]
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "BROKEN at entry 4: missing" in result.output


def test_audit_rewritten_row_after_checkpoint_is_reported(app, runner, chain):
    runner.invoke(args=["audit", "checkpoint"])
    _tamper("UPDATE audit_entries SET object_id = '999' WHERE id = 5")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "BROKEN at entry 5: altered" in result.output


def test_audit_reordered_row_is_reported(app, runner, chain):
    """Swap entries 2 and 3 (each keeps its content and hashes, only their places in the chain change)."""
    _tamper("UPDATE audit_entries SET seq = 1000 WHERE seq = 2")
    _tamper("UPDATE audit_entries SET seq = 2 WHERE seq = 3")
    _tamper("UPDATE audit_entries SET seq = 3 WHERE seq = 1000")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "BROKEN at entry 2: out of order" in result.output


def test_audit_missing_row_in_the_middle_is_reported(app, runner, chain):
    runner.invoke(args=["audit", "checkpoint"])
    _tamper("DELETE FROM audit_entries WHERE id = 2")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "BROKEN at entry 2: missing" in result.output


def test_audit_entries_from_before_the_keyed_chain_verify_up_to_audit_legacy_until(app, runner, chain):
    """An upgraded database: entries 1–2 were hashed with plain SHA-256; the keyed entries 3–5 follow them."""
    prev = audit.GENESIS
    for e in _entries():
        new_hash = audit._legacy_digest(prev, audit._fields(e)) if e.id <= 2 else audit._digest(prev, audit._fields(e))
        _tamper("UPDATE audit_entries SET prev_hash = :p, hash = :h WHERE id = :id",
                {"p": prev, "h": new_hash, "id": e.id})
        prev = new_hash
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "BROKEN at entry 1: altered (unkeyed SHA-256 hash" in result.output
    app.config["AUDIT_LEGACY_UNTIL"] = 2
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "intact: 5 entries" in result.output


def test_audit_production_refuses_to_start_without_audit_key(_migrated):
    with pytest.raises(RuntimeError, match="HOUSINGCREDIT_AUDIT_KEY must be set in production"):
        create_app(_config(ENV_NAME="production", SECRET_KEY="a-real-secret"))
    app = create_app(_config(ENV_NAME="production", SECRET_KEY="a-real-secret", AUDIT_KEY="a-real-audit-key"))
    assert app.config["AUDIT_KEY"] == "a-real-audit-key"


def test_audit_development_key_is_generated_once_into_the_instance_folder(_migrated, tmp_path, monkeypatch):
    monkeypatch.setenv("HOUSINGCREDIT_INSTANCE", str(tmp_path))
    first = create_app(_config()).config["AUDIT_KEY"]
    assert stat.S_IMODE(os.stat(tmp_path / "audit.key").st_mode) == 0o600
    assert len(first) == 64
    assert create_app(_config()).config["AUDIT_KEY"] == first


@pytest.mark.skipif(not is_postgres(), reason="the append-only trigger exists on PostgreSQL only")
def test_audit_pg_trigger_refuses_update_and_delete(app, chain):
    for sql in ("UPDATE audit_entries SET actor_label = 'x' WHERE id = 2", "DELETE FROM audit_entries WHERE id = 4"):
        with pytest.raises(sa.exc.DBAPIError, match="audit_entries is append-only"):
            db.session.execute(sa.text(sql))
        db.session.rollback()
    assert [e.id for e in _entries()] == [1, 2, 3, 4, 5]


@pytest.mark.skipif(not is_postgres(), reason="the chain lock is a PostgreSQL advisory lock")
def test_audit_chain_lock_is_taken_only_when_the_entries_are_written(app):
    def chain_locks():
        return db.session.scalar(sa.text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND objid = :k"),
            {"k": audit._CHAIN_LOCK})
    caseworker = make_user("caseworker", "420100")
    db.session.commit()
    audit.record("user.update", "user", caseworker.id, actor=caseworker)
    audit.record("user.update", "user", caseworker.id, actor=caseworker)
    assert chain_locks() == 0  # an audited change holds no lock while it works
    audit.append_now()
    assert chain_locks() == 1
    db.session.commit()
    assert chain_locks() == 0
    # a read-log takes no lock at all: written unchained, chained later in a batch
    audit.record("credit.read", "household", 1, region_code="420102", actor=caseworker)
    audit.append_now()
    assert chain_locks() == 0
    db.session.commit()


def test_regional_auditor_sees_only_its_region(app, client, chain):
    wuhan = make_user("auditor", "420100", username="auditor_wh")
    province = make_user("auditor", "420000", username="auditor_hb")
    db.session.commit()
    by_region = {e.region_code: e for e in _entries() if e.object_type == "household"}
    wuhan_account = next(e for e in _entries() if e.action == "user.create" and e.object_id == str(wuhan.id))
    system = audit.record("demo.load", "demo", None, actor=(None, "demo"))
    db.session.commit()

    login(client, wuhan)
    page = client.get("/audit").get_data(as_text=True)
    shown = {e.id for e in _entries() if f"<td>{e.id}</td>" in page}
    # Wuhan's archives and the Wuhan account; not Yichang 420502, the province's accounts, logins or the demo load
    assert shown == {by_region["420102"].id, by_region["420106"].id, by_region["420111"].id, wuhan_account.id}
    assert system.id not in shown

    client.post("/logout", data={})
    client2 = app.test_client()
    login(client2, province)
    page = client2.get("/audit").get_data(as_text=True)
    shown = {e.id for e in _entries() if f"<td>{e.id}</td>" in page}
    assert shown == {e.id for e in _entries()}  # everything, system and logins included
