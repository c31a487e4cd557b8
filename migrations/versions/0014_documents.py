"""documents: numbered formal documents (notices' PDFs, credit reports) and their gapless number counters

Revision ID: 0014
Revises: 0011
Create Date: 2026-11-26

"""
from alembic import op
import sqlalchemy as sa

import housingcredit.db


revision = "0014"
down_revision = "0015"  # the lead re-chains at merge
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "document_counters",
        sa.Column("office_code", sa.String(length=6), nullable=False),
        sa.Column("series", sa.String(length=4), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_counters")),
        sa.UniqueConstraint("office_code", "series", "year", name="uq_document_counters_key"),
    )
    op.create_table(
        "documents",
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("series", sa.String(length=4), nullable=False),
        sa.Column("office_code", sa.String(length=6), nullable=False),
        sa.Column("household_id", ID, nullable=False),
        sa.Column("notice_id", ID, nullable=True),
        sa.Column("verify_code", sa.String(length=32), nullable=False),
        sa.Column("masked_name", sa.String(length=64), nullable=False),
        sa.Column("issued_dt", housingcredit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("issued_date", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=True),
        sa.Column("superseded_by_id", ID, nullable=True),
        sa.Column("issued_by_id", ID, nullable=True),
        sa.Column("id", ID, nullable=False),
        sa.ForeignKeyConstraint(["household_id"], ["households.id"], name=op.f("fk_documents_household_id_households")),
        sa.ForeignKeyConstraint(["notice_id"], ["notices.id"], name=op.f("fk_documents_notice_id_notices")),
        sa.ForeignKeyConstraint(["superseded_by_id"], ["documents.id"],
                                name=op.f("fk_documents_superseded_by_id_documents")),
        sa.ForeignKeyConstraint(["issued_by_id"], ["users.id"], name=op.f("fk_documents_issued_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("number", name=op.f("uq_documents_number")),
        sa.UniqueConstraint("notice_id", name=op.f("uq_documents_notice_id")),
        sa.UniqueConstraint("verify_code", name=op.f("uq_documents_verify_code")),
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index("ix_documents_household_id", ["household_id"], unique=False)


def downgrade():
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index("ix_documents_household_id")
    op.drop_table("documents")
    op.drop_table("document_counters")
