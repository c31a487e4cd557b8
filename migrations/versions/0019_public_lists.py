"""public lists: a partial index on the procedures in publicity or listed, in id order

The public joint-punishment list (public/service.py) walks the procedures in publicity or listed, newest first, a
page at a time after the last id shown; the index holds only those rows, so a page never walks the ended history.

Revision ID: 0019
Revises: 0018
"""
from alembic import op
import sqlalchemy as sa


revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

PUBLIC_STATES = "state IN ('publicity', 'listed')"


def upgrade():
    op.create_index("ix_procedures_public", "procedures", ["id"], unique=False,
                    postgresql_where=sa.text(PUBLIC_STATES), sqlite_where=sa.text(PUBLIC_STATES))


def downgrade():
    op.drop_index("ix_procedures_public", table_name="procedures")
