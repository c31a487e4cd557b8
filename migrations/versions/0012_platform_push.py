"""platform push: delivery state of the outbox (status, idempotency key, back-off, answer, dead letters, streams)

Revision ID: 0012
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

import housingcredit.db


revision = "0012"
down_revision = "0008"  # main's head when branched (the lead re-chains at merge)
branch_labels = None
depends_on = None

_DT = housingcredit.db.UTCDateTime(timezone=True)


def upgrade():
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stream", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("status", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("rejections", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("next_attempt_dt", _DT, nullable=True))
        batch_op.add_column(sa.Column("last_attempt_dt", _DT, nullable=True))
        batch_op.add_column(sa.Column("dead_dt", _DT, nullable=True))
        batch_op.add_column(sa.Column("answer", sa.JSON(), nullable=True))
    # events queued before delivery existed: their household's stream, a key from their id, pending
    op.execute("UPDATE outbox_events SET stream = CAST(household_id AS VARCHAR(40)), "
               "idempotency_key = 'hc-' || CAST(id AS VARCHAR(40)), rejections = 0, "
               "status = CASE WHEN delivered_dt IS NULL THEN 'pending' ELSE 'acknowledged' END")
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.alter_column("stream", existing_type=sa.String(length=40), nullable=False)
        batch_op.alter_column("idempotency_key", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("status", existing_type=sa.String(length=20), nullable=False)
        batch_op.alter_column("rejections", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("household_id", existing_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                              nullable=True)
        batch_op.create_unique_constraint("uq_outbox_events_stream_seq", ["stream", "seq"])
        batch_op.create_unique_constraint("uq_outbox_events_idempotency_key", ["idempotency_key"])
        batch_op.create_index("ix_outbox_events_status", ["status", "id"], unique=False)


def downgrade():
    op.execute("DELETE FROM outbox_events WHERE household_id IS NULL")  # the audit stream has no household column
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_events_status")
        batch_op.drop_constraint("uq_outbox_events_idempotency_key", type_="unique")
        batch_op.drop_constraint("uq_outbox_events_stream_seq", type_="unique")
        batch_op.alter_column("household_id", existing_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                              nullable=False)
        batch_op.drop_column("answer")
        batch_op.drop_column("dead_dt")
        batch_op.drop_column("last_attempt_dt")
        batch_op.drop_column("next_attempt_dt")
        batch_op.drop_column("rejections")
        batch_op.drop_column("status")
        batch_op.drop_column("idempotency_key")
        batch_op.drop_column("stream")
