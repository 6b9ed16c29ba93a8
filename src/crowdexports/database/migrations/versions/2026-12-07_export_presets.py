"""export presets

Revision ID: 7c3f5e2a9d41
Revises: 4d2a8c6e1f93
Create Date: 2026-12-07 09:00:00.000000

`export_presets`: named export settings of a project (issue 15, point 2).
"""
import sqlalchemy as sa
from alembic import op

import crowdexports.models

revision = '7c3f5e2a9d41'
down_revision = '4d2a8c6e1f93'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'export_presets',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('settings', sa.JSON(), nullable=False),
        sa.Column('created_at', crowdexports.models.UTCDateTime(), nullable=False),
        sa.Column('updated_at', crowdexports.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_export_presets_project_id_projects'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_export_presets')),
        sa.UniqueConstraint('project_id', 'name', name='uq_export_presets_project_name'),
    )


def downgrade() -> None:
    op.drop_table('export_presets')
