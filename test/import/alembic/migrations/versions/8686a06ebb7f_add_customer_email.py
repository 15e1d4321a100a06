"""Add customer email

Revision ID: 8686a06ebb7f
"""
from alembic import op
import sqlalchemy as sa

revision = '8686a06ebb7f'
down_revision = '8333a397f703'
branch_labels = None
depends_on = None


def upgrade():
    op.execute('ALTER TABLE customers ADD COLUMN email text;\nCREATE UNIQUE INDEX customers_email_key ON customers (lower(email));\n')


def downgrade():
    op.execute('DROP INDEX customers_email_key;\nALTER TABLE customers DROP COLUMN email;\n')
