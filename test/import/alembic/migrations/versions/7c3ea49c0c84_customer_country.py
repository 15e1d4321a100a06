"""Customer country

Revision ID: 7c3ea49c0c84
"""
from alembic import op
import sqlalchemy as sa

revision = '7c3ea49c0c84'
down_revision = '0f36b6ff74e1'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("customers", sa.Column("country", sa.CHAR(2)))


def downgrade():
    op.drop_column("customers", "country")
