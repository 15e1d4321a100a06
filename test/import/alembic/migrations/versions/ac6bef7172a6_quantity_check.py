"""Quantity check

Revision ID: ac6bef7172a6
"""
from alembic import op
import sqlalchemy as sa

revision = 'ac6bef7172a6'
down_revision = '427327f2dc9a'
branch_labels = None
depends_on = None


def upgrade():
    op.execute('ALTER TABLE order_items ADD CONSTRAINT order_items_quantity_positive\n    CHECK (quantity > 0) NOT VALID;\nALTER TABLE order_items VALIDATE CONSTRAINT order_items_quantity_positive;\n')


def downgrade():
    op.execute('ALTER TABLE order_items DROP CONSTRAINT order_items_quantity_positive;\n')
