"""statistics at a million households: the household's region beside its tier in the credit cache, records'
confirmed state stored

`credit_states.region_code` is the household's region, written with the tier (and on a move) and checked by
`flask credit verify`; existing rows take it from their household here. The tier index becomes
(tier, region_code): counting the households off the no-records tier by region reads that index alone.
`records.confirmed_unrevoked` (a confirming determination and no revocation) is filled from the facts here,
with a partial index (region_code, formed_date, code) for the behaviours by code and month.

Revision ID: 0025
Revises: 0024
"""
import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"  # the head of main when written; the lead re-chains at merge
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("credit_states", sa.Column("region_code", sa.String(length=6), nullable=True))
    op.execute("UPDATE credit_states SET region_code = "
               "(SELECT h.region_code FROM households h WHERE h.id = credit_states.household_id)")
    with op.batch_alter_table("credit_states", schema=None) as batch_op:
        batch_op.alter_column("region_code", existing_type=sa.String(length=6), nullable=False)
        batch_op.drop_index("ix_credit_states_tier")
        batch_op.create_index("ix_credit_states_tier_region", ["tier", "region_code"], unique=False)
    op.add_column("records", sa.Column("confirmed_unrevoked", sa.Boolean(), server_default=sa.false(),
                                       nullable=False))
    op.execute("UPDATE records SET confirmed_unrevoked = "
               "EXISTS (SELECT 1 FROM determinations d WHERE d.record_id = records.id AND d.decision = 'confirmed') "
               "AND NOT EXISTS (SELECT 1 FROM revocations v WHERE v.record_id = records.id)")
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.create_index("ix_records_confirmed_stats", ["region_code", "formed_date", "code"], unique=False,
                              postgresql_where=sa.text("confirmed_unrevoked"),
                              sqlite_where=sa.text("confirmed_unrevoked"))


def downgrade():
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_index("ix_records_confirmed_stats")
        batch_op.drop_column("confirmed_unrevoked")
    with op.batch_alter_table("credit_states", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_states_tier_region")
        batch_op.create_index("ix_credit_states_tier", ["tier"], unique=False)
        batch_op.drop_column("region_code")
