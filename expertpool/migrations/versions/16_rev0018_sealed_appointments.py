"""Direct appointments sealed: the expert by keyed token and an encrypted reference

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 15:30:00

`appointment.expert_id` linked an expert to a project for any reader of the database before the
close. It becomes `expert_token` (HMAC under the expert-token key file) and `expert_ref` (the id
encrypted under the personal-data key, bound to the row); the staff and supervisors of the
project still read who it is through the application. Existing rows are converted with the key
files. Not reversible without them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from expertpool.core.config import Config
from expertpool.core.keys import KeyStore
from expertpool.core.pii import PiiCipher
from expertpool.core.tokens import ExpertTokens

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _keys() -> KeyStore:
    keys = context.config.attributes.get("keys") or KeyStore(Config.from_env())
    keys.init()
    return keys


def upgrade() -> None:
    """Apply this revision."""
    keys = _keys()
    tokens, cipher = ExpertTokens(keys), PiiCipher.from_keys(keys)
    bind = op.get_bind()
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expert_token", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("expert_ref", sa.LargeBinary(), nullable=True))
    for row_id, expert_id in bind.execute(sa.text("SELECT id, expert_id FROM appointment")).all():
        bind.execute(
            sa.text("UPDATE appointment SET expert_token = :t, expert_ref = :r WHERE id = :i"),
            {
                "t": tokens.token(expert_id),
                "r": cipher.encrypt(
                    str(expert_id), table="appointment", row_id=row_id, column="expert_ref"
                ),
                "i": row_id,
            },
        )
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.alter_column("expert_token", existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column("expert_ref", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_constraint(
            batch_op.f("uq_appointment_project_id_expert_id"), type_="unique"
        )
        batch_op.drop_index(batch_op.f("ix_appointment_expert_id"))
        batch_op.drop_constraint(batch_op.f("fk_appointment_expert_id_expert"), type_="foreignkey")
        batch_op.drop_column("expert_id")
        batch_op.create_index(
            batch_op.f("ix_appointment_expert_token"), ["expert_token"], unique=False
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_appointment_project_id_expert_token"), ["project_id", "expert_token"]
        )


def downgrade() -> None:
    """Not reversible without the key files."""
    raise NotImplementedError("0018 replaces expert ids by tokens; restore a backup instead")
