"""Create products

Revision ID: 7427c48047ed
"""
from alembic import op
import sqlalchemy as sa

revision = '7427c48047ed'
down_revision = 'f027c03c7413'
branch_labels = None
depends_on = None


def upgrade():
    op.execute('CREATE TABLE products (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    sku text NOT NULL UNIQUE,\n    title text NOT NULL,\n    price_cents integer NOT NULL CHECK (price_cents >= 0)\n);\n')


def downgrade():
    op.execute('DROP TABLE products;\n')
