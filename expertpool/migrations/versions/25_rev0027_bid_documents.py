"""Bid documents of a lot and the record of each reading in the room

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-03 20:00:00

A bid document names a project, its lot and bidder and the SHA-256 of its encrypted bytes; a
reading names the session and the reader as the room does (a committee member by alias).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import expertpool.core.db

revision: str = "0027"
down_revision: str | Sequence[str] | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "bid_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=True),
        sa.Column("bidder_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "commercial",
                "technical",
                "price",
                "tender",
                name="documentkind",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("original_name", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=100), nullable=False),
        sa.Column("uploaded_at", expertpool.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bidder_id"],
            ["bidder.id"],
            name=op.f("fk_bid_document_bidder_id_bidder"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["lot.id"], name=op.f("fk_bid_document_lot_id_lot"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name=op.f("fk_bid_document_project_id_project"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bid_document")),
    )
    with op.batch_alter_table("bid_document", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bid_document_project_id"), ["project_id"], unique=False
        )
    op.create_table(
        "bid_document_reading",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("reader", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("served_sha256", sa.String(length=64), nullable=False),
        sa.Column("opened_at", expertpool.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["bid_document.id"],
            name=op.f("fk_bid_document_reading_document_id_bid_document"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["evaluation_session.id"],
            name=op.f("fk_bid_document_reading_session_id_evaluation_session"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bid_document_reading")),
    )
    with op.batch_alter_table("bid_document_reading", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bid_document_reading_document_id"), ["document_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_bid_document_reading_session_id"), ["session_id"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("bid_document_reading", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bid_document_reading_session_id"))
        batch_op.drop_index(batch_op.f("ix_bid_document_reading_document_id"))
    op.drop_table("bid_document_reading")
    with op.batch_alter_table("bid_document", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bid_document_project_id"))
    op.drop_table("bid_document")
