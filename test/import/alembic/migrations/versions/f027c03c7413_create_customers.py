"""Create customers

Revision ID: f027c03c7413
"""
from alembic import op
import sqlalchemy as sa

revision = 'f027c03c7413'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.execute('CREATE TABLE customers (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    name text NOT NULL,\n    created_at timestamptz NOT NULL DEFAULT now()\n);\n')


def downgrade():
    op.execute('DROP TABLE customers;\n')
