"""Reporting schema

Revision ID: 6c0db3001756
"""
from alembic import op
import sqlalchemy as sa

revision = '6c0db3001756'
down_revision = None
branch_labels = 'reporting'
depends_on = '8333a397f703'


def upgrade():
    op.execute("CREATE SCHEMA reporting;\nCREATE MATERIALIZED VIEW reporting.daily_orders AS\n    SELECT date_trunc('day', placed_at) AS day, count(*) AS orders\n      FROM orders GROUP BY 1;\n")


def downgrade():
    op.execute('DROP SCHEMA reporting CASCADE;\n')
