"""audit verifications: the chain's verifier run in the background from the trail page, with its progress

Revision ID: 0026
Revises: 0022
Create Date: 2026-11-26

"""
from alembic import op
import sqlalchemy as sa

import housingcredit.db


revision = "0026"
down_revision = "0022"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "audit_verifications",
        sa.Column("requested_by_id", ID, nullable=False),
        sa.Column("started_dt", housingcredit.db.UTCDateTime(), nullable=False),
        sa.Column("heartbeat_dt", housingcredit.db.UTCDateTime(), nullable=False),
        sa.Column("finished_dt", housingcredit.db.UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("total", ID, nullable=False),
        sa.Column("checked", ID, nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=True),
        sa.Column("first_bad_id", ID, nullable=True),
        sa.Column("problem", sa.String(length=300), nullable=True),
        sa.Column("head_id", ID, nullable=True),
        sa.Column("head_hash", sa.String(length=64), nullable=True),
        sa.Column("checkpoint_at", sa.String(length=40), nullable=True),
        sa.Column("id", ID, nullable=False),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"],
                                name=op.f("fk_audit_verifications_requested_by_id_users")),
        sa.CheckConstraint("status IN ('running', 'done', 'failed')", name=op.f("ck_audit_verifications_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_verifications")),
    )


def downgrade():
    op.drop_table("audit_verifications")
