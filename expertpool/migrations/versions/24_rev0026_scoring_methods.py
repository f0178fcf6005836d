"""Scoring-method templates per centre, and the rules of review stages and low scores

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03 19:50:00

A centre keeps scoring methods as templates (`scoring_template`: the room's score form as
JSON, made by the editor). Two rules join the versioned rule table: `low_score_reason_pct`
(a subjective score below this share of its item needs a reason) and `method_total_points`
(the points a comprehensive method adds up to). Every stored rule version receives the bundled
rows of these keys, so every version stays complete (`rules.resolve` needs every key).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

import expertpool.core.db

revision: str = "0026"
down_revision: str | Sequence[str] | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RULES_FILE = Path(__file__).resolve().parents[2] / "regimes" / "data" / "rules-v1.json"
NEW_KEYS = ("low_score_reason_pct", "method_total_points")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "scoring_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("regime", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("form", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", expertpool.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", expertpool.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["centre_id"], ["centre.id"], name=op.f("fk_scoring_template_centre_id_centre")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scoring_template")),
        sa.UniqueConstraint("centre_id", "name", name=op.f("uq_scoring_template_centre_id_name")),
    )
    with op.batch_alter_table("scoring_template", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_scoring_template_centre_id"), ["centre_id"], unique=False
        )

    # Revision 0014 loads the bundled file as it is when it runs: a fresh database already has
    # these rows in version 1; an older one gets them here, in every version it holds.
    rows = [r for r in json.loads(RULES_FILE.read_text("utf-8"))["rules"] if r["key"] in NEW_KEYS]
    conn = op.get_bind()
    values = sa.table(
        "rule_value",
        sa.column("version_id", sa.Integer),
        sa.column("regime", sa.String),
        sa.column("method", sa.String),
        sa.column("key", sa.String),
        sa.column("value_json", sa.Text),
        sa.column("source", sa.Text),
        sa.column("status", sa.String),
    )
    versions = [v for (v,) in conn.execute(sa.text("SELECT id FROM rule_version"))]
    have = {
        (v, reg, met, key)
        for v, reg, met, key in conn.execute(
            sa.text("SELECT version_id, regime, method, key FROM rule_value")
        )
    }
    new = [
        {
            "version_id": v,
            "regime": r["regime"],
            "method": r["method"],
            "key": r["key"],
            "value_json": json.dumps(r["value"], ensure_ascii=False),
            "source": r["source"],
            "status": r["status"],
        }
        for v in versions
        for r in rows
        if (v, r["regime"], r["method"], r["key"]) not in have
    ]
    if new:
        op.bulk_insert(values, new)


def downgrade() -> None:
    """Revert this revision."""
    op.execute(
        sa.text(
            "DELETE FROM rule_value WHERE key IN ('low_score_reason_pct', 'method_total_points')"
        )
    )
    with op.batch_alter_table("scoring_template", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scoring_template_centre_id"))
    op.drop_table("scoring_template")
