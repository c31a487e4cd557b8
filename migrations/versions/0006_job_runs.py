"""job runs: the record of each daily job's runs (missed days, failed households)

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-26 02:27:10.246374

"""
from alembic import op
import sqlalchemy as sa

import housingcredit.db


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('job_runs',
    sa.Column('job', sa.String(length=40), nullable=False),
    sa.Column('legal_date', sa.Date(), nullable=False),
    sa.Column('started_dt', housingcredit.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_dt', housingcredit.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=True),
    sa.Column('errors', sa.JSON(), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs'))
    )
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.create_index('ix_job_runs_job_ok_date', ['job', 'ok', 'legal_date'], unique=False)



def downgrade():
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_job_runs_job_ok_date')

    op.drop_table('job_runs')
