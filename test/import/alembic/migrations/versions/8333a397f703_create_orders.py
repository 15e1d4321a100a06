"""Create orders

Revision ID: 8333a397f703
"""
from alembic import op
import sqlalchemy as sa

revision = '8333a397f703'
down_revision = '7427c48047ed'
branch_labels = None
depends_on = None


def upgrade():
    op.execute('CREATE TABLE orders (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    customer_id bigint NOT NULL REFERENCES customers (id),\n    placed_at timestamptz NOT NULL DEFAULT now()\n);\n')


def downgrade():
    op.execute('DROP TABLE orders;\n')
