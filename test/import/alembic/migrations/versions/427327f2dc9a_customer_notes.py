"""Customer notes

Revision ID: 427327f2dc9a
"""
from alembic import op
import sqlalchemy as sa

revision = '427327f2dc9a'
down_revision = 'd9752d2e8267'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("ALTER TABLE customers ADD COLUMN notes text;\nCOMMENT ON COLUMN customers.notes IS 'Free text; never shown to the customer.';\n")


def downgrade():
    op.execute('ALTER TABLE customers DROP COLUMN notes;\n')
