"""the schema states the rules it can: check constraints on the fixed code sets, foreign keys from the audit trail

CHECK constraints (named by the convention in housingcredit/db.py) on the states, steps, routes, reasons, tiers,
businesses and roles whose values are fixed in code; never on codes that come from the rules data (behaviour
codes, record sources, order grounds), which change without a migration. Foreign keys from audit_entries.actor_id
to users and audit_entries.household_id to households (neither is ever deleted).

Before adding anything, the upgrade counts the existing rows that would break each constraint and stops with
the list when there are any (nothing is changed then): fix or remove those rows and run it again.

Revision ID: 0010
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0011"  # the head of main when written; the lead re-chains at merge
branch_labels = None
depends_on = None

TIERS = ("good", "mild", "moderate", "severe")
STEPS = ("opened", "publicity", "listed", "ended")

# (table, constraint name, column, allowed values) — the values as they are today, frozen here
CHECKS = [
    ("users", "ck_users_role", "role", ("household", "caseworker", "reviewer", "supervisor", "auditor")),
    ("households", "ck_households_protection_category", "protection_category", ("physical", "subsidy")),
    ("members", "ck_members_relation", "relation", ("head", "spouse", "child", "parent", "other")),
    ("determinations", "ck_determinations_decision", "decision", ("confirmed", "rejected")),
    ("revocations", "ck_revocations_reason", "reason", ("error", "annulled", "other", "objection_upheld",
                                                        "corrected", "withdrawn")),
    ("watch_entries", "ck_watch_entries_reason", "reason", ("expired", "transferred", "grounds_fell")),
    ("procedures", "ck_procedures_state", "state", STEPS),
    ("procedures", "ck_procedures_route", "route", ("watch_transfer", "overdue_order", "court_judgment",
                                                    "criminal_penalty", "administrative_penalty")),
    ("procedure_steps", "ck_procedure_steps_step", "step", STEPS),
    ("procedure_steps", "ck_procedure_steps_reason", "reason", ("expired", "statement_accepted", "revoked",
                                                                "repaired", "objection_upheld")),
    ("credit_checks", "ck_credit_checks_business", "business", ("application", "allocation", "renewal", "swap",
                                                                "subsidy", "exit", "other")),
    ("credit_checks", "ck_credit_checks_tier", "tier", TIERS),
    ("credit_states", "ck_credit_states_tier", "tier", TIERS),
]
# (table, constraint name, condition) — other conditions
CONDITIONS = [
    ("outbox_events", "ck_outbox_events_seq_positive", "seq >= 1"),
    ("outbox_events", "ck_outbox_events_attempts_not_negative", "attempts >= 0"),
]
# (table, constraint name, column, referred table)
FOREIGN_KEYS = [
    ("audit_entries", "fk_audit_entries_actor_id_users", "actor_id", "users"),
    ("audit_entries", "fk_audit_entries_household_id_households", "household_id", "households"),
]


def _in(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _refuse_breaking_rows(bind):
    problems = []
    for table, name, column, values in CHECKS:
        n = bind.execute(sa.text(f"SELECT count(*) FROM {table} WHERE {column} IS NOT NULL "
                                 f"AND NOT ({_in(column, values)})")).scalar()
        if n:
            problems.append(f"{name}: {n} row(s) of {table} with {column} not one of {', '.join(values)}")
    for table, name, condition in CONDITIONS:
        n = bind.execute(sa.text(f"SELECT count(*) FROM {table} WHERE NOT ({condition})")).scalar()
        if n:
            problems.append(f"{name}: {n} row(s) of {table} where not {condition}")
    for table, name, column, referred in FOREIGN_KEYS:
        n = bind.execute(sa.text(f"SELECT count(*) FROM {table} t WHERE t.{column} IS NOT NULL AND NOT EXISTS "
                                 f"(SELECT 1 FROM {referred} r WHERE r.id = t.{column})")).scalar()
        if n:
            problems.append(f"{name}: {n} row(s) of {table} whose {column} names no row of {referred}")
    if problems:
        raise RuntimeError("migration 0010 stopped, nothing changed — existing rows break the new constraints:\n  "
                           + "\n  ".join(problems))


def _tables():
    return list(dict.fromkeys([c[0] for c in CHECKS] + [c[0] for c in CONDITIONS] + [f[0] for f in FOREIGN_KEYS]))


def upgrade():
    _refuse_breaking_rows(op.get_bind())
    for table in _tables():
        with op.batch_alter_table(table) as batch_op:
            for t, name, column, values in CHECKS:
                if t == table:
                    batch_op.create_check_constraint(op.f(name), _in(column, values))
            for t, name, condition in CONDITIONS:
                if t == table:
                    batch_op.create_check_constraint(op.f(name), condition)
            for t, name, column, referred in FOREIGN_KEYS:
                if t == table:
                    batch_op.create_foreign_key(op.f(name), referred, [column], ["id"])


def downgrade():
    for table in reversed(_tables()):
        with op.batch_alter_table(table) as batch_op:
            for t, name, column, referred in FOREIGN_KEYS:
                if t == table:
                    batch_op.drop_constraint(op.f(name), type_="foreignkey")
            for t, name, condition in CONDITIONS:
                if t == table:
                    batch_op.drop_constraint(op.f(name), type_="check")
            for t, name, column, values in CHECKS:
                if t == table:
                    batch_op.drop_constraint(op.f(name), type_="check")
