"""audit trail append-only on PostgreSQL: a trigger refuses UPDATE and DELETE of audit entries

The chain itself is keyed from this version on (HMAC-SHA256 with AUDIT_KEY, outside the database); nothing is
rehashed here (a migration has no key). Entries written before it keep their plain SHA-256 hashes: set
AUDIT_LEGACY_UNTIL to the last such id so `flask audit verify` checks them as such (see README).

TRUNCATE is not refused (the test suite empties tables with it); a truncation is caught by `flask audit verify`
against the signed checkpoints kept outside the database. SQLite: no trigger (single local writer).

Revision ID: 0003
Revises: 0001
"""
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_entries is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
    """)
    op.execute("""
        CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
        FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()
    """)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_entries")
    op.execute("DROP FUNCTION IF EXISTS audit_entries_append_only()")
