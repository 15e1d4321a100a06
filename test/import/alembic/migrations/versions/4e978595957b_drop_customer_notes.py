"""Drop customer notes

Revision ID: 4e978595957b
"""
from alembic import op
import sqlalchemy as sa

revision = '4e978595957b'
down_revision = '7c3ea49c0c84'
branch_labels = None
depends_on = None


def upgrade():
    op.execute('ALTER TABLE customers DROP COLUMN notes;\n')


def downgrade():
    op.execute('ALTER TABLE customers ADD COLUMN notes text;\n')
