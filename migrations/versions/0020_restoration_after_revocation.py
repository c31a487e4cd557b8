"""restorations after a confirmed revocation decision too: objection_id nullable, revocation_id, exactly one

A restoration of credit (恢复信誉, SPEC §9) is kept where measures had been applied on an item that fell — after an
upheld objection (as before) or a confirmed revocation decision (new). Existing rows all have their objection.

Revision ID: 0020
Revises: 0016
"""
from alembic import op
import sqlalchemy as sa


revision = "0020"
down_revision = "0016"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    with op.batch_alter_table("restorations", schema=None) as batch_op:
        batch_op.alter_column("objection_id", existing_type=BIGINT, nullable=True)
        batch_op.add_column(sa.Column("revocation_id", BIGINT, nullable=True))
        batch_op.create_foreign_key(op.f("fk_restorations_revocation_id_revocations"), "revocations",
                                    ["revocation_id"], ["id"])
        batch_op.create_unique_constraint(op.f("uq_restorations_revocation_id"), ["revocation_id"])
        batch_op.create_check_constraint(op.f("ck_restorations_restoration_one_ground"),
                                         "(objection_id IS NULL) <> (revocation_id IS NULL)")


def downgrade():
    op.execute("DELETE FROM restorations WHERE revocation_id IS NOT NULL")
    with op.batch_alter_table("restorations", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_restorations_restoration_one_ground"), type_="check")
        batch_op.drop_constraint(op.f("uq_restorations_revocation_id"), type_="unique")
        batch_op.drop_constraint(op.f("fk_restorations_revocation_id_revocations"), type_="foreignkey")
        batch_op.drop_column("revocation_id")
        batch_op.alter_column("objection_id", existing_type=BIGINT, nullable=False)
