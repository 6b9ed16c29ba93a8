"""export sha256

Revision ID: 2e9c4a7b1f08
Revises: 3d9a6c1f7b20
Create Date: 2026-12-08 08:00:00.000000

Issue 16: `exports.sha256`, the hex SHA-256 of the published file, computed while it is written. Null for
files made before this revision (their resource, email and download simply carry no checksum). A plain
nullable column: added and dropped without batch mode on SQLite (see the idempotency migration).
"""
import sqlalchemy as sa
from alembic import op

revision = '2e9c4a7b1f08'
down_revision = '3d9a6c1f7b20'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('exports', sa.Column('sha256', sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column('exports', 'sha256')
