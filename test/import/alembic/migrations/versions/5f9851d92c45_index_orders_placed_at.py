"""Index orders placed at

Revision ID: 5f9851d92c45
"""
from alembic import op
import sqlalchemy as sa

revision = '5f9851d92c45'
down_revision = 'f093a8f87577'
branch_labels = None
depends_on = None


def upgrade():
    op.execute('CREATE INDEX orders_placed_at_idx ON orders (placed_at);\n')


def downgrade():
    op.execute('DROP INDEX orders_placed_at_idx;\n')
