"""Leave calendar and daily maintenance: leave, suspensions ending, retirement at the age cap."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Exists, and_, exists, select
from sqlalchemy.orm import Session

from expertpool.accounts.models import User
from expertpool.core import audit
from expertpool.core.calendar import cst_date
from expertpool.core.config import Config
from expertpool.core.db import utcnow
from expertpool.core.errors import BrokenInvariant, Forbidden, NotFound, ValidationFailed
from expertpool.core.texts import translated
from expertpool.experts import lifecycle, records
from expertpool.experts.models import Expert, ExpertLeave, ExpertStatus
from expertpool.experts.standing import cap_birth_date

S = ExpertStatus
POOL = (S.ACTIVE, S.ON_LEAVE, S.SUSPENDED)


def _covering(today: date) -> Exists:
    return exists().where(
        ExpertLeave.expert_id == Expert.id,
        ExpertLeave.start_on <= today,
        ExpertLeave.end_on >= today,
    )


def declare_leave(
    session: Session,
    *,
    actor: User,
    expert_id: int,
    start_on: date | None,
    end_on: date | None,
    reason: str = "",
    today: date | None = None,
) -> ExpertLeave:
    """Add an unavailable period; reversed, past or overlapping ranges are refused; commits."""
    today = today or utcnow().date()
    expert = records.get_expert(session, expert_id)
    if expert.user_id != actor.id:
        raise Forbidden()
    if expert.status not in POOL:
        raise lifecycle.illegal(expert.status, "leave")
    fields = {}
    if start_on is None:
        fields["start_on"] = str(translated("Required."))
    if end_on is None:
        fields["end_on"] = str(translated("Required."))
    if fields:
        raise ValidationFailed(fields=fields)
    if start_on is None or end_on is None:
        raise BrokenInvariant()
    if end_on < start_on:
        raise ValidationFailed(fields={"end_on": str(translated("The end lies before the start."))})
    if end_on < today:
        raise ValidationFailed(fields={"end_on": str(translated("The period is already over."))})
    # One declaration at a time per expert, so two overlapping requests cannot both pass the check.
    session.execute(select(Expert.id).where(Expert.id == expert.id).with_for_update())
    overlap = session.execute(
        select(ExpertLeave).where(
            ExpertLeave.expert_id == expert.id,
            ExpertLeave.start_on <= end_on,
            ExpertLeave.end_on >= start_on,
        )
    ).first()
    if overlap is not None:
        raise ValidationFailed(
            fields={"start_on": str(translated("This period overlaps another leave."))}
        )
    with records.guarded(session):
        leave = ExpertLeave(start_on=start_on, end_on=end_on, reason=(reason or "").strip()[:200])
        expert.leaves.append(leave)
        before = expert.status
        if expert.status is S.ACTIVE and start_on <= today <= end_on:
            expert.status = S.ON_LEAVE
        session.flush()
        audit.record(
            session,
            actor=actor.username,
            action="expert.leave",
            object_type="expert",
            object_id=expert.id,
            before={"status": before.value},
            after={
                "status": expert.status.value,
                "start_on": start_on.isoformat(),
                "end_on": end_on.isoformat(),
            },
        )
        session.commit()
    return leave


def cancel_leave(
    session: Session, *, actor: User, leave_id: int, today: date | None = None
) -> None:
    """Withdraw a leave period that has not ended; commits."""
    today = today or utcnow().date()
    leave = session.get(ExpertLeave, leave_id)
    if leave is None:
        raise NotFound()
    expert = records.get_expert(session, leave.expert_id)
    if expert.user_id != actor.id:
        raise Forbidden()
    if leave.end_on < today:
        raise ValidationFailed(fields={"leave": str(translated("The period is already over."))})
    with records.guarded(session):
        before = expert.status
        expert.leaves.remove(leave)
        if expert.status is S.ON_LEAVE and leave.start_on <= today:
            expert.status = S.ACTIVE
        session.flush()
        audit.record(
            session,
            actor=actor.username,
            action="expert.leave_cancel",
            object_type="expert",
            object_id=expert.id,
            before={
                "status": before.value,
                "start_on": leave.start_on.isoformat(),
                "end_on": leave.end_on.isoformat(),
            },
            after={"status": expert.status.value},
        )
        session.commit()


@dataclass(frozen=True)
class MaintenanceReport:
    """What one maintenance run changed."""

    retired: int
    leave_started: int
    leave_ended: int
    suspensions_ended: int


def run_maintenance(
    session: Session, *, config: Config, today: date | None = None, actor: str = "maintenance"
) -> MaintenanceReport:
    """Retire at the age cap, start and end leave, end expired suspensions; audited; commits."""
    report = apply_maintenance(
        session, config=config, today=today or cst_date(utcnow()), actor=actor
    )
    session.commit()
    return report


def apply_maintenance(
    session: Session, *, config: Config, today: date, actor: str = "maintenance"
) -> MaintenanceReport:
    """The moves of `run_maintenance` in the caller's transaction (which commits)."""
    counts = {"retired": 0, "leave_started": 0, "leave_ended": 0, "suspensions_ended": 0}

    def move(expert: Expert, target: ExpertStatus, key: str, why: str) -> None:
        lifecycle.check(expert.status, target)
        before = expert.status
        expert.status = target
        if before is S.SUSPENDED:
            expert.suspended_until = None
        expert.status_reason = why
        session.flush()
        audit.record(
            session,
            actor=actor,
            action=f"maintenance.{key}",
            object_type="expert",
            object_id=expert.id,
            before={"status": before.value},
            after={"status": target.value, "reason": why},
        )
        counts[key] += 1

    cutoff = cap_birth_date(today, config.age_cap)
    for expert in session.execute(
        select(Expert)
        .where(Expert.status.in_(POOL), Expert.birth_date <= cutoff)
        .order_by(Expert.id)
    ).scalars():
        move(expert, S.RETIRED, "retired", f"age cap {config.age_cap}")
    for expert in session.execute(
        select(Expert)
        .where(Expert.status == S.SUSPENDED, Expert.suspended_until < today)
        .order_by(Expert.id)
    ).scalars():
        move(expert, S.ACTIVE, "suspensions_ended", "suspension ended")
    for expert in session.execute(
        select(Expert).where(Expert.status == S.ON_LEAVE, ~_covering(today)).order_by(Expert.id)
    ).scalars():
        move(expert, S.ACTIVE, "leave_ended", "leave ended")
    for expert in session.execute(
        select(Expert).where(and_(Expert.status == S.ACTIVE, _covering(today))).order_by(Expert.id)
    ).scalars():
        move(expert, S.ON_LEAVE, "leave_started", "leave started")
    return MaintenanceReport(**counts)
