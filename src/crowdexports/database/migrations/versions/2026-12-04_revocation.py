"""revocation

Revision ID: 7c3f9e21b4d8
Revises: 5e1d2b7c9a40
Create Date: 2026-12-04 17:10:00.000000

`users.is_active` (every existing user stays active), `revoked_at` and an optional `expires_at` on API
keys, `revoked_at` on OAuth clients, and `family` on tokens: the id of the first token of a refresh
chain. Tokens issued before this revision have no family recorded (null: each is its own first token),
so a reuse of a token rotated before the upgrade revokes only what was issued from it afterwards.
"""
import sqlalchemy as sa
from alembic import op

import crowdexports.models

revision = '7c3f9e21b4d8'
down_revision = '5e1d2b7c9a40'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs, not batch mode: on SQLite a batch would copy `users`, which rows of other tables
    # reference, and the foreign keys refuse its drop.
    op.add_column('users', sa.Column('is_active', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.add_column('api_keys', sa.Column('expires_at', crowdexports.models.UTCDateTime(), nullable=True))
    op.add_column('api_keys', sa.Column('revoked_at', crowdexports.models.UTCDateTime(), nullable=True))
    op.add_column('oauth_clients', sa.Column('revoked_at', crowdexports.models.UTCDateTime(), nullable=True))
    op.add_column('oauth_tokens', sa.Column('family', sa.Integer(), nullable=True))
    op.create_index('ix_oauth_tokens_family', 'oauth_tokens', ['family'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_oauth_tokens_family', table_name='oauth_tokens')
    op.drop_column('oauth_tokens', 'family')
    op.drop_column('oauth_clients', 'revoked_at')
    op.drop_column('api_keys', 'revoked_at')
    op.drop_column('api_keys', 'expires_at')
    op.drop_column('users', 'is_active')
