"""Entry to the pool: review chain step, publicity and objections, recommendations

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-03 20:00:00

`expert_entry` holds an application's step of the review chain, its publicity period and the
organisation that recommended it (beside `expert`, whose triggers stay untouched);
`publicity_objection` anyone's objections (contact encrypted); `review_decision.step` the step a
decision was taken at; `recommendation` an organisation's nomination (ID number and mobile
encrypted, the consent link stored as a hash).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import expertpool.core.db

revision: str = "0030"
down_revision: str | Sequence[str] | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "expert_entry",
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("publicity_from", sa.Date(), nullable=True),
        sa.Column("publicity_until", sa.Date(), nullable=True),
        sa.Column("recommended_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["expert_id"],
            ["expert.id"],
            name=op.f("fk_expert_entry_expert_id_expert"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("expert_id", name=op.f("pk_expert_entry")),
    )
    with op.batch_alter_table("expert_entry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_expert_entry_publicity_until"), ["publicity_until"], unique=False
        )
    op.create_table(
        "publicity_objection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("contact_enc", sa.LargeBinary(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "open", "upheld", "dismissed", name="objectionstatus", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("resolution", sa.String(length=1000), nullable=False),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", expertpool.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", expertpool.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["expert_id"],
            ["expert.id"],
            name=op.f("fk_publicity_objection_expert_id_expert"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"],
            ["user_account.id"],
            name=op.f("fk_publicity_objection_resolved_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publicity_objection")),
    )
    with op.batch_alter_table("publicity_objection", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_publicity_objection_expert_id"), ["expert_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_publicity_objection_status"), ["status"], unique=False
        )
    op.create_table(
        "recommendation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("recommended_by", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("id_number_enc", sa.LargeBinary(), nullable=True),
        sa.Column("phone_enc", sa.LargeBinary(), nullable=True),
        sa.Column("specialties", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", expertpool.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("consented_at", expertpool.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expert_id", sa.Integer(), nullable=True),
        sa.Column("created_at", expertpool.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["expert_id"],
            ["expert.id"],
            name=op.f("fk_recommendation_expert_id_expert"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_recommendation_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendation")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_recommendation_token_hash")),
    )
    with op.batch_alter_table("recommendation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recommendation_organisation_id"), ["organisation_id"], unique=False
        )
    with op.batch_alter_table("review_decision", schema=None) as batch_op:
        batch_op.add_column(sa.Column("step", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("review_decision", schema=None) as batch_op:
        batch_op.drop_column("step")
    with op.batch_alter_table("recommendation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recommendation_organisation_id"))
    op.drop_table("recommendation")
    with op.batch_alter_table("publicity_objection", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_publicity_objection_status"))
        batch_op.drop_index(batch_op.f("ix_publicity_objection_expert_id"))
    op.drop_table("publicity_objection")
    with op.batch_alter_table("expert_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expert_entry_publicity_until"))
    op.drop_table("expert_entry")
