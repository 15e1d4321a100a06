"""Seed products

Revision ID: f4158d6ba3e3
"""
from alembic import op
import sqlalchemy as sa

revision = 'f4158d6ba3e3'
down_revision = '060d7cf67ae9'
branch_labels = None
depends_on = None


def upgrade():
    op.execute('INSERT INTO products (sku, title, price_cents) VALUES\n    (\'TEA-01\', \'Earl Grey; loose leaf\', 850),\n    (\'MUG-02\', \'O\'\'Brien\'\'s mug -- blue\', 1200),\n    (\'KIT-03\', $$Kettle "deluxe"; BEGIN; COMMIT;$$, 4500);\n')


def downgrade():
    op.execute("DELETE FROM products WHERE sku IN ('TEA-01', 'MUG-02', 'KIT-03');\n")
