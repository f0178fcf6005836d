"""Signed evaluation reports: the named PDF, sealed, with its hash

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 17:00:00

One row per signed-off session: the PAdES-signed PDF sealed under a key derived from the sealing
key file (it names the committee), its SHA-256 (also in the draw ledger), the digest of the
final report and the signing certificate's fingerprint.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evaluation_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("pdf_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("final_report_digest", sa.String(length=64), nullable=False),
        sa.Column("signer", sa.String(length=40), nullable=False),
        sa.Column("certificate_sha256", sa.String(length=64), nullable=False),
        sa.Column("ledger_seq", sa.Integer(), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["evaluation_session.id"],
            name=op.f("fk_evaluation_report_session_id_evaluation_session"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluation_report")),
        sa.UniqueConstraint("room_id", name=op.f("uq_evaluation_report_room_id")),
        sa.UniqueConstraint("session_id", name=op.f("uq_evaluation_report_session_id")),
    )
    with op.batch_alter_table("evaluation_report", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_evaluation_report_project_id"), ["project_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("evaluation_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evaluation_report_project_id"))
    op.drop_table("evaluation_report")
