"""Draw requests sealed: the excluded experts leave the clear column

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 17:50:00

`draw.request_json` held the whole draw-v1 request in clear, `excluded_experts` included: for a
supplementary draw those are the experts already invited for the project, readable by anyone with
the database before the close. The whole canonical request moves to `request_enc`, sealed under
the draw's own key (as its snapshot and commitment are); `request_json` keeps the public part
(groups and rules). Existing rows are converted with the key files. Not reversible without them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

import draw
from expertpool.core.config import Config
from expertpool.core.keys import KeyStore
from expertpool.draws import sealing

revision: str = "0023"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _keys() -> KeyStore:
    keys = context.config.attributes.get("keys") or KeyStore(Config.from_env())
    keys.init()
    return keys


def upgrade() -> None:
    """Apply this revision."""
    bind = op.get_bind()
    with op.batch_alter_table("draw", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_enc", sa.LargeBinary(), nullable=True))
    rows = bind.execute(sa.text("SELECT id, draw_id, wrapped_key, request_json FROM draw")).all()
    if not rows:
        return
    keys = _keys()
    for row_id, draw_id, wrapped, request_json in rows:
        doc = json.loads(request_json)
        key = sealing.unwrap_draw_key(keys.sealing_key(), draw_id, bytes(wrapped))
        bind.execute(
            sa.text("UPDATE draw SET request_enc = :e, request_json = :p WHERE id = :i"),
            {
                "e": sealing.seal_value(key, draw_id, "request", draw.canonical_json(doc)),
                "p": draw.canonical_json(sealing.public_request(doc)).decode("utf-8"),
                "i": row_id,
            },
        )


def downgrade() -> None:
    """Not reversible without the key files."""
    raise NotImplementedError("0023 seals the draw requests; restore a backup instead")
