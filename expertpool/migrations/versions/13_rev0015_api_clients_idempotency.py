"""API clients and idempotency keys: a token may name its machine client and be limited to
scopes; creating calls made with an `Idempotency-Key` keep their (encrypted) answer for replay.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 13:18:07.425665
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import expertpool.core.db


revision: str = '0015'
down_revision: str | Sequence[str] | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('api_idempotent_call',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('body_sha256', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('answer_enc', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', expertpool.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['token_id'], ['api_token.id'], name=op.f('fk_api_idempotent_call_token_id_api_token'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_idempotent_call')),
    sa.UniqueConstraint('token_id', 'key', name='uq_api_idempotent_call_key')
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('scopes', sa.String(length=500), nullable=True))



def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('scopes')
        batch_op.drop_column('client')

    op.drop_table('api_idempotent_call')
