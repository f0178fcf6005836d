"""Expert search: status and city copied onto expert_specialty, kept in sync by triggers, with indexes

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-25 18:54:14.398137

Staff search filters by specialty prefix, city and status at once. With the two copied columns one
index range on `expert_specialty` answers the filter, the total and the counts per specialty and
city; no join with the whole `expert` table. Triggers recompute the copies from `expert` whenever a
specialty row is inserted (or re-pointed) and whenever an expert's status or city changes, so no
code path can leave them out of date.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import expertpool.core.db


revision: str = '0008'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ('draft', 'submitted', 'under_review', 'returned', 'active', 'rejected', 'on_leave', 'suspended',
            'retired', 'removed')

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

POSTGRES_TRIGGERS = (
    # Every inserted or updated specialty row takes the expert's status and city.
    """CREATE FUNCTION expert_specialty_fill() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        SELECT status, home_region INTO NEW.status, NEW.home_region FROM expert WHERE id = NEW.expert_id;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER trg_expert_specialty_fill BEFORE INSERT OR UPDATE ON expert_specialty
    FOR EACH ROW EXECUTE FUNCTION expert_specialty_fill()""",
    # An expert's new status or city reaches every specialty row (the fill trigger copies it).
    """CREATE FUNCTION expert_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE expert_specialty SET status = NEW.status, home_region = NEW.home_region
        WHERE expert_id = NEW.id;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER trg_expert_search_sync AFTER UPDATE OF status, home_region ON expert
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.home_region IS DISTINCT FROM NEW.home_region)
    EXECUTE FUNCTION expert_search_sync()""",
)


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('expert_specialty', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.Enum(*STATUSES, name='expertstatus', native_enum=False, length=20),
                                      nullable=True))
        batch_op.add_column(sa.Column('home_region', sa.String(length=6), nullable=True))
    op.execute("UPDATE expert_specialty SET "
               "status = (SELECT status FROM expert WHERE expert.id = expert_specialty.expert_id), "
               "home_region = (SELECT home_region FROM expert WHERE expert.id = expert_specialty.expert_id)")
    with op.batch_alter_table('expert_specialty', schema=None) as batch_op:
        batch_op.create_index('ix_expert_specialty_search_region', ['home_region', 'code', 'expert_id'], unique=False)
        batch_op.create_index('ix_expert_specialty_search_status', ['status', 'code', 'home_region', 'expert_id'],
                              unique=False)
        batch_op.create_index('ix_expert_specialty_search_status_region',
                              ['status', 'home_region', 'code', 'expert_id'], unique=False)
    for statement in POSTGRES_TRIGGERS if op.get_bind().dialect.name == 'postgresql' else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    """Revert this revision."""
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER trg_expert_search_sync ON expert")
        op.execute("DROP TRIGGER trg_expert_specialty_fill ON expert_specialty")
        op.execute("DROP FUNCTION expert_search_sync()")
        op.execute("DROP FUNCTION expert_specialty_fill()")
    else:
        for name in ('trg_expert_search_sync', 'trg_expert_specialty_refill', 'trg_expert_specialty_fill'):
            op.execute(f"DROP TRIGGER {name}")
    with op.batch_alter_table('expert_specialty', schema=None) as batch_op:
        batch_op.drop_index('ix_expert_specialty_search_status_region')
        batch_op.drop_index('ix_expert_specialty_search_status')
        batch_op.drop_index('ix_expert_specialty_search_region')
        batch_op.drop_column('home_region')
        batch_op.drop_column('status')
