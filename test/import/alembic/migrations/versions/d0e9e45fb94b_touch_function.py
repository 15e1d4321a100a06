"""Touch function

Revision ID: d0e9e45fb94b
"""
from alembic import op
import sqlalchemy as sa

revision = 'd0e9e45fb94b'
down_revision = 'a7748fe9472c'
branch_labels = None
depends_on = None


def upgrade():
    op.execute('CREATE FUNCTION touch_updated_at() RETURNS trigger\nLANGUAGE plpgsql AS $$\nBEGIN\n    NEW.updated_at := now();  -- set on every update; see products_touch\n    RETURN NEW;\nEND;\n$$;\n')


def downgrade():
    op.execute('DROP FUNCTION touch_updated_at();\n')
