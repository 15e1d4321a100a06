"""Audit orders

Revision ID: cfbc359e193c
"""
from alembic import op
import sqlalchemy as sa

revision = 'cfbc359e193c'
down_revision = '25ca3799fa5a'
branch_labels = None
depends_on = None


def upgrade():
    op.execute('CREATE FUNCTION audit_order() RETURNS trigger\nLANGUAGE plpgsql AS $body$\nBEGIN\n    INSERT INTO audit_log (what) VALUES (to_jsonb(NEW));\n    RETURN NEW;\nEND\n$body$;\nCREATE TRIGGER orders_audit AFTER INSERT OR UPDATE ON orders\n    FOR EACH ROW EXECUTE FUNCTION audit_order();\n')


def downgrade():
    op.execute('DROP TRIGGER orders_audit ON orders;\nDROP FUNCTION audit_order();\n')
