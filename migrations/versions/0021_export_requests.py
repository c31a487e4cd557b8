"""export requests: an unmasked export asked with a purpose, decided by a supervisor, downloaded once (SPEC §11)

Revision ID: 0021
Revises: 0019
"""
from alembic import op
import sqlalchemy as sa

import housingcredit.db

revision = "0021"
down_revision = "0019"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "export_requests",
        sa.Column("list_name", sa.String(length=24), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("requested_by_id", ID, nullable=False),
        sa.Column("requested_dt", housingcredit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=True),
        sa.Column("decided_by_id", ID, nullable=True),
        sa.Column("decided_dt", housingcredit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("expires_dt", housingcredit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("downloaded_dt", housingcredit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("id", ID, nullable=False),
        sa.CheckConstraint("decision IN ('approved', 'rejected')", name=op.f("ck_export_requests_decision")),
        sa.CheckConstraint("(decision IS NULL) = (decided_by_id IS NULL)", name=op.f("ck_export_requests_decided_by")),
        sa.CheckConstraint("downloaded_dt IS NULL OR decision = 'approved'",
                           name=op.f("ck_export_requests_download_approved")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"], name=op.f("fk_export_requests_decided_by_id_users")),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"],
                                name=op.f("fk_export_requests_requested_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_requests")),
    )
    with op.batch_alter_table("export_requests", schema=None) as batch_op:
        batch_op.create_index("ix_export_requests_requested_by", ["requested_by_id", "id"], unique=False)
        batch_op.create_index("ix_export_requests_undecided", ["region_code"], unique=False,
                              postgresql_where=sa.text("decision IS NULL"), sqlite_where=sa.text("decision IS NULL"))


def downgrade():
    with op.batch_alter_table("export_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_export_requests_undecided", postgresql_where=sa.text("decision IS NULL"),
                            sqlite_where=sa.text("decision IS NULL"))
        batch_op.drop_index("ix_export_requests_requested_by")
    op.drop_table("export_requests")
