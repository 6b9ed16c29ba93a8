"""order changes

Revision ID: 3d9a6c1f7b20
Revises: 8f3b7d1e5a62
Create Date: 2026-12-08 08:00:00.000000

Issue 16.5: `orders.change_seq` (the number of the import that last wrote the order, 0 before this
release), `order_changes` (each project's last number given out: the counter an import takes its number
from, row-locked until it commits) and `exports.changes_upto` (the last number an export includes: the
marker an incremental export starts after). See docs/decisions.md, "Changes since an export".
"""
import sqlalchemy as sa
from alembic import op

revision = '3d9a6c1f7b20'
down_revision = '8f3b7d1e5a62'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'order_changes',
        sa.Column('project_id', _ID, nullable=False),
        sa.Column('last_change', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_order_changes_project_id_projects'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('project_id', name=op.f('pk_order_changes')),
    )
    op.add_column('orders', sa.Column('change_seq', sa.BigInteger(), server_default='0', nullable=False))
    op.create_index('ix_orders_project_change', 'orders', ['project_id', 'change_seq'], unique=False)
    op.add_column('exports', sa.Column('changes_upto', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column('exports', 'changes_upto')
    op.drop_index('ix_orders_project_change', table_name='orders')
    op.drop_column('orders', 'change_seq')
    op.drop_table('order_changes')
