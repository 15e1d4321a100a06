"""Index orders customer

Revision ID: a7748fe9472c
"""
from alembic import op
import sqlalchemy as sa

revision = 'a7748fe9472c'
down_revision = '8686a06ebb7f'
branch_labels = None
depends_on = None


def upgrade():
    op.execute('CREATE INDEX orders_customer_id_idx ON orders (customer_id);\n')


def downgrade():
    op.execute('DROP INDEX orders_customer_id_idx;\n')
