"""The credit check's cost in round trips (issue 21, speed): at most 6 SQL statements (the commit aside) and one
connection checkout per check request, whatever the household has — counted, not timed."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date

import sqlalchemy as sa
from sqlalchemy import event

from housingcredit.extensions import db
from housingcredit.lists import service
from tests import factories

from .helpers import PDF, Staff, confirm_on

URL = "/api/v1/credit-check?id_number={}&business={}&purpose={}"
MAX_STATEMENTS = 6


@contextmanager
def counting():
    """Every statement sent to the database and every pool checkout, while the block runs."""
    engine = db.engine
    seen = {"statements": [], "checkouts": 0}

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        seen["statements"].append(statement)

    def on_checkout(dbapi_conn, record, proxy):
        seen["checkouts"] += 1

    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine.pool, "checkout", on_checkout)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine.pool, "checkout", on_checkout)


def _real(statements):
    """The statements that do work: transaction control (SAVEPOINT/COMMIT, SQLite's PRAGMA) aside."""
    return [s for s in statements if not s.lstrip().upper().startswith(("COMMIT", "ROLLBACK", "PRAGMA", "BEGIN"))]


def _one_check(api, number, business="allocation"):
    db.session.remove()  # a request starts without anything loaded, as under a server
    with counting() as seen:
        resp = api.get(URL.format(number, business, "分配审核"))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json(), _real(seen["statements"]), seen["checkouts"]


def test_issue21_check_costs_at_most_six_statements_and_one_checkout(app, clock, api_client):
    staff = Staff("420100")
    h = factories.make_household("420102", members=1)
    confirm_on(clock, staff, h, "HB06", date(2026, 6, 1))  # a record …
    clock.set(date(2026, 6, 10))
    service.open_procedure(h.id, "administrative_penalty", "江岸区住房保障局行政处罚决定书", ("d.pdf", PDF),
                           staff.caseworker)  # … and a procedure: the most a check reads
    db.session.commit()
    api = api_client(staff.caseworker)
    number = h.members[-1].id_number
    unknown = factories.id_number("420102")
    api.get(URL.format(unknown, "other", "预热"))  # first request of the app: imports, caches
    for who, ask in (("household with record and procedure", number), ("unknown ID number", unknown)):
        body, statements, checkouts = _one_check(api, ask)
        assert body["conclusion"] in ("may_proceed", "restricted")
        assert len(statements) <= MAX_STATEMENTS, (who, len(statements), statements)
        assert checkouts == 1, (who, checkouts)
    # and a check is still logged each time (3 checks: the warm-up and the two counted)
    from housingcredit.lists.models import CreditCheck
    assert db.session.scalar(sa.select(sa.func.count(CreditCheck.id))) == 3


def test_issue21_check_log_and_its_read_log_are_one_insert_on_postgresql(app, api_client):
    """The check's log row and its audit read-log are written together: one INSERT on PostgreSQL (a CTE), two
    where the database cannot write from a CTE (SQLite) — and both rows say the same check."""
    from housingcredit.audit.models import AuditEntry
    from housingcredit.lists.models import CreditCheck
    from tests.conftest import is_postgres
    worker = factories.make_user("caseworker", "420100")
    h = factories.make_household("420102", members=1)
    db.session.commit()
    worker_id, household_id, number = worker.id, h.id, h.head.id_number
    api = api_client(worker)
    api.get(URL.format(factories.id_number("420102"), "other", "预热"))
    body, statements, _checkouts = _one_check(api, number)
    inserts = [s for s in statements if s.lstrip().upper().startswith(("INSERT", "WITH"))]
    assert len(inserts) == (1 if is_postgres() else 2), inserts
    row = db.session.get(CreditCheck, body["check_id"])
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "credit.check")
                               .order_by(AuditEntry.id.desc())).first()
    assert (entry.object_type, entry.object_id, entry.household_id, entry.region_code, entry.actor_id) == (
        "credit_check", str(row.id), household_id, "420102", worker_id)
    assert entry.after["business"] == row.business == "allocation" and entry.after["found"] is True
    assert entry.hash is None and entry.seq is None  # a read-log: chained later, in a batch
