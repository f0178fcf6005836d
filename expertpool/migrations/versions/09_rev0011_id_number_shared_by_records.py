"""The ID number's blind index is no longer unique: a registration with an ID number another record
holds is stored and shown to reviewers, instead of telling the submitter who is in the pool.

Downgrading restores the UNIQUE constraint, and fails while two records share an ID number
(reject or remove one of them first).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 11:25:29.734458
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from alembic import context, op

revision: str = '0011'
down_revision: str | Sequence[str] | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite rebuilds the expert table to drop a constraint (PostgreSQL drops it in place); the
# triggers of 0008 (expert search) name the table, so they are copied here as they are.
SQLITE_TRIGGER_NAMES = ('trg_expert_search_sync', 'trg_expert_specialty_refill', 'trg_expert_specialty_fill')
SQLITE_TRIGGERS = (
    # A new specialty row takes the expert's status and city (a bulk insert that already has them
    # right costs only the look-up).
    """CREATE TRIGGER trg_expert_specialty_fill AFTER INSERT ON expert_specialty
    WHEN NEW.status IS NOT (SELECT status FROM expert WHERE id = NEW.expert_id)
      OR NEW.home_region IS NOT (SELECT home_region FROM expert WHERE id = NEW.expert_id)
    BEGIN
        UPDATE expert_specialty
        SET status = (SELECT status FROM expert WHERE id = NEW.expert_id),
            home_region = (SELECT home_region FROM expert WHERE id = NEW.expert_id)
        WHERE expert_id = NEW.expert_id AND code = NEW.code;
    END""",
    # A direct write to the copies (or a re-pointed row) is corrected from the expert.
    """CREATE TRIGGER trg_expert_specialty_refill AFTER UPDATE OF expert_id, status, home_region ON expert_specialty
    WHEN NEW.status IS NOT (SELECT status FROM expert WHERE id = NEW.expert_id)
      OR NEW.home_region IS NOT (SELECT home_region FROM expert WHERE id = NEW.expert_id)
    BEGIN
        UPDATE expert_specialty
        SET status = (SELECT status FROM expert WHERE id = NEW.expert_id),
            home_region = (SELECT home_region FROM expert WHERE id = NEW.expert_id)
        WHERE expert_id = NEW.expert_id AND code = NEW.code;
    END""",
    # An expert's new status or city reaches every specialty row.
    """CREATE TRIGGER trg_expert_search_sync AFTER UPDATE OF status, home_region ON expert
    WHEN OLD.status IS NOT NEW.status OR OLD.home_region IS NOT NEW.home_region
    BEGIN
        UPDATE expert_specialty SET status = NEW.status, home_region = NEW.home_region
        WHERE expert_id = NEW.id;
    END""",
)


@contextmanager
def _rebuilding_expert_on_sqlite() -> Iterator[None]:
    """On SQLite: the search triggers of 0008 name the expert table, which batch mode rebuilds.

    They are dropped first and created again afterwards. Foreign keys are off meanwhile: the
    migrations run that way on SQLite (`expertpool.core.migrate`, `migrations/env.py`) and the
    references are checked when they end.
    """
    if op.get_context().dialect.name != "sqlite":
        yield
        return
    for name in SQLITE_TRIGGER_NAMES:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    yield
    for statement in SQLITE_TRIGGERS:
        op.execute(statement)


def upgrade() -> None:
    """Apply this revision."""
    with _rebuilding_expert_on_sqlite(), op.batch_alter_table('expert', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_expert_id_number_bidx'), type_='unique')
        batch_op.create_index(batch_op.f('ix_expert_id_number_bidx'), ['id_number_bidx'], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with _rebuilding_expert_on_sqlite(), op.batch_alter_table('expert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_expert_id_number_bidx'))
        batch_op.create_unique_constraint(batch_op.f('uq_expert_id_number_bidx'), ['id_number_bidx'])
