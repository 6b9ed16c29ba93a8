"""export csv_dialect and rows_estimated

Revision ID: 383a1b56c3d3
Revises: fa2c2092a199
Create Date: 2026-11-28 22:10:00.000000

`csv_dialect` is the csv flavour an export asked for (null for xlsx); csv exports made before it
existed were RFC 4180, so they are backfilled with `rfc4180`. `rows_estimated` is the row count the
worker expects, shown with the progress of a running export (null until counted).
"""
import sqlalchemy as sa
from alembic import op

revision = '383a1b56c3d3'
down_revision = 'fa2c2092a199'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('exports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('csv_dialect', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('rows_estimated', sa.BigInteger(), nullable=True))
    op.execute("UPDATE exports SET csv_dialect = 'rfc4180' WHERE format = 'csv'")


def downgrade() -> None:
    with op.batch_alter_table('exports', schema=None) as batch_op:
        batch_op.drop_column('rows_estimated')
        batch_op.drop_column('csv_dialect')
