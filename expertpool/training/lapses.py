"""A training year's close: experts short of hours lapse; consecutive lapses suspend, then remove.

An expert owes hours from the first full calendar year after approval. Each closed year is decided
once per expert (the `training_lapse` row is the decision): with `lapsed_years_to_remove`
consecutive lapsed years the expert is removed, with `lapsed_years_to_suspend` suspended for
`lapse_suspension_days` (a sanction's suspension ending later is kept). Runs in the caller's
transaction, from the daily upkeep.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.core import audit
from expertpool.core.calendar import CST
from expertpool.experts import lifecycle
from expertpool.experts.models import Expert, ExpertStatus
from expertpool.experts.pool_rules import PoolRules
from expertpool.training.models import TrainingLapse
from expertpool.training.records import hours_by_expert

S = ExpertStatus
IN_POOL = (S.ACTIVE, S.ON_LEAVE, S.SUSPENDED)


@dataclass(frozen=True)
class YearClose:
    """What closing a training year did."""

    lapsed: int
    suspended: int
    removed: int


def first_year_owed(activated_at: datetime | None) -> int | None:
    """The first calendar year an expert owes hours (the year after approval)."""
    if activated_at is None:
        return None
    return activated_at.astimezone(CST).year + 1


def close_year(
    session: Session, *, rules: PoolRules, year: int, today: date, actor: str = "maintenance"
) -> YearClose:
    """Decide `year` for every expert in the pool who owed it and has no decision yet."""
    decided = set(
        session.execute(select(TrainingLapse.expert_id).where(TrainingLapse.year == year)).scalars()
    )
    hours = hours_by_expert(session, year)
    lapsed = suspended = removed = 0
    for expert in session.execute(
        select(Expert).where(Expert.status.in_(IN_POOL)).order_by(Expert.id)
    ).scalars():
        owed_from = first_year_owed(expert.activated_at)
        if owed_from is None or owed_from > year or expert.id in decided:
            continue
        done = hours.get(expert.id, 0)
        if done >= rules.training_hours_per_year:
            continue
        run = 1
        while session.get(TrainingLapse, (expert.id, year - run)) is not None:
            run += 1
        outcome = "none"
        before = expert.status
        if run >= rules.lapsed_years_to_remove:
            lifecycle.check(expert.status, S.REMOVED)
            expert.status, expert.suspended_until = S.REMOVED, None
            expert.status_reason = f"training lapsed {run} years ({year})"
            outcome, removed = "removed", removed + 1
        elif run >= rules.lapsed_years_to_suspend:
            until = today + timedelta(days=rules.lapse_suspension_days)
            if expert.status is not S.SUSPENDED:
                lifecycle.check(expert.status, S.SUSPENDED)
                expert.status = S.SUSPENDED
                expert.suspended_until = until
            elif expert.suspended_until is not None and expert.suspended_until < until:
                expert.suspended_until = until
            expert.status_reason = f"training lapsed ({year})"
            outcome, suspended = "suspended", suspended + 1
        session.add(
            TrainingLapse(
                expert_id=expert.id,
                year=year,
                hours=done,
                required=rules.training_hours_per_year,
                outcome=outcome,
                decided_on=today,
            )
        )
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="maintenance.training_lapse",
            object_type="expert",
            object_id=expert.id,
            before={"status": before.value},
            after={
                "status": expert.status.value,
                "year": year,
                "hours": done,
                "required": rules.training_hours_per_year,
                "consecutive": run,
                "outcome": outcome,
            },
        )
        lapsed += 1
    return YearClose(lapsed=lapsed, suspended=suspended, removed=removed)


def short_of_hours(session: Session, *, rules: PoolRules, year: int) -> list[Expert]:
    """Experts in the pool who owe `year` and have fewer hours than required so far."""
    hours = hours_by_expert(session, year)
    return [
        e
        for e in session.execute(
            select(Expert).where(Expert.status.in_(IN_POOL)).order_by(Expert.id)
        ).scalars()
        if (first_year_owed(e.activated_at) or year + 1) <= year
        and hours.get(e.id, 0) < rules.training_hours_per_year
    ]
