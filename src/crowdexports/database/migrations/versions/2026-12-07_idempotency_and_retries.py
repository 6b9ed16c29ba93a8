"""idempotency keys and retries

Revision ID: 8f3b7d1e5a62
Revises: 7c3f5e2a9d41
Create Date: 2026-12-07 08:00:00.000000

Issue 15: `idempotency_keys` (an `Idempotency-Key` of `POST /v1/projects/{id}/exports` and the export it
made, unique per user and key) and `exports.retry_of` (the export a retry repeats). On SQLite the
column is added with its foreign key inline (Alembic would ALTER the constraint apart, which SQLite cannot)
and dropped plain (its foreign key goes with it), never in batch mode: a batch would copy `exports`, which
other tables reference (see the export options migration).
"""
import sqlalchemy as sa
from alembic import op

import crowdexports.models

revision = '8f3b7d1e5a62'
down_revision = '7c3f5e2a9d41'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'idempotency_keys',
        sa.Column('id', _ID, nullable=False),
        sa.Column('user_id', _ID, nullable=False),
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('export_id', _ID, nullable=False),
        sa.Column('created_at', crowdexports.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_idempotency_keys_user_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['export_id'], ['exports.id'], name=op.f('fk_idempotency_keys_export_id_exports'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
        sa.UniqueConstraint('user_id', 'key', name='uq_idempotency_keys_user_key'),
    )
    op.create_index('ix_idempotency_keys_created_at', 'idempotency_keys', ['created_at'], unique=False)
    if op.get_bind().dialect.name == 'sqlite':  # Alembic adds a foreign key by ALTER, which SQLite lacks
        op.execute('ALTER TABLE exports ADD COLUMN retry_of INTEGER '
                   'CONSTRAINT fk_exports_retry_of_exports REFERENCES exports (id)')
    else:
        op.add_column('exports', sa.Column('retry_of', _ID, nullable=True))
        op.create_foreign_key(op.f('fk_exports_retry_of_exports'), 'exports', 'exports', ['retry_of'], ['id'])
    op.create_index(op.f('ix_exports_retry_of'), 'exports', ['retry_of'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_exports_retry_of'), table_name='exports')
    op.drop_column('exports', 'retry_of')
    op.drop_index('ix_idempotency_keys_created_at', table_name='idempotency_keys')
    op.drop_table('idempotency_keys')
