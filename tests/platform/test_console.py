"""Issue 17: the push console for supervisors — counts, dead letters as alerts, retry, reconciliation, repair."""
from __future__ import annotations

import sqlalchemy as sa

from housingcredit.audit.models import AuditEntry
from housingcredit.extensions import db
from housingcredit.platform import sender
from housingcredit.platform.models import OutboxEvent
from tests.factories import csrf_token, make_user

from .test_push import _queue


def test_issue17_console_for_supervisors_only(app, client, login_as, receiver):
    login_as(make_user("caseworker", "420100"))
    assert client.get("/platform").status_code == 403


def test_issue17_console_counts_dead_letter_retry_reconcile(app, client, login_as, receiver, clock):
    hs = _queue(households=2, per=1)
    first = db.session.scalar(sa.select(OutboxEvent).where(OutboxEvent.household_id == hs[0].id))
    receiver.faults(reject={first.idempotency_key: 5})
    for _ in range(5):
        sender.push()
        clock.advance(seconds=3600)
    login_as(make_user("supervisor", "420100"))
    page = client.get("/platform").get_data(as_text=True)
    assert 'id="dead-alert"' in page and 'data-status="dead"' in page
    token = csrf_token(client)
    resp = client.post(f"/platform/{first.id}/retry", data={"csrf_token": token})
    assert resp.status_code == 303
    assert db.session.get(OutboxEvent, first.id).status == "pending"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "platform.retry")) == 1
    sender.push()
    page = client.post("/platform/reconcile", data={"csrf_token": token}).get_data(as_text=True)
    assert 'id="no-difference"' in page


def test_issue17_console_repair_resends_missing(app, client, login_as, receiver):
    _queue(households=1, per=1)
    sender.push()
    key = db.session.scalars(sa.select(OutboxEvent.idempotency_key)).one()
    receiver.wsgi.extensions["store"].conn.execute("DELETE FROM holdings")
    login_as(make_user("supervisor", "420100"))
    token = csrf_token(client)
    page = client.post("/platform/reconcile", data={"csrf_token": token}).get_data(as_text=True)
    assert 'data-difference="missing"' in page and key in page
    assert client.post("/platform/repair", data={"csrf_token": token, "key": key}).status_code == 303
    sender.push()
    assert [h["idempotency_key"] for h in receiver.holdings()] == [key]


def test_issue17_payload_schema_in_openapi(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    props = spec["components"]["schemas"]["PlatformMessage"]["properties"]
    assert {"subject_name", "id_number", "disclose", "schema_version", "authority_credit_code"} <= set(props)
