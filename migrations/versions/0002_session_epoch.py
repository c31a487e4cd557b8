"""sessions end on the server (users.session_epoch) and activation attempts are counted

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = "0002"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("activation_attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("session_epoch", sa.Integer(), server_default="0", nullable=False))
    # Activation codes are now kept as HMAC-SHA256 under the secret key; plain SHA-256 hashes from before can
    # never match again, so outstanding codes are voided (the caseworker issues a new one).
    op.execute("UPDATE users SET activation_hash = NULL, activation_expires_dt = NULL "
               "WHERE activation_hash IS NOT NULL")


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_epoch")
        batch_op.drop_column("activation_attempts")
