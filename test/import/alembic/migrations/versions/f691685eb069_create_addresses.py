"""Create addresses

Revision ID: f691685eb069
"""
from alembic import op
import sqlalchemy as sa

revision = 'f691685eb069'
down_revision = '1e7c82a63367'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE TABLE addresses (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    customer_id bigint NOT NULL REFERENCES customers (id),\n    line1 text NOT NULL,\n    city text NOT NULL,\n    country char(2) NOT NULL DEFAULT 'DE'\n);\n")


def downgrade():
    op.execute('DROP TABLE addresses;\n')
