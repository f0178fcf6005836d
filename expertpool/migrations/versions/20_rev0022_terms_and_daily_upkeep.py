"""Who may be drawn: terms, the daily upkeep, conflicts on strong keys, continuing education

`expert.term_ends_on` and the `maintenance_run` of each day; declared near relatives
(`expert_relative`) and people recorded on a project (`project_person`: bidders' principals,
planning and design), by ID number (encrypted, blind index); a department's credit code; the sealed
typed conflict reasons of a draw; training courses, records and lapses.

Revision ID: 0022
Revises: 0021
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

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TERM_YEARS = 3  # pool-rules-v1 `term_years`, as it stood when this revision was written
IN_POOL = ("active", "on_leave", "suspended")


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
    op.create_table(
        "maintenance_run",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("started_at", expertpool.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_maintenance_run")),
    )
    op.add_column("expert", sa.Column("term_ends_on", sa.Date(), nullable=True))
    op.create_index(op.f("ix_expert_term_ends_on"), "expert", ["term_ends_on"], unique=False)

    bind = op.get_bind()
    expert = sa.table(
        "expert",
        sa.column("id", sa.Integer()),
        sa.column("status", sa.String()),
        sa.column("activated_at", sa.String()),
        sa.column("created_at", sa.String()),
        sa.column("term_ends_on", sa.Date()),
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
            updates.append({"eid": expert_id, "term": _term_end(start)})
    _conflicts_and_training()
    if updates:
        bind.execute(
            sa.update(expert)
            .where(expert.c.id == sa.bindparam("eid"))
            .values(term_ends_on=sa.bindparam("term")),
            updates,
        )


def _conflicts_and_training() -> None:
    """Conflict rules on strong keys, and continuing education."""
    op.create_table(
        "training_course",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("hours", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("provider", sa.String(length=200), nullable=False),
        sa.Column("created_at", expertpool.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_course")),
        sa.UniqueConstraint("code", name=op.f("uq_training_course_code")),
    )
    op.create_table(
        "expert_relative",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "spouse",
                "parent",
                "child",
                "sibling",
                "other",
                name="relativekind",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("id_number_enc", sa.LargeBinary(), nullable=True),
        sa.Column("id_number_bidx", sa.String(length=64), nullable=False),
        sa.Column("created_at", expertpool.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["expert_id"],
            ["expert.id"],
            name=op.f("fk_expert_relative_expert_id_expert"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert_relative")),
    )
    with op.batch_alter_table("expert_relative", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_expert_relative_expert_id"), ["expert_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_expert_relative_id_number_bidx"), ["id_number_bidx"], unique=False
        )

    op.create_table(
        "training_lapse",
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("hours", sa.Integer(), nullable=False),
        sa.Column("required", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["expert_id"],
            ["expert.id"],
            name=op.f("fk_training_lapse_expert_id_expert"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("expert_id", "year", name=op.f("pk_training_lapse")),
    )
    op.create_table(
        "training_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("hours", sa.Integer(), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("certificate_sha256", sa.String(length=64), nullable=True),
        sa.Column("certificate_name", sa.String(length=255), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", expertpool.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["training_course.id"],
            name=op.f("fk_training_record_course_id_training_course"),
        ),
        sa.ForeignKeyConstraint(
            ["expert_id"],
            ["expert.id"],
            name=op.f("fk_training_record_expert_id_expert"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_record")),
        sa.UniqueConstraint(
            "expert_id", "course_id", name=op.f("uq_training_record_expert_id_course_id")
        ),
    )
    with op.batch_alter_table("training_record", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_training_record_completed_on"), ["completed_on"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_training_record_course_id"), ["course_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_training_record_expert_id"), ["expert_id"], unique=False
        )

    op.create_table(
        "project_person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("bidder_id", sa.Integer(), nullable=True),
        sa.Column(
            "role",
            sa.Enum(
                "legal_representative",
                "director",
                "manager",
                "planning",
                "design",
                name="personrole",
                native_enum=False,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("id_number_enc", sa.LargeBinary(), nullable=True),
        sa.Column("id_number_bidx", sa.String(length=64), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", expertpool.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bidder_id"],
            ["bidder.id"],
            name=op.f("fk_project_person_bidder_id_bidder"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name=op.f("fk_project_person_project_id_project"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_person")),
    )
    with op.batch_alter_table("project_person", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_project_person_id_number_bidx"), ["id_number_bidx"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_project_person_project_id"), ["project_id"], unique=False
        )

    with op.batch_alter_table("department", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credit_code", sa.String(length=18), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_department_credit_code"), ["credit_code"], unique=False
        )

    with op.batch_alter_table("draw", schema=None) as batch_op:
        batch_op.add_column(sa.Column("conflicts_enc", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("draw", schema=None) as batch_op:
        batch_op.drop_column("conflicts_enc")

    with op.batch_alter_table("department", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_department_credit_code"))
        batch_op.drop_column("credit_code")

    with op.batch_alter_table("project_person", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_person_project_id"))
        batch_op.drop_index(batch_op.f("ix_project_person_id_number_bidx"))

    op.drop_table("project_person")
    with op.batch_alter_table("training_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_record_expert_id"))
        batch_op.drop_index(batch_op.f("ix_training_record_course_id"))
        batch_op.drop_index(batch_op.f("ix_training_record_completed_on"))

    op.drop_table("training_record")
    op.drop_table("training_lapse")
    with op.batch_alter_table("expert_relative", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expert_relative_id_number_bidx"))
        batch_op.drop_index(batch_op.f("ix_expert_relative_expert_id"))

    op.drop_table("expert_relative")
    op.drop_table("training_course")
    op.drop_index(op.f("ix_expert_term_ends_on"), table_name="expert")
    op.drop_column("expert", "term_ends_on")  # in place: the search triggers name the table
    op.drop_table("maintenance_run")
