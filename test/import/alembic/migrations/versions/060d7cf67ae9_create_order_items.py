"""Create order items

Revision ID: 060d7cf67ae9
"""
from alembic import op
import sqlalchemy as sa

revision = '060d7cf67ae9'
down_revision = '7a9573d6a1fb'
branch_labels = None
depends_on = None


def upgrade():
    op.execute('CREATE TABLE order_items (\n    order_id bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,\n    product_id bigint NOT NULL REFERENCES products (id),\n    quantity integer NOT NULL DEFAULT 1,\n    PRIMARY KEY (order_id, product_id)\n);\n')


def downgrade():
    op.execute('DROP TABLE order_items;\n')
