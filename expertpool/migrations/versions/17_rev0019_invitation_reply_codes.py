"""Invitation reply codes: the SMS asks for an opaque code with the answer

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 17:00:00

An expert may hold several open invitations; a bare "1" used to answer the newest one. Each new
invitation now carries a random reply code (two letters, two digits) unique among the open
invitations of the same phone; invitations queued before keep none and are answered as before
when they are the only open one.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("invitation") as batch:
        batch.add_column(sa.Column("reply_code", sa.String(length=8), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("invitation") as batch:
        batch.drop_column("reply_code")
