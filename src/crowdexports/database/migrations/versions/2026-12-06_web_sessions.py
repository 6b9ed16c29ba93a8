"""web sessions

Revision ID: 4d2a8c6e1f93
Revises: 9b4e6a1f2c37
Create Date: 2026-12-06 10:00:00.000000

`web_sessions`: the signed-in browsers of the web page (issue 14), a token hash per row.
"""
import sqlalchemy as sa
from alembic import op

import crowdexports.models

revision = '4d2a8c6e1f93'
down_revision = '9b4e6a1f2c37'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'web_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('password_fingerprint', sa.String(length=64), nullable=False),
        sa.Column('lang', sa.String(length=10), nullable=False),
        sa.Column('created_at', crowdexports.models.UTCDateTime(), nullable=False),
        sa.Column('last_seen_at', crowdexports.models.UTCDateTime(), nullable=False),
        sa.Column('expires_at', crowdexports.models.UTCDateTime(), nullable=False),
        sa.Column('revoked_at', crowdexports.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_web_sessions_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_web_sessions')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_web_sessions_token_hash')),
    )
    op.create_index(op.f('ix_web_sessions_user_id'), 'web_sessions', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_web_sessions_user_id'), table_name='web_sessions')
    op.drop_table('web_sessions')
