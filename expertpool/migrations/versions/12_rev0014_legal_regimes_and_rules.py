"""Legal regimes and procurement methods, the versioned rule table, special projects, outcomes

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 13:30:00

Adds the rule table (`rule_version`, `rule_value`) and loads the bundled rules
(`expertpool/regimes/data/rules-v1.json`) as version 1. A project now records its legal regime
and procurement method, off-site evaluation, whether it is special (reason and approval), the
rule version pinned when it was made ready, and its outcome; a bidder records its small/micro
enterprise declaration.

Existing projects get a regime from their kind: works were tendered under the Tendering and
Bidding Law (招标投标法), goods and services under the Government Procurement Law (政府采购法),
whose budget-band rule the old code applied to every project; all by open tender (公开招标), the
method the old code assumed. Projects already ready or further are pinned to version 1, the rules
they were checked under (ready_at is their last change). No existing project is special.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import op

import expertpool.core.db

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RULES_FILE = Path(__file__).resolve().parents[2] / "regimes" / "data" / "rules-v1.json"


def upgrade() -> None:
    """Apply this revision."""
    versions = op.create_table(
        "rule_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", expertpool.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_version")),
        sa.UniqueConstraint("number", name=op.f("uq_rule_version_number")),
    )
    values = op.create_table(
        "rule_value",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("regime", sa.String(length=40), nullable=False),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value_json", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["rule_version.id"],
            name=op.f("fk_rule_value_version_id_rule_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_value")),
        sa.UniqueConstraint(
            "version_id",
            "regime",
            "method",
            "key",
            name=op.f("uq_rule_value_version_id_regime_method_key"),
        ),
    )
    with op.batch_alter_table("rule_value", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rule_value_version_id"), ["version_id"], unique=False)

    data = json.loads(RULES_FILE.read_text(encoding="utf-8"))
    op.bulk_insert(
        versions,
        [
            {
                "id": 1,
                "number": int(data["version"]),
                "effective_on": date.fromisoformat(data["effective_on"]),
                "origin": "file:rules-v1.json",
                "note": data.get("note", ""),
                "created_by": "migration",
                "created_at": datetime.now(UTC),
            }
        ],
    )
    op.bulk_insert(
        values,
        [
            {
                "version_id": 1,
                "regime": r["regime"],
                "method": r["method"],
                "key": r["key"],
                "value_json": json.dumps(r["value"], ensure_ascii=False),
                "source": r["source"],
                "status": r["status"],
            }
            for r in data["rules"]
        ],
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT setval(pg_get_serial_sequence('rule_version', 'id'), 1)")

    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.add_column(sa.Column("regime", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("method", sa.String(length=40), nullable=True))
        batch_op.add_column(
            sa.Column("is_offsite", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("is_special", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("special_reason", sa.Text(), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("special_approved_by", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column(
                "special_approved_at", expertpool.core.db.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(sa.Column("rule_version", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("ready_at", expertpool.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("failure_kind", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column("outcome_reason", sa.Text(), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("outcome_at", expertpool.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("postponements", sa.Integer(), nullable=False, server_default="0")
        )
    op.execute(
        "UPDATE project SET regime = CASE WHEN kind = 'works' THEN 'tendering_law' "
        "ELSE 'government_procurement' END, method = 'open_tender'"
    )
    op.execute("UPDATE project SET rule_version = 1, ready_at = updated_at WHERE status <> 'draft'")
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.alter_column("regime", existing_type=sa.String(length=40), nullable=False)
        batch_op.alter_column("method", existing_type=sa.String(length=40), nullable=False)
        for column in (
            "is_offsite",
            "is_special",
            "special_reason",
            "outcome_reason",
            "postponements",
        ):
            batch_op.alter_column(column, server_default=None)

    with op.batch_alter_table("bidder", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "is_small_enterprise", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("bidder", schema=None) as batch_op:
        batch_op.alter_column("is_small_enterprise", server_default=None)


def downgrade() -> None:
    """Revert this revision (regimes, rules, special-project marks and outcomes are lost)."""
    with op.batch_alter_table("bidder", schema=None) as batch_op:
        batch_op.drop_column("is_small_enterprise")
    op.execute("UPDATE project SET status = 'drawn' WHERE status IN ('failed', 'cancelled')")
    with op.batch_alter_table("project", schema=None) as batch_op:
        for column in (
            "postponements",
            "outcome_at",
            "outcome_reason",
            "failure_kind",
            "ready_at",
            "rule_version",
            "special_approved_at",
            "special_approved_by",
            "special_reason",
            "is_special",
            "is_offsite",
            "method",
            "regime",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("rule_value", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rule_value_version_id"))
    op.drop_table("rule_value")
    op.drop_table("rule_version")
