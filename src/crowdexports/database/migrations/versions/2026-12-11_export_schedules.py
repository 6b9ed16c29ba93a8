"""export schedules

Revision ID: 9a4c2e7f5b13
Revises: 8f2d6b4a1c53
Create Date: 2026-12-10 08:00:00.000000

Issue 17: `export_schedules`, recurring exports of a project, and `export_schedule_runs`, one row per slot
run, whose unique (schedule_id, slot) makes each slot one export whatever the number of workers.
"""
import sqlalchemy as sa
from alembic import op

import crowdexports.models

revision = '9a4c2e7f5b13'
down_revision = '8f2d6b4a1c53'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'export_schedules',
        sa.Column('id', ID, nullable=False),
        sa.Column('project_id', ID, nullable=False),
        sa.Column('owner_id', ID, nullable=False),
        sa.Column('rule', sa.String(length=16), nullable=False),
        sa.Column('local_time', sa.String(length=5), nullable=True),
        sa.Column('weekday', sa.Integer(), nullable=True),
        sa.Column('day', sa.Integer(), nullable=True),
        sa.Column('cron', sa.String(length=100), nullable=True),
        sa.Column('settings', sa.JSON(), nullable=False),
        sa.Column('changes_only', sa.Boolean(), nullable=False),
        sa.Column('paused', sa.Boolean(), nullable=False),
        sa.Column('next_run_at', crowdexports.models.UTCDateTime(), nullable=True),
        sa.Column('created_at', crowdexports.models.UTCDateTime(), nullable=False),
        sa.Column('updated_at', crowdexports.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_export_schedules_project_id_projects'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_export_schedules_owner_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_export_schedules')),
    )
    op.create_index(op.f('ix_export_schedules_project_id'), 'export_schedules', ['project_id'], unique=False)
    op.create_index(op.f('ix_export_schedules_owner_id'), 'export_schedules', ['owner_id'], unique=False)
    op.create_index('ix_export_schedules_due', 'export_schedules', ['paused', 'next_run_at'], unique=False)
    op.create_table(
        'export_schedule_runs',
        sa.Column('id', ID, nullable=False),
        sa.Column('schedule_id', ID, nullable=False),
        sa.Column('slot', crowdexports.models.UTCDateTime(), nullable=False),
        sa.Column('export_id', ID, nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_at', crowdexports.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['schedule_id'], ['export_schedules.id'],
                                name=op.f('fk_export_schedule_runs_schedule_id_export_schedules'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['export_id'], ['exports.id'], name=op.f('fk_export_schedule_runs_export_id_exports'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_export_schedule_runs')),
        sa.UniqueConstraint('schedule_id', 'slot', name='uq_export_schedule_runs_schedule_slot'),
    )


def downgrade() -> None:
    op.drop_table('export_schedule_runs')
    op.drop_index('ix_export_schedules_due', table_name='export_schedules')
    op.drop_index(op.f('ix_export_schedules_owner_id'), table_name='export_schedules')
    op.drop_index(op.f('ix_export_schedules_project_id'), table_name='export_schedules')
    op.drop_table('export_schedules')
