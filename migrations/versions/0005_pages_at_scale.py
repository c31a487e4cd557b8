"""Pages at a million households: records' stored pending state, and indexes matching each list's order.

Revision ID: 0005
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("records") as batch_op:
        batch_op.add_column(sa.Column("pending", sa.Boolean(), server_default=sa.true(), nullable=False))
    # the stored state from the facts: pending until a determination or a revocation references the record
    op.execute("UPDATE records SET pending = NOT (EXISTS (SELECT 1 FROM determinations d WHERE d.record_id = "
               "records.id) OR EXISTS (SELECT 1 FROM revocations v WHERE v.record_id = records.id))")
    with op.batch_alter_table("records") as batch_op:
        batch_op.create_index("ix_records_pending_queue", ["recorded_dt", "id"], unique=False,
                              postgresql_where=sa.text("pending"), sqlite_where=sa.text("pending"))
        batch_op.create_index("ix_records_pending_region", ["region_code"], unique=False,
                              postgresql_where=sa.text("pending"), sqlite_where=sa.text("pending"))
        batch_op.create_index("ix_records_recorder", ["recorded_by_id", "pending", "late"], unique=False)
        batch_op.create_index("ix_records_late_region", ["region_code"], unique=False,
                              postgresql_where=sa.text("late"), sqlite_where=sa.text("late"))
    with op.batch_alter_table("watch_entries") as batch_op:
        batch_op.create_index("ix_watch_entries_list_order", ["start_date", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("watch_entries") as batch_op:
        batch_op.drop_index("ix_watch_entries_list_order")
    with op.batch_alter_table("records") as batch_op:
        batch_op.drop_index("ix_records_late_region")
        batch_op.drop_index("ix_records_recorder")
        batch_op.drop_index("ix_records_pending_region")
        batch_op.drop_index("ix_records_pending_queue")
        batch_op.drop_column("pending")
