"""Terms and the daily upkeep: `expert.term_ends_on` and the `maintenance_run` of each day

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 16:22:55

Experts already in the pool get the term the bundled pool rules give (3 years from their
activation, or from their record's creation when no activation time was kept), so that none of
them stays drawable for ever. Columns are added in place (no table rebuild, so the expert search
triggers of 0008 stay as they are).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import sqlalchemy as sa
from alembic import op

import expertpool.core.db

revision: str = '0019'
down_revision: str | Sequence[str] | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TERM_YEARS = 3  # pool-rules-v1 `term_years`, as it stood when this revision was written
IN_POOL = ('active', 'on_leave', 'suspended')


def _term_end(start: date) -> date:
    try:
        end = start.replace(year=start.year + TERM_YEARS)
    except ValueError:  # 29 February
        end = start.replace(year=start.year + TERM_YEARS, day=28)
    return date.fromordinal(end.toordinal() - 1)


def _day(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value[:10]).date()
    return None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('maintenance_run',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('started_at', expertpool.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('report', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_maintenance_run'))
    )
    op.add_column('expert', sa.Column('term_ends_on', sa.Date(), nullable=True))
    op.create_index(op.f('ix_expert_term_ends_on'), 'expert', ['term_ends_on'], unique=False)

    bind = op.get_bind()
    expert = sa.table(
        'expert',
        sa.column('id', sa.Integer()),
        sa.column('status', sa.String()),
        sa.column('activated_at', sa.String()),
        sa.column('created_at', sa.String()),
        sa.column('term_ends_on', sa.Date()),
    )
    rows = bind.execute(
        sa.select(expert.c.id, expert.c.activated_at, expert.c.created_at).where(
            expert.c.status.in_(IN_POOL)
        )
    ).all()
    updates = []
    for expert_id, activated_at, created_at in rows:
        start = _day(activated_at) or _day(created_at)
        if start is not None:
            updates.append({'eid': expert_id, 'term': _term_end(start)})
    if updates:
        bind.execute(
            sa.update(expert).where(expert.c.id == sa.bindparam('eid')).values(
                term_ends_on=sa.bindparam('term')
            ),
            updates,
        )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f('ix_expert_term_ends_on'), table_name='expert')
    with op.batch_alter_table('expert', schema=None) as batch_op:
        batch_op.drop_column('term_ends_on')
    op.drop_table('maintenance_run')
