"""an upheld objection may correct the record's facts: objection_proposals.correction_id

SPEC §9: upheld → the record is revoked or its facts corrected. The handler's proposal names the correction
proposal (reason `objection_upheld`) that carries the corrected facts and the earlier version; the objection's
review decides it. Existing proposals revoke (or end a procedure): the column is NULL for them.

Revision ID: 0024
Revises: 0026
"""
from alembic import op
import sqlalchemy as sa


revision = "0024"
down_revision = "0026"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    with op.batch_alter_table("objection_proposals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("correction_id", BIGINT, nullable=True))
        batch_op.create_foreign_key(op.f("fk_objection_proposals_correction_id_correction_proposals"),
                                    "correction_proposals", ["correction_id"], ["id"])
        batch_op.create_unique_constraint(op.f("uq_objection_proposals_correction_id"), ["correction_id"])


def downgrade():
    with op.batch_alter_table("objection_proposals", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_objection_proposals_correction_id"), type_="unique")
        batch_op.drop_constraint(op.f("fk_objection_proposals_correction_id_correction_proposals"),
                                 type_="foreignkey")
        batch_op.drop_column("correction_id")
