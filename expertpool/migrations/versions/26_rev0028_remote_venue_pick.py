"""Secondary venues picked at random and sealed on the draw request

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-03 20:00:00

A remote project's draw request may hold remote groups (`remote-1`, ...) whose secondary venues
the system picks at random when the request is made; the pick document is sealed under the
sealing key in `draw_request.remote_enc` until the opening (docs/remote-venues.md). The draw
ledger gains the kind `pick` (a plain string column: no schema change).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | Sequence[str] | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("draw_request") as batch:
        batch.add_column(sa.Column("remote_enc", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("draw_request") as batch:
        batch.drop_column("remote_enc")
