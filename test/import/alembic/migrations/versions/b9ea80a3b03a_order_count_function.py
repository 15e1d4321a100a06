"""Order count function

Revision ID: b9ea80a3b03a
"""
from alembic import op
import sqlalchemy as sa

revision = 'b9ea80a3b03a'
down_revision = '4e978595957b'
branch_labels = None
depends_on = None


def upgrade():
    op.execute('CREATE FUNCTION order_count(customer bigint) RETURNS bigint\nLANGUAGE sql STABLE\nBEGIN ATOMIC\n    SELECT count(*) FROM orders WHERE customer_id = customer;\nEND;\n')


def downgrade():
    op.execute('DROP FUNCTION order_count(bigint);\n')
