"""Backfill paid

Revision ID: 0f36b6ff74e1
"""
from alembic import op
import sqlalchemy as sa

revision = '0f36b6ff74e1'
down_revision = '5f9851d92c45'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("DO $$\nBEGIN\n    UPDATE orders SET status = 'paid'\n     WHERE status = 'new' AND placed_at < now() - interval '30 days';\nEND\n$$;\n")


def downgrade():
    raise NotImplementedError("the backfill cannot be undone")
