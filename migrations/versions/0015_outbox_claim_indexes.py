"""outbox claim indexes: the open messages in id order, and the unacknowledged ones per stream (partial indexes)

The sender's claim takes, in id order, the open messages (pending, sent, failed) that have no unacknowledged
predecessor in their stream. Both indexes hold only what is not acknowledged, so the claim no longer walks the
acknowledged history (which only grows). `ix_outbox_events_pending` (delivered_dt, id), from before messages had
a status, serves no query any more and only made every status change dearer: dropped.

Revision ID: 0015
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa


revision = "0015"
down_revision = "0010"  # the lead re-chains at merge
branch_labels = None
depends_on = None

OPEN = "status IN ('pending', 'sent', 'failed')"
UNACKED = "status <> 'acknowledged'"


def upgrade():
    op.drop_index("ix_outbox_events_pending", table_name="outbox_events")
    op.create_index("ix_outbox_events_open", "outbox_events", ["id"], unique=False,
                    postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
    op.create_index("ix_outbox_events_unacked", "outbox_events", ["stream", "seq"], unique=False,
                    postgresql_where=sa.text(UNACKED), sqlite_where=sa.text(UNACKED))


def downgrade():
    op.drop_index("ix_outbox_events_unacked", table_name="outbox_events")
    op.drop_index("ix_outbox_events_open", table_name="outbox_events")
    op.create_index("ix_outbox_events_pending", "outbox_events", ["delivered_dt", "id"], unique=False)
