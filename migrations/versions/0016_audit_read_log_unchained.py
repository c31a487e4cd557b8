"""audit read-logs written unchained, chained in batches: the chain's place moves from `id` to `seq`

A read-log entry (`*.read`, `credit.check`) is inserted with `seq`, `prev_hash` and `hash` NULL, without the
chain's lock, and chained later in a batch (audit/service.py `chain_pending`). Every existing entry keeps its
place: `seq = id`. `id` now comes from the table's sequence (set past the highest id here).

PostgreSQL: the append-only trigger now lets exactly one UPDATE through — chaining an unchained entry (its three
chain columns from NULL to set, every other column unchanged); any other UPDATE, and every DELETE, is refused as
before.

Downgrade stops while the trail holds an unchained entry or an entry whose place differs from its id (the old
schema had no room for either).

Revision ID: 0016
Revises: 0023
"""
from alembic import op
import sqlalchemy as sa

revision = "0016"
down_revision = "0023"
branch_labels = None
depends_on = None

UNCHAINED = "hash IS NULL"
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_COLUMNS = ("id", "dt", "actor_id", "actor_label", "action", "object_type", "object_id", "household_id",
            "region_code", "before::text", "after::text")

APPEND_ONLY_WITH_CHAINING = """
    CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND OLD.prev_hash IS NULL AND OLD.hash IS NULL
           AND NEW.seq IS NOT NULL AND NEW.prev_hash IS NOT NULL AND NEW.hash IS NOT NULL
           AND ROW(NEW_COLUMNS) IS NOT DISTINCT FROM ROW(OLD_COLUMNS) THEN
            RETURN NEW;  -- chaining a read-log entry: its chain columns, once, nothing else
        END IF;
        RAISE EXCEPTION 'audit_entries is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END
    $$
""".replace("NEW_COLUMNS", ", ".join(f"NEW.{c}" for c in _COLUMNS)).replace(
    "OLD_COLUMNS", ", ".join(f"OLD.{c}" for c in _COLUMNS))

APPEND_ONLY = """
    CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_entries is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END
    $$
"""


def upgrade():
    pg = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", ID, nullable=True))
    if pg:
        op.execute("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only")
    op.execute("UPDATE audit_entries SET seq = id")
    if pg:
        op.execute("ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_append_only")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=True)
        batch_op.create_unique_constraint(batch_op.f("uq_audit_entries_seq"), ["seq"])
        batch_op.create_index("ix_audit_entries_unchained", ["id"], unique=False,
                              postgresql_where=sa.text(UNCHAINED), sqlite_where=sa.text(UNCHAINED))
    if pg:
        op.execute("SELECT setval(pg_get_serial_sequence('audit_entries', 'id'), "
                   "GREATEST(COALESCE(MAX(id), 0), 1), MAX(id) IS NOT NULL) FROM audit_entries")
        op.execute(APPEND_ONLY_WITH_CHAINING)


def downgrade():
    pg = op.get_bind().dialect.name == "postgresql"
    odd = op.get_bind().scalar(sa.text("SELECT count(*) FROM audit_entries WHERE seq IS NULL OR seq <> id"))
    if odd:
        raise RuntimeError(f"{odd} audit entries are unchained or have a place other than their id: "
                           "the schema before 0016 cannot hold them")
    if pg:
        op.execute(APPEND_ONLY)
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entries_unchained", postgresql_where=sa.text(UNCHAINED),
                            sqlite_where=sa.text(UNCHAINED))
        batch_op.drop_constraint(batch_op.f("uq_audit_entries_seq"), type_="unique")
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column("seq")
