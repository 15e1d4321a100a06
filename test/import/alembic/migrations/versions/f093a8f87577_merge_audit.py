"""Merge the audit branch

Revision ID: f093a8f87577
"""
from alembic import op
import sqlalchemy as sa

revision = 'f093a8f87577'
down_revision = ('cfbc359e193c', 'f691685eb069')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
