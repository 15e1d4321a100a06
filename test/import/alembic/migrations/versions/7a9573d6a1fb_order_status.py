"""Order status

Revision ID: 7a9573d6a1fb
"""
from alembic import op
import sqlalchemy as sa

revision = '7a9573d6a1fb'
down_revision = '655479822939'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE TYPE order_status AS ENUM ('new', 'paid', 'shipped', 'cancelled');\nALTER TABLE orders ADD COLUMN status order_status NOT NULL DEFAULT 'new';\n")


def downgrade():
    op.execute('ALTER TABLE orders DROP COLUMN status;\nDROP TYPE order_status;\n')
