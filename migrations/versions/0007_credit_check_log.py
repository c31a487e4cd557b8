"""credit check log: found, conclusion, the caller's region and the household's (SPEC §1, §8)

Revision ID: 0007
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("credit_checks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("found", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("conclusion", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("caller_region_code", sa.String(length=6), nullable=True))
        batch_op.add_column(sa.Column("household_region_code", sa.String(length=6), nullable=True))
    # checks logged before: found when they named a household
    op.execute("UPDATE credit_checks SET found = (household_id IS NOT NULL)")
    with op.batch_alter_table("credit_checks", schema=None) as batch_op:
        batch_op.alter_column("found", server_default=None)


def downgrade():
    with op.batch_alter_table("credit_checks", schema=None) as batch_op:
        batch_op.drop_column("household_region_code")
        batch_op.drop_column("caller_region_code")
        batch_op.drop_column("conclusion")
        batch_op.drop_column("found")
