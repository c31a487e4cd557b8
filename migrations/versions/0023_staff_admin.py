"""staff administration and the searchable audit trail: users.office, audit indexes by actor, action and time

Revision ID: 0023
Revises: 0021
"""
from alembic import op
import sqlalchemy as sa


revision = "0023"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("office", sa.String(length=80), server_default="", nullable=False))
    # The audit trail page filters by actor, action and date and pages by id (newest first): each filter has an
    # index that keeps a page's cost flat however long the trail grows.
    op.create_index("ix_audit_entries_actor", "audit_entries", ["actor_id", "id"], unique=False)
    op.create_index("ix_audit_entries_action", "audit_entries", ["action", "id"], unique=False)
    op.create_index("ix_audit_entries_dt", "audit_entries", ["dt"], unique=False)


def downgrade():
    op.drop_index("ix_audit_entries_dt", table_name="audit_entries")
    op.drop_index("ix_audit_entries_action", table_name="audit_entries")
    op.drop_index("ix_audit_entries_actor", table_name="audit_entries")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("office")
