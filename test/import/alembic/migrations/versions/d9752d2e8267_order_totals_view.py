"""Order totals view

Revision ID: d9752d2e8267
"""
from alembic import op
import sqlalchemy as sa

revision = 'd9752d2e8267'
down_revision = 'f4158d6ba3e3'
branch_labels = None
depends_on = None


def upgrade():
    op.execute('CREATE VIEW order_totals AS\n    SELECT o.id AS order_id, sum(i.quantity * p.price_cents) AS total_cents\n      FROM orders o\n      JOIN order_items i ON i.order_id = o.id\n      JOIN products p ON p.id = i.product_id\n     GROUP BY o.id;\n')


def downgrade():
    op.execute('DROP VIEW order_totals;\n')
