"""Complaints (投诉) received by supervising departments, with their workflow

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03 17:21:53

A complaint names a project, the complainant (a bidder or the tenderer) and what was received;
it moves received -> investigating -> decided. It names no expert.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import expertpool.core.db

revision: str = "0025"
down_revision: str | Sequence[str] | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "complaint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column(
            "complainant_kind",
            sa.Enum("bidder", "tenderer", name="complainantkind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("complainant_name", sa.String(length=200), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "received",
                "investigating",
                "decided",
                name="complaintstatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", expertpool.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", expertpool.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", expertpool.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_complaint_project_id_project")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint")),
    )
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_complaint_project_id"), ["project_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_project_id"))

    op.drop_table("complaint")
