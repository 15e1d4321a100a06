"""Create audit log

Revision ID: 25ca3799fa5a
"""
from alembic import op
import sqlalchemy as sa

revision = '25ca3799fa5a'
down_revision = '427327f2dc9a'
branch_labels = 'audit'
depends_on = None


def upgrade():
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.Column("who", sa.Text, nullable=False, server_default=sa.text("CURRENT_USER")),
        sa.Column("what", sa.dialects.postgresql.JSONB, nullable=False),
    )


def downgrade():
    op.drop_table("audit_log")
