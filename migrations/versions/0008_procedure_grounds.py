"""procedure grounds: a route attaches its ground to the open procedure (SPEC §7 one at a time); end reason
`term_expired` renamed `expired` (SPEC §7)

Revision ID: 0008
Revises: 0006 (the lead re-chains at merge)

"""
from alembic import op
import sqlalchemy as sa

import housingcredit.db


# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "procedure_grounds",
        sa.Column("procedure_id", _ID, nullable=False),
        sa.Column("route", sa.String(length=24), nullable=False),
        sa.Column("attached_date", sa.Date(), nullable=False),
        sa.Column("record_id", _ID, nullable=True),
        sa.Column("order_id", _ID, nullable=True),
        sa.Column("evidence_id", _ID, nullable=True),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("by_id", _ID, nullable=True),
        sa.Column("dt", housingcredit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", _ID, nullable=False),
        sa.ForeignKeyConstraint(["by_id"], ["users.id"], name=op.f("fk_procedure_grounds_by_id_users")),
        sa.ForeignKeyConstraint(["evidence_id"], ["evidence.id"],
                                name=op.f("fk_procedure_grounds_evidence_id_evidence")),
        sa.ForeignKeyConstraint(["order_id"], ["rectification_orders.id"],
                                name=op.f("fk_procedure_grounds_order_id_rectification_orders")),
        sa.ForeignKeyConstraint(["procedure_id"], ["procedures.id"],
                                name=op.f("fk_procedure_grounds_procedure_id_procedures")),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"], name=op.f("fk_procedure_grounds_record_id_records")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_procedure_grounds")),
        sa.UniqueConstraint("order_id", name=op.f("uq_procedure_grounds_order_id")),
    )
    with op.batch_alter_table("procedure_grounds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_procedure_grounds_procedure_id"), ["procedure_id"], unique=False)
    # SPEC §7 names the end of the term `expired`; the service wrote `term_expired` before
    op.execute("UPDATE procedure_steps SET reason = 'expired' WHERE reason = 'term_expired'")


def downgrade():
    op.execute("UPDATE procedure_steps SET reason = 'term_expired' WHERE reason = 'expired'")
    with op.batch_alter_table("procedure_grounds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_procedure_grounds_procedure_id"))
    op.drop_table("procedure_grounds")
