"""Sealing: experts named by keyed tokens; snapshots, commitments and sealed records encrypted

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 11:20:00

Before a panel is opened no row may link an expert to a draw for a reader of the database
without the key files. `draw_invitee`, `seat_booking` and `invitation` therefore hold the
expert's token (HMAC-SHA256 under the expert-token key file, `expertpool/core/tokens.py`) in
place of `expert_id`; existing rows are converted with the key files (created when missing).
The database's own guard against an expert holding two overlapping bookings moves to the token.
The list of backups skipped for a replacement (`draw_invitee.skipped`) names experts by the
draw's pseudonyms. A draw's candidate snapshot, commitment (with its eligible counts) and sealed
record are sealed under the draw's own key (`commit_json`/`sealed_json` become `commit_enc`/
`sealed_enc`, with `commit_digest` in clear). Audit and ledger entries already written stay as they are (the hash chains
cover them).
"""
from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from expertpool.core.config import Config
from expertpool.core.keys import KeyStore
from expertpool.core.tokens import ExpertTokens

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_TRIGGER = """
CREATE TRIGGER trg_seat_booking_{when}_{column}_overlap BEFORE {event} ON seat_booking
WHEN NEW.released_at IS NULL AND EXISTS (
    SELECT 1 FROM seat_booking b
    WHERE b.{column} = NEW.{column} AND b.id IS NOT NEW.id AND b.released_at IS NULL
      AND b.starts_at < NEW.ends_at AND NEW.starts_at < b.ends_at)
BEGIN SELECT RAISE(ABORT, 'seat_booking_{column}_overlap'); END
"""


def _tokens() -> ExpertTokens:
    keys = context.config.attributes.get("keys") or KeyStore(Config.from_env())
    keys.init()
    return ExpertTokens(keys)


def _drop_guard(column: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE seat_booking DROP CONSTRAINT IF EXISTS ex_seat_booking_{column}_overlap")
    else:
        for when in ("insert", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS trg_seat_booking_{when}_{column}_overlap")


def _add_guard(column: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            f"ALTER TABLE seat_booking ADD CONSTRAINT ex_seat_booking_{column}_overlap "
            f"EXCLUDE USING gist ({column} WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
            "WHERE (released_at IS NULL)"
        )
    else:
        for when, event in (("insert", "INSERT"), ("update", "UPDATE")):
            op.execute(_SQLITE_TRIGGER.format(when=when, event=event, column=column))


def _seal_draw_records(keys: KeyStore) -> None:
    import draw
    from expertpool.draws import sealing

    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT id, draw_id, wrapped_key, snapshot, commit_json, sealed_json FROM draw")
    ).all()
    for row_id, draw_id, wrapped, snapshot, commit_json, sealed_json in rows:
        key = sealing.unwrap_draw_key(keys.sealing_key(), draw_id, bytes(wrapped))
        commit = json.loads(commit_json)
        bind.execute(
            sa.text(
                "UPDATE draw SET snapshot = :s, commit_digest = :cd, commit_enc = :ce, "
                "sealed_enc = :se WHERE id = :i"
            ),
            {
                "s": sealing.seal_value(key, draw_id, "snapshot", bytes(snapshot)),
                "cd": draw.canonical_digest(commit),
                "ce": sealing.seal_value(key, draw_id, "commit", draw.canonical_json(commit)),
                "se": None
                if sealed_json is None
                else sealing.seal_value(
                    key, draw_id, "sealed", draw.canonical_json(json.loads(sealed_json))
                ),
                "i": row_id,
            },
        )


def upgrade() -> None:
    """Replace the clear expert ids by tokens and seal the draw records, converting existing rows."""
    bind = op.get_bind()
    with op.batch_alter_table("draw", schema=None) as batch_op:
        batch_op.add_column(sa.Column("commit_digest", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("commit_enc", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("sealed_enc", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("shaped_enc", sa.LargeBinary(), nullable=True))
    if bind.execute(sa.text("SELECT count(*) FROM draw")).scalar_one():
        _seal_draw_records(_tokens().keys)
    with op.batch_alter_table("draw", schema=None) as batch_op:
        batch_op.drop_column("commit_json")
        batch_op.drop_column("sealed_json")
        batch_op.alter_column("commit_digest", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("commit_enc", existing_type=sa.LargeBinary(), nullable=False)
    counts = {
        t: bind.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
        for t in ("draw_invitee", "seat_booking", "invitation")
    }
    tokens = _tokens() if any(counts.values()) else None
    if bind.dialect.name == "sqlite":
        # Batch mode rebuilds seat_booking and invitation, which other tables reference: keep
        # those references naming them when the rebuilt table is renamed into place (newer SQLite
        # would rewrite them). `expertpool.core.migrate` runs migrations with foreign keys off.
        op.execute("PRAGMA legacy_alter_table = ON")
    _drop_guard("expert_id")
    for table in ("draw_invitee", "seat_booking", "invitation"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("expert_token", sa.String(length=32), nullable=True))
        if counts[table] and tokens is not None:
            rows = bind.execute(sa.text(f"SELECT id, expert_id FROM {table}")).all()
            for row_id, expert_id in rows:
                bind.execute(
                    sa.text(f"UPDATE {table} SET expert_token = :t WHERE id = :i"),
                    {"t": tokens.token(expert_id), "i": row_id},
                )
    if counts["draw_invitee"] and tokens is not None:
        rows = bind.execute(
            sa.text(
                "SELECT i.id, i.skipped, d.draw_id FROM draw_invitee i JOIN draw d ON d.id = i.draw_pk"
            )
        ).all()
        for row_id, skipped, draw_id in rows:
            items = json.loads(skipped) if isinstance(skipped, str) else (skipped or [])
            named = [
                {"expert": tokens.pseudonym(draw_id, s["expert_id"]), "reason": s["reason"]}
                if "expert_id" in s
                else s
                for s in items
            ]
            bind.execute(
                sa.text("UPDATE draw_invitee SET skipped = :s WHERE id = :i"),
                {"s": json.dumps(named), "i": row_id},
            )
    with op.batch_alter_table("draw_invitee", schema=None) as batch_op:
        batch_op.drop_constraint("uq_draw_invitee_draw_pk_expert_id", type_="unique")
        batch_op.drop_index("ix_draw_invitee_expert_id")
        batch_op.drop_constraint("fk_draw_invitee_expert_id_expert", type_="foreignkey")
        batch_op.drop_column("expert_id")
        batch_op.alter_column("expert_token", existing_type=sa.String(length=32), nullable=False)
        batch_op.create_index("ix_draw_invitee_expert_token", ["expert_token"], unique=False)
        batch_op.create_unique_constraint(
            "uq_draw_invitee_draw_pk_expert_token", ["draw_pk", "expert_token"]
        )
    with op.batch_alter_table("seat_booking", schema=None) as batch_op:
        batch_op.drop_index("ix_seat_booking_expert_id")
        batch_op.drop_constraint("fk_seat_booking_expert_id_expert", type_="foreignkey")
        batch_op.drop_column("expert_id")
        batch_op.alter_column("expert_token", existing_type=sa.String(length=32), nullable=False)
        batch_op.create_index("ix_seat_booking_expert_token", ["expert_token"], unique=False)
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_index("ix_invitation_expert_id")
        batch_op.drop_column("expert_id")
        batch_op.alter_column("expert_token", existing_type=sa.String(length=32), nullable=False)
        batch_op.create_index("ix_invitation_expert_token", ["expert_token"], unique=False)
    _add_guard("expert_token")
    if bind.dialect.name == "sqlite":
        # Rebuilding seat_booking dropped its triggers: the seat's guard comes back too.
        _drop_guard("seat_id")
        _add_guard("seat_id")
        op.execute("PRAGMA legacy_alter_table = OFF")


def downgrade() -> None:
    """Not reversible: a token cannot be turned back into an expert id without trying every id."""
    raise NotImplementedError("0012 replaces expert ids by keyed tokens and cannot be undone")
