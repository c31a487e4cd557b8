"""Issue 17 / SPEC §10–§11: the push to the provincial platform over real HTTP on loopback, faults survived."""
from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from housingcredit.audit.models import AuditEntry
from housingcredit.extensions import db
from housingcredit.platform import sender, service
from housingcredit.platform.models import OutboxEvent
from tests.factories import make_household, make_user
from tests.records.helpers import confirm, make_record

from .conftest import SECRET


def _queue(households=3, per=3):
    """Messages in several household streams, interleaved as the services would queue them."""
    hs = [make_household("420102", head_name=f"张三{i}") for i in range(households)]
    for n in range(per):
        for h in hs:
            service.enqueue(h.id, "watch_list.changed",
                            {"archive_no": h.archive_no, "region_code": h.region_code,
                             "subject": {"name": h.head.name, "id_number": h.head.id_number}, "list": "watch",
                             "status": "entered", "start": "2026-06-01", "until": "2027-06-01", "end": None,
                             "reason": None, "disclose": True, "n": n})
    db.session.commit()
    return hs


def _statuses():
    return sorted(db.session.scalars(sa.select(OutboxEvent.status)).all())


def _assert_exact(receiver):
    """The receiver holds every queued message once, each stream in seq order, and reconciliation is clean."""
    held = receiver.holdings()
    ours = db.session.execute(sa.select(OutboxEvent.idempotency_key, OutboxEvent.stream, OutboxEvent.seq)).all()
    assert sorted(h["idempotency_key"] for h in held) == sorted(k for k, _, _ in ours)
    by_stream: dict[str, list[int]] = {}
    for h in held:
        by_stream.setdefault(h["stream"], []).append(h["seq"])
    for stream, seqs in by_stream.items():
        assert seqs == list(range(1, len(seqs) + 1)), stream
    result = service.reconcile(sender.holdings())
    assert result["clean"], result["differences"]


def _drain(clock, rounds=20):
    for _ in range(rounds):
        sender.push()
        if all(s == "acknowledged" for s in _statuses()):
            return
        clock.advance(seconds=3600)
    raise AssertionError(_statuses())


def test_spec10_push_delivers_in_order_once_each(app, receiver):
    _queue()
    result = sender.push()
    assert result["acknowledged"] == 9 and result["failed"] == 0
    assert _statuses() == ["acknowledged"] * 9
    row = db.session.scalars(sa.select(OutboxEvent)).first()
    assert row.answer["status"] == "accepted" and row.answer["receipt"].startswith("R-")
    _assert_exact(receiver)


def test_issue17_never_seq_n_plus_1_before_n_acknowledged(app, receiver):
    hs = _queue(households=1, per=3)
    claimed = sender.claim(100)
    assert [m["seq"] for _, m in claimed] == [1]  # one per stream per claim
    assert sender.claim(100) == []  # seq 2 waits for seq 1's answer
    sender.send(sender.make_client(), claimed)
    assert [m["seq"] for _, m in sender.claim(100)] == [2]
    assert hs


def test_issue17_receiver_down_for_a_while(app, receiver, clock):
    _queue()
    receiver.stop()
    result = sender.push()
    assert result["failed"] == 3 and result["acknowledged"] == 0
    assert _statuses().count("failed") == 3 and "dead" not in _statuses()
    assert sender.push()["requests"] == 0  # back-off: nothing due yet
    receiver.start()
    _drain(clock)
    _assert_exact(receiver)


def test_issue17_receiver_answering_500_then_recovering(app, receiver, clock):
    _queue()
    receiver.faults(fail=2)
    _drain(clock)
    _assert_exact(receiver)


def test_issue17_timeout_and_lost_answer_resent_under_same_key_stored_once(app, receiver, clock):
    _queue()
    receiver.faults(hang=1, hang_seconds=1.0, lose_answer=1)
    first = sender.push()
    assert first["failed"] >= 3
    _drain(clock)
    _assert_exact(receiver)
    assert len(receiver.holdings()) == 9


def test_issue17_acknowledged_twice_counts_once(app, receiver, clock):
    _queue()
    receiver.faults(twice=5)
    assert sender.push()["acknowledged"] == 9
    _assert_exact(receiver)


def test_issue17_one_message_rejected_is_retried_then_dead_lettered_and_blocks_its_stream(app, receiver, clock):
    hs = _queue(households=2, per=2)
    first = db.session.scalar(sa.select(OutboxEvent).where(OutboxEvent.household_id == hs[0].id,
                                                            OutboxEvent.seq == 1))
    receiver.faults(reject={first.idempotency_key: 5})
    for _ in range(5):
        sender.push()
        clock.advance(seconds=3600)
    db.session.expire_all()
    first = db.session.get(OutboxEvent, first.id)
    assert first.status == "dead" and first.rejections == 5 and first.answer["code"] == "invalid_data"
    second = db.session.scalar(sa.select(OutboxEvent).where(OutboxEvent.household_id == hs[0].id,
                                                             OutboxEvent.seq == 2))
    assert second.status == "pending"  # never sent before seq 1
    assert [h["stream"] for h in receiver.holdings()] == [str(hs[1].id)] * 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "platform.dead_letter")) == 1
    supervisor = make_user("supervisor", "420100")
    service.retry(first.id, supervisor)
    db.session.commit()
    _drain(clock)
    _assert_exact(receiver)


def test_spec10_waiting_24_hours_dead_letters(app, receiver, clock):
    _queue(households=1, per=1)
    receiver.stop()
    sender.push()
    clock.advance(hours=24)
    result = sender.push()
    assert result["dead"] == 1 and _statuses() == ["dead"]
    receiver.start()


def test_issue17_sender_killed_mid_batch(app, receiver, clock, monkeypatch):
    _queue(households=7, per=2)  # 7 heads: requests of 3, 3, 1
    calls = []

    def killed(batch, answers):
        calls.append(len(batch))
        if len(calls) == 2:
            raise SystemExit("killed")
    monkeypatch.setattr(sender, "after_request_hook", killed)
    with pytest.raises(SystemExit):
        sender.push()
    monkeypatch.setattr(sender, "after_request_hook", None)
    db.session.rollback()
    assert _statuses().count("acknowledged") == 3 and _statuses().count("sent") == 4
    assert len(receiver.holdings()) == 6  # the second request arrived; its answer was never recorded
    again = sender.push()  # the streams answered go on; the claim whose answer was lost holds its lease
    assert again["acknowledged"] == 3 and _statuses().count("sent") == 4
    clock.advance(seconds=121)
    _drain(clock)
    _assert_exact(receiver)


def test_issue17_wrong_signature_refused(app, receiver):
    body = b'{"messages": []}'
    resp = httpx.post(receiver.url + "/v1/messages", content=body, headers={
        "X-HC-Timestamp": "1", "X-HC-Signature": "hmac-sha256=00"})
    assert resp.status_code == 401
    app.config["PLATFORM_SECRET"] = "not-" + SECRET
    _queue(households=1, per=1)
    result = sender.push()
    assert result["acknowledged"] == 0 and receiver.holdings() == []
    assert "401" in db.session.scalars(sa.select(OutboxEvent)).one().last_error


def test_issue17_replay_window(app, receiver, clock):
    from housingcredit.platform import signing
    body = b'{"messages": []}'
    old = int((clock.now_utc() - timedelta(minutes=10)).timestamp())
    resp = httpx.post(receiver.url + "/v1/messages", content=body,
                      headers=signing.headers(SECRET, "POST", "/v1/messages", old, body))
    assert resp.status_code == 401 and resp.json()["error"] == "replay_window"


def test_mohurd_2_2_mild_record_sent_with_disclose_false(app, receiver):
    household = make_household("420102", head_name="王小明")
    caseworker, reviewer = make_user("caseworker", "420100"), make_user("reviewer", "420100")
    confirm(make_record(household, caseworker, "HB07"), reviewer)  # HB07: mild
    confirm(make_record(household, caseworker, "HB06"), reviewer)  # HB06: moderate
    db.session.commit()
    sender.push()
    sender.push()
    events = db.session.scalars(sa.select(OutboxEvent).where(OutboxEvent.kind == "record.confirmed")
                                .order_by(OutboxEvent.seq)).all()
    mild, moderate = (receiver.message(e.idempotency_key) for e in events)
    assert mild["disclose"] is False and mild["severity"] == "mild" and mild["publicity_end"] is None
    assert moderate["disclose"] is True and moderate["severity"] == "moderate"
    assert moderate["publicity_end"] == "2027-06-15" and moderate["valid_from"] == "2026-06-15"
    assert moderate["status"] == "new" and moderate["subject_name"] == "王小明"
    assert moderate["subject_type"] == "natural_person" and moderate["id_type"] == "resident_id_card"
    assert moderate["id_number"] == household.head.id_number  # government sharing scope: in full
    assert moderate["authority_credit_code"] == "11420102MB0000002B" and moderate["decision_document_no"] is None
    assert moderate["schema_version"] == "1.0" and moderate["clause"]


def test_spec11_payload_carries_only_its_schema_fields(app, receiver):
    from housingcredit.platform.schemas import PlatformMessage, field_scopes
    _queue(households=1, per=1)
    sender.push()
    key = db.session.scalars(sa.select(OutboxEvent.idempotency_key)).one()
    msg = receiver.message(key)
    assert set(msg) <= set(PlatformMessage().fields)
    assert not {"archive_no", "address", "phone", "members", "n"} & set(msg)
    assert set(field_scopes().values()) <= {"public", "government"}
    assert field_scopes()["id_number"] == "government"


def test_issue17_correction_pushed_as_corrected(app, receiver):
    from housingcredit.records import service as records
    household = make_household("420102")
    caseworker, reviewer = make_user("caseworker", "420100"), make_user("reviewer", "420100")
    original = make_record(household, caseworker, "HB05")
    confirm(original, reviewer)
    proposal = records.propose_correction(original.id, {"reason": "error", "occurred_date": "2026-06-09"}, [],
                                          caseworker)
    records.decide_correction(proposal.id, "confirmed", "", make_user("reviewer", "420100"))
    db.session.commit()
    sender.push()
    sender.push()
    corrected = db.session.scalar(sa.select(OutboxEvent).where(OutboxEvent.kind == "record.corrected"))
    assert receiver.message(corrected.idempotency_key)["status"] == "corrected"


def test_issue17_reconciliation_finds_missing_and_repair_resends(app, receiver, clock):
    _queue(households=2, per=1)
    sender.push()
    key = db.session.scalars(sa.select(OutboxEvent.idempotency_key).order_by(OutboxEvent.id)).first()
    store = receiver.wsgi.extensions["store"]
    store.conn.execute("DELETE FROM holdings WHERE idempotency_key = ?", (key,))
    result = service.reconcile(sender.holdings())
    assert result["differences"]["missing"] == [key] and not result["clean"]
    supervisor = make_user("supervisor", "420100")
    assert service.repair([key], supervisor) == 1
    db.session.commit()
    sender.push()
    assert service.reconcile(sender.holdings())["clean"]


def test_issue17_audit_checkpoint_is_pushed(app, receiver):
    from housingcredit.audit import service as audit
    make_household("420102")
    db.session.commit()
    cp = audit.checkpoint()
    db.session.commit()
    sender.push()
    held = [h for h in receiver.holdings() if h["stream"] == "audit"]
    assert len(held) == 1 and held[0]["kind"] == "audit.checkpoint"
    msg = receiver.message(held[0]["idempotency_key"])
    assert msg["checkpoint"]["last_hash"] == cp["last_hash"] and msg["status"] == "checkpoint"


def test_spec11_sender_dump_is_the_schema_dump_and_drops_other_fields(app):
    """The sender's fast dump (payload.dump) gives what PlatformMessage().dump gives: only the schema's fields,
    plain values as they are, a date object as ISO text, a truthy non-bool as a bool, the checkpoint nested."""
    from datetime import date

    from housingcredit.platform import payload
    from housingcredit.platform.schemas import PlatformMessage
    m = {"schema_version": "1.0", "idempotency_key": "k1", "stream": "7", "seq": 3, "kind": "record.confirmed",
         "status": "new", "disclose": 1, "subject_name": "张三", "id_number": None, "decision_date": date(2026, 6, 1),
         "valid_to": "2029-06-01", "address": "武汉市某路1号", "phone": "13800000000",
         "checkpoint": {"count": 2, "last_id": None, "last_hash": "ab", "at": "x", "secret": "no"}}
    expected = {"schema_version": "1.0", "idempotency_key": "k1", "stream": "7", "seq": 3, "kind": "record.confirmed",
                "status": "new", "disclose": True, "subject_name": "张三", "id_number": None,
                "decision_date": "2026-06-01", "valid_to": "2029-06-01",
                "checkpoint": {"count": 2, "last_id": None, "last_hash": "ab", "at": "x"}}
    assert payload.dump(m) == expected
    assert PlatformMessage().dump(m) == expected
