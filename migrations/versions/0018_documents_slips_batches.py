"""documents: check slips (household optional, the logged credit check), report batches and their items

Revision ID: 0018
Revises: 0017
"""
from alembic import op
import sqlalchemy as sa

import housingcredit.db


revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.alter_column("household_id", existing_type=ID, nullable=True)
        batch_op.add_column(sa.Column("credit_check_id", ID, nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_documents_credit_check_id_credit_checks"), "credit_checks",
                                    ["credit_check_id"], ["id"])
        batch_op.create_unique_constraint(batch_op.f("uq_documents_credit_check_id"), ["credit_check_id"])
    op.create_table(
        "report_batches",
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("created_by_id", ID, nullable=True),
        sa.Column("created_dt", housingcredit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("heartbeat_dt", housingcredit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_dt", housingcredit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("zip_name", sa.String(length=80), nullable=True),
        sa.Column("id", ID, nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_report_batches_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_batches")),
    )
    op.create_table(
        "report_batch_items",
        sa.Column("batch_id", ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.Column("household_id", ID, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("document_id", ID, nullable=True),
        sa.Column("id", ID, nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["report_batches.id"],
                                name=op.f("fk_report_batch_items_batch_id_report_batches")),
        sa.ForeignKeyConstraint(["household_id"], ["households.id"],
                                name=op.f("fk_report_batch_items_household_id_households")),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"],
                                name=op.f("fk_report_batch_items_document_id_documents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_batch_items")),
        sa.UniqueConstraint("batch_id", "position", name="uq_report_batch_items_line"),
    )
    with op.batch_alter_table("report_batch_items", schema=None) as batch_op:
        batch_op.create_index("ix_report_batch_items_batch_id", ["batch_id"], unique=False)


def downgrade():
    with op.batch_alter_table("report_batch_items", schema=None) as batch_op:
        batch_op.drop_index("ix_report_batch_items_batch_id")
    op.drop_table("report_batch_items")
    op.drop_table("report_batches")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_documents_credit_check_id"), type_="unique")
        batch_op.drop_constraint(batch_op.f("fk_documents_credit_check_id_credit_checks"), type_="foreignkey")
        batch_op.drop_column("credit_check_id")
        batch_op.alter_column("household_id", existing_type=ID, nullable=False)
