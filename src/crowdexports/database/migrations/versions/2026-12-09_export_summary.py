"""export summary

Revision ID: 5b8e1d3c9a47
Revises: 2e9c4a7b1f08
Create Date: 2026-12-09 08:00:00.000000

Issue 16: `exports.summary`, the file's control totals (orders, items and the sum of order totals per
currency and per order status), counted while the file is written. Null for exports made before this
revision and until an export succeeds. A plain nullable column: added and dropped without batch mode on
SQLite (see the idempotency migration).
"""
import sqlalchemy as sa
from alembic import op

revision = '5b8e1d3c9a47'
down_revision = '2e9c4a7b1f08'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('exports', sa.Column('summary', sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column('exports', 'summary')
