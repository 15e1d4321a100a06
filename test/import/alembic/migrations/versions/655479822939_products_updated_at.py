"""Products updated at

Revision ID: 655479822939
"""
from alembic import op
import sqlalchemy as sa

revision = '655479822939'
down_revision = 'd0e9e45fb94b'
branch_labels = None
depends_on = None


def upgrade():
    op.execute('ALTER TABLE products ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();\nCREATE TRIGGER products_touch BEFORE UPDATE ON products\n    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();\n')


def downgrade():
    op.execute('DROP TRIGGER products_touch ON products;\nALTER TABLE products DROP COLUMN updated_at;\n')
