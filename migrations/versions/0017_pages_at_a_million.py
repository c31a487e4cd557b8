"""Every page at a million households: the watch list's ended entries and its reason filter by their own indexes.

Revision ID: 0017
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("watch_entries") as batch_op:
        batch_op.create_index("ix_watch_entries_ended_order", ["start_date", "id"], unique=False,
                              postgresql_where=sa.text("end_date IS NOT NULL"),
                              sqlite_where=sa.text("end_date IS NOT NULL"))
        batch_op.create_index("ix_watch_entries_term_run", ["until_date"], unique=False,
                              postgresql_where=sa.text("end_date IS NULL"), sqlite_where=sa.text("end_date IS NULL"))
        batch_op.create_index("ix_watch_entries_reason_order", ["reason", "start_date", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("watch_entries") as batch_op:
        batch_op.drop_index("ix_watch_entries_reason_order")
        batch_op.drop_index("ix_watch_entries_term_run")
        batch_op.drop_index("ix_watch_entries_ended_order")
