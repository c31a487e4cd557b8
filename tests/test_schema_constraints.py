"""Consolidation item "the schema states the rules it can" (migration 0010): the database itself refuses a state,
route, step, reason, tier, business, role or reference outside its fixed set — written with Core, past every ORM
and service check — on SQLite and PostgreSQL alike."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from housingcredit.extensions import db

from . import factories

NOW = datetime(2026, 6, 15, 8, 0, tzinfo=timezone.utc)
DAY = date(2026, 6, 15)


def _table(name: str) -> sa.Table:
    return db.metadata.tables[name]


def _insert(table: str, values: dict) -> int:
    return db.session.execute(sa.insert(_table(table)).values(**values).returning(_table(table).c[
        "household_id" if table == "credit_states" else "id"])).scalar_one()


@pytest.fixture
def base(app):
    """A household, a staff user and a record, committed: the rows the others refer to."""
    h = factories.make_household()
    u = factories.make_user("caseworker", "420100")
    record = _insert("records", dict(household_id=h.id, region_code="420102", code="X", occurred_date=DAY,
                            formed_date=DAY, source="housing_department", facts="f", late=False, pending=True,
                            recorded_by_id=u.id, recorded_dt=NOW))
    procedure = _insert("procedures", dict(household_id=h.id, region_code="420102", route="court_judgment",
                               opened_date=DAY, basis="", opened_dt=NOW, state="opened"))
    db.session.commit()
    return {"h": h.id, "u": u.id, "record": record, "procedure": procedure}


def _valid(table: str, ids: dict) -> dict:
    h, u, record, procedure = ids["h"], ids["u"], ids["record"], ids["procedure"]
    audit_id = db.session.scalar(sa.select(sa.func.max(_table("audit_entries").c.id))) or 0
    return {
        "users": dict(username="x1", display_name="x", role="caseworker", region_code="420100", active=True,
                      created_dt=NOW),
        "households": dict(archive_no="A-1", region_code="420102", address="a", hukou="", marital_status="",
                           housing_status="", protection_category="physical", protection_mode="",
                           protection_group="", priority_flags=[], created_dt=NOW, updated_dt=NOW, version=1),
        "members": dict(household_id=h, name="李四", id_number=factories.id_number(seq=777), relation="spouse"),
        "determinations": dict(record_id=record, decision="confirmed", legal_basis="HB 五", determination_date=DAY,
                               reviewer_id=u, decided_dt=NOW),
        "revocations": dict(record_id=record, revoked_date=DAY, reason="error", note="", dt=NOW),
        "watch_entries": dict(household_id=h, region_code="420102", start_date=DAY, until_date=DAY,
                              reason="expired", grounds=[]),
        "procedures": dict(household_id=h, region_code="420102", route="court_judgment", opened_date=DAY,
                           basis="", opened_dt=NOW, state="opened"),
        "procedure_steps": dict(procedure_id=procedure, step="ended", step_date=DAY, reason="revoked", dt=NOW),
        "credit_checks": dict(dt=NOW, user_id=u, household_id=h, id_number_masked="4201**********0012",
                              business="renewal", purpose="", tier="mild"),
        "credit_states": dict(household_id=h, region_code="420102", score=95, tier="mild", computed_date=DAY, computed_dt=NOW),
        "outbox_events": dict(household_id=h, stream=str(h), seq=1, kind="record.confirmed", payload={},
                              created_dt=NOW, attempts=0, rejections=0, status="pending",
                              idempotency_key="k-constraint-test"),
        "audit_entries": dict(id=audit_id + 1, dt=NOW, actor_id=u, actor_label="x", action="a", object_type="o", household_id=h,
                              prev_hash="0" * 64, hash="1" * 64),
    }[table]


# (table, column, a value outside the rule, the constraint that must refuse it; None: a foreign key)
BAD = [
    ("users", "role", "janitor", "ck_users_role"),
    ("households", "protection_category", "castle", "ck_households_protection_category"),
    ("members", "relation", "cousin", "ck_members_relation"),
    ("determinations", "decision", "maybe", "ck_determinations_decision"),
    ("revocations", "reason", "whim", "ck_revocations_reason"),
    ("watch_entries", "reason", "bored", "ck_watch_entries_reason"),
    ("procedures", "state", "limbo", "ck_procedures_state"),
    ("procedures", "route", "rumour", "ck_procedures_route"),
    ("procedure_steps", "step", "skipped", "ck_procedure_steps_step"),
    ("procedure_steps", "reason", "tired", "ck_procedure_steps_reason"),
    ("credit_checks", "business", "lottery", "ck_credit_checks_business"),
    ("credit_checks", "tier", "gold", "ck_credit_checks_tier"),
    ("credit_states", "tier", "gold", "ck_credit_states_tier"),
    ("outbox_events", "seq", 0, "ck_outbox_events_seq_positive"),
    ("outbox_events", "attempts", -1, "ck_outbox_events_attempts_not_negative"),
    ("audit_entries", "actor_id", 999999, None),
    ("audit_entries", "household_id", 999999, None),
]


@pytest.mark.parametrize("table,column,bad,constraint", BAD, ids=[f"{t}.{c}" for t, c, _, _ in BAD])
def test_consolidation_schema_refuses_a_value_outside_the_rule(base, table, column, bad, constraint):
    row = _valid(table, base)
    with pytest.raises(IntegrityError) as err:
        with db.session.begin_nested():
            _insert(table, {**row, column: bad})
    if constraint is not None:
        assert constraint in str(err.value.orig)
    db.session.rollback()
    with db.session.begin_nested():  # the same row with a good value goes in: it was the value that was refused
        _insert(table, row)
    db.session.rollback()


def test_consolidation_schema_allows_null_where_the_model_does(base):
    with db.session.begin_nested():
        _insert("watch_entries", {**_valid("watch_entries", base), "reason": None})
        _insert("procedure_steps", {**_valid("procedure_steps", base), "step": "publicity", "reason": None})
        _insert("credit_checks", {**_valid("credit_checks", base), "tier": None})
        _insert("audit_entries", {**_valid("audit_entries", base), "actor_id": None, "household_id": None})
    db.session.rollback()
