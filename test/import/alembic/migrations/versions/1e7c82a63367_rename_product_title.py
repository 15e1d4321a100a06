"""Rename product title

Revision ID: 1e7c82a63367
"""
from alembic import op
import sqlalchemy as sa

revision = '1e7c82a63367'
down_revision = 'ac6bef7172a6'
branch_labels = None
depends_on = None


def upgrade():
    op.execute('ALTER TABLE products RENAME COLUMN title TO name;\n')


def downgrade():
    op.execute('ALTER TABLE products RENAME COLUMN name TO title;\n')
