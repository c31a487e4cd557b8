"""import batches: spreadsheet imports of household archives, checked before they are confirmed

Revision ID: 0022
Revises: 0020
Create Date: 2026-11-26

"""
from alembic import op
import sqlalchemy as sa

import housingcredit.db


revision = "0022"
down_revision = "0020"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STATUSES = ("checked", "running", "done", "cancelled")


def upgrade():
    op.create_table(
        "import_batches",
        sa.Column("user_id", ID, nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Enum(*STATUSES, name="import_status", native_enum=False, length=16,
                                    create_constraint=True), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_good", sa.Integer(), nullable=False),
        sa.Column("households_good", sa.Integer(), nullable=False),
        sa.Column("households_done", sa.Integer(), nullable=False),
        sa.Column("households_failed", sa.Integer(), nullable=False),
        sa.Column("created_dt", housingcredit.db.UTCDateTime(), nullable=False),
        sa.Column("updated_dt", housingcredit.db.UTCDateTime(), nullable=False),
        sa.Column("finished_dt", housingcredit.db.UTCDateTime(), nullable=True),
        sa.Column("rows", sa.JSON(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("id", ID, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_import_batches_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batches")),
    )
    op.create_index("ix_import_batches_user_id", "import_batches", ["user_id"], unique=False)


def downgrade():
    op.drop_index("ix_import_batches_user_id", table_name="import_batches")
    op.drop_table("import_batches")
