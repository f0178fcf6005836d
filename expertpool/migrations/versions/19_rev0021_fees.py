"""Fees: fee schedules and the tax rule as versioned data, statements, lines, adjustments,
payment batches, experts' bank accounts (encrypted)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 17:00:00

Stores the bundled schedules and tax rule (`expertpool/fees/data/fees-v1.json`) as version 1.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from alembic import op

import expertpool.core.db

FEES = Path(__file__).resolve().parents[2] / "fees" / "data" / "fees-v1.json"


revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "fee_payment_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("payer_name", sa.String(length=200), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", expertpool.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["centre_id"], ["centre.id"], name=op.f("fk_fee_payment_batch_centre_id_centre")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_payment_batch")),
    )
    with op.batch_alter_table("fee_payment_batch", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fee_payment_batch_centre_id"), ["centre_id"], unique=False
        )
    op.create_table(
        "fee_rule_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("schedule", "tax", name="rulekind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("scope", sa.String(length=6), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("data_json", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(length=40), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", expertpool.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_rule_version")),
        sa.UniqueConstraint(
            "kind", "scope", "number", name=op.f("uq_fee_rule_version_kind_scope_number")
        ),
    )
    op.create_table(
        "fee_statement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("centre_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("host_scope", sa.String(length=6), nullable=False),
        sa.Column("payer_kind", sa.String(length=20), nullable=False),
        sa.Column("payer_name", sa.String(length=200), nullable=False),
        sa.Column("payer_code", sa.String(length=18), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("evaluation_on", sa.Date(), nullable=False),
        sa.Column("closed_at", expertpool.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tax_version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", expertpool.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["centre_id"], ["centre.id"], name=op.f("fk_fee_statement_centre_id_centre")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["evaluation_session.id"],
            name=op.f("fk_fee_statement_session_id_evaluation_session"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_statement")),
        sa.UniqueConstraint("session_id", name=op.f("uq_fee_statement_session_id")),
    )
    with op.batch_alter_table("fee_statement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fee_statement_centre_id"), ["centre_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_fee_statement_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "fee_bank_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("bank_enc", sa.LargeBinary(), nullable=False),
        sa.Column("account_enc", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", expertpool.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_fee_bank_account_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_bank_account")),
        sa.UniqueConstraint("user_id", name=op.f("uq_fee_bank_account_user_id")),
    )
    op.create_table(
        "fee_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("expert_name", sa.String(length=100), nullable=False),
        sa.Column("participant_id", sa.String(length=40), nullable=False),
        sa.Column("is_leader", sa.Boolean(), nullable=False),
        sa.Column("venue_id", sa.String(length=40), nullable=False),
        sa.Column("checked_in_at", expertpool.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("left_at", expertpool.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("schedule_scope", sa.String(length=6), nullable=False),
        sa.Column("schedule_number", sa.Integer(), nullable=False),
        sa.Column("duration_fen", sa.BigInteger(), nullable=False),
        sa.Column("leader_fen", sa.BigInteger(), nullable=False),
        sa.Column("allowances_fen", sa.BigInteger(), nullable=False),
        sa.Column("adjustment_fen", sa.BigInteger(), nullable=False),
        sa.Column("gross_fen", sa.BigInteger(), nullable=False),
        sa.Column("tax_fen", sa.BigInteger(), nullable=False),
        sa.Column("net_fen", sa.BigInteger(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("fee", "reversal", name="linekind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("reverses_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "unpaid",
                "in_batch",
                "paid",
                "failed",
                "recorded",
                name="linestatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("paid_reference", sa.String(length=100), nullable=False),
        sa.Column("paid_at", expertpool.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failure_reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", expertpool.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["fee_payment_batch.id"],
            name=op.f("fk_fee_line_batch_id_fee_payment_batch"),
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"], ["fee_line.id"], name=op.f("fk_fee_line_reverses_id_fee_line")
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["fee_statement.id"],
            name=op.f("fk_fee_line_statement_id_fee_statement"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_fee_line_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_line")),
    )
    with op.batch_alter_table("fee_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fee_line_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_fee_line_statement_id"), ["statement_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_fee_line_user_id"), ["user_id"], unique=False)

    op.create_table(
        "fee_adjustment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("requested_at", expertpool.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "approved",
                "rejected",
                name="adjustmentstatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", expertpool.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["line_id"], ["fee_line.id"], name=op.f("fk_fee_adjustment_line_id_fee_line")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_adjustment")),
    )
    with op.batch_alter_table("fee_adjustment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fee_adjustment_line_id"), ["line_id"], unique=False)

    data = json.loads(FEES.read_text(encoding="utf-8"))
    docs = [("tax", "", data["tax"])] + [("schedule", s["scope"], s) for s in data["schedules"]]
    table = sa.table(
        "fee_rule_version",
        sa.column("kind", sa.String),
        sa.column("scope", sa.String),
        sa.column("number", sa.Integer),
        sa.column("effective_on", sa.Date),
        sa.column("data_json", sa.Text),
        sa.column("origin", sa.String),
        sa.column("note", sa.Text),
        sa.column("created_by", sa.String),
        sa.column("created_at", expertpool.core.db.UTCDateTime(timezone=True)),
    )
    op.bulk_insert(
        table,
        [
            {
                "kind": kind,
                "scope": scope,
                "number": int(data["version"]),
                "effective_on": date.fromisoformat(data["effective_on"]),
                "data_json": json.dumps(doc, ensure_ascii=False),
                "origin": "file:fees-v1.json",
                "note": data["note"],
                "created_by": "migration",
                "created_at": expertpool.core.db.utcnow(),
            }
            for kind, scope, doc in docs
        ],
    )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("fee_adjustment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fee_adjustment_line_id"))

    op.drop_table("fee_adjustment")
    with op.batch_alter_table("fee_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fee_line_user_id"))
        batch_op.drop_index(batch_op.f("ix_fee_line_statement_id"))
        batch_op.drop_index(batch_op.f("ix_fee_line_batch_id"))

    op.drop_table("fee_line")
    op.drop_table("fee_bank_account")
    with op.batch_alter_table("fee_statement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fee_statement_project_id"))
        batch_op.drop_index(batch_op.f("ix_fee_statement_centre_id"))

    op.drop_table("fee_statement")
    op.drop_table("fee_rule_version")
    with op.batch_alter_table("fee_payment_batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fee_payment_batch_centre_id"))

    op.drop_table("fee_payment_batch")
