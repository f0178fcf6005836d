"""Rooms sealed at rest: participant rows name accounts by a keyed token, session states are
encrypted; vacated seats recorded for their replacement

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 14:10:00

Sessions are now created by the opening act and linked to their project, so a room's rows must
not link an expert to the project for a reader of the database without the key files:
`room_participant.user_id` becomes `user_token` (HMAC under the expert-token key file,
`core/tokens.py`), and each `evaluation_session.state` is sealed under a key derived from the
sealing key file (`rooms/sealing.py`). Existing rows are converted with the key files. Not
reversible without them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from expertpool.core.config import Config
from expertpool.core.db import UTCDateTime
from expertpool.core.keys import KeyStore
from expertpool.core.tokens import ExpertTokens

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _keys() -> KeyStore:
    keys = context.config.attributes.get("keys") or KeyStore(Config.from_env())
    keys.init()
    return keys


def upgrade() -> None:
    """Apply this revision."""
    from expertpool.rooms import sealing

    keys = _keys()
    tokens = ExpertTokens(keys)
    bind = op.get_bind()
    with op.batch_alter_table("room_participant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_token", sa.String(length=32), nullable=True))
    for row_id, user_id in bind.execute(sa.text("SELECT id, user_id FROM room_participant")).all():
        bind.execute(
            sa.text("UPDATE room_participant SET user_token = :t WHERE id = :i"),
            {"t": tokens.user_token(user_id), "i": row_id},
        )
    with op.batch_alter_table("room_participant", schema=None) as batch_op:
        batch_op.alter_column("user_token", existing_type=sa.String(length=32), nullable=False)
        batch_op.drop_index(batch_op.f("ix_room_participant_user_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_room_participant_user_id_user_account"), type_="foreignkey"
        )
        batch_op.drop_column("user_id")
        batch_op.create_index(
            batch_op.f("ix_room_participant_user_token"), ["user_token"], unique=False
        )
    op.create_table(
        "room_vacancy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.String(length=40), nullable=False),
        sa.Column("venue_id", sa.String(length=40), nullable=True),
        sa.Column("draw_pk", sa.Integer(), nullable=True),
        sa.Column("group_key", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("filled_participant_id", sa.String(length=40), nullable=True),
        sa.Column("filled_token", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["evaluation_session.id"],
            name=op.f("fk_room_vacancy_session_id_evaluation_session"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_room_vacancy")),
        sa.UniqueConstraint(
            "session_id", "participant_id", name=op.f("uq_room_vacancy_session_id_participant_id")
        ),
    )
    with op.batch_alter_table("room_vacancy", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_room_vacancy_session_id"), ["session_id"], unique=False
        )
    rows = bind.execute(sa.text("SELECT id, room_id, state FROM evaluation_session")).all()
    for row_id, room_id, state in rows:
        if not state.startswith(sealing.PREFIX):
            bind.execute(
                sa.text("UPDATE evaluation_session SET state = :s WHERE id = :i"),
                {"s": sealing.seal(keys, room_id, state), "i": row_id},
            )


def downgrade() -> None:
    """Not reversible without the key files' owner deciding to unseal."""
    raise NotImplementedError("0017 seals rooms with the key files; restore a backup instead")
