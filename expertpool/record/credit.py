"""Credit: events to points under the rule table, the year's score, the draw flag, and the
sanctions a threshold proposes (a reviewer decides; `sanctions.py`).

Credit resets every 1 January (China Standard Time): the year's score is the rules' `base` plus
the points of that year's events. An expert whose score is below `draw_exclusion_below` carries
`Expert.is_low_credit`, which the draw reads (`experts/standing.py`: "low_credit"); the daily
upkeep's first run of a year clears it for everyone (`reset_year`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from expertpool.core import audit
from expertpool.experts.models import Expert
from expertpool.record.credit_rules import CreditRules
from expertpool.record.models import CreditEvent, Sanction, SanctionKind, SanctionStatus


def score(session: Session, expert_id: int, year: int, rules: CreditRules) -> int:
    """The expert's credit in `year`: the base plus that year's points."""
    points = session.execute(
        select(func.coalesce(func.sum(CreditEvent.points), 0)).where(
            CreditEvent.expert_id == expert_id,
            CreditEvent.occurred_on >= date(year, 1, 1),
            CreditEvent.occurred_on <= date(year, 12, 31),
        )
    ).scalar_one()
    return rules.base + int(points)


def events_of(session: Session, expert_id: int) -> list[CreditEvent]:
    """Every credit event of an expert, newest first."""
    return list(
        session.execute(
            select(CreditEvent)
            .where(CreditEvent.expert_id == expert_id)
            .order_by(CreditEvent.occurred_on.desc(), CreditEvent.id.desc())
        ).scalars()
    )


def add_event(
    session: Session,
    *,
    expert: Expert,
    rules: CreditRules,
    rule: str,
    day: date,
    actor: str,
    session_id: int | None = None,
    project_id: int | None = None,
    rating_id: int | None = None,
    fact_id: int | None = None,
    note: str = "",
) -> CreditEvent:
    """Add one rule's points to an expert's credit (the caller commits and refreshes)."""
    event = CreditEvent(
        expert_id=expert.id,
        rule=rule,
        points=rules.points(rule),
        rules_version=rules.version,
        occurred_on=day,
        session_id=session_id,
        project_id=project_id,
        rating_id=rating_id,
        fact_id=fact_id,
        note=note,
        created_by=actor,
    )
    session.add(event)
    session.flush()
    return event


def reverse_event(
    session: Session, event: CreditEvent, *, actor: str, day: date, note: str
) -> CreditEvent:
    """The event's reversal (the opposite points, same day as the original counted)."""
    back = CreditEvent(
        expert_id=event.expert_id,
        rule="reversal",
        points=-event.points,
        rules_version=event.rules_version,
        occurred_on=event.occurred_on,
        session_id=event.session_id,
        project_id=event.project_id,
        reverses_id=event.id,
        note=note,
        created_by=actor,
    )
    session.add(back)
    session.flush()
    return back


def _proposal(score_now: int, rules: CreditRules) -> SanctionKind | None:
    if score_now < rules.propose_removal_below:
        return SanctionKind.REMOVAL
    if score_now < rules.propose_suspension_below:
        return SanctionKind.SUSPENSION
    if score_now < rules.propose_warning_below:
        return SanctionKind.WARNING
    return None


def refresh(
    session: Session, *, expert: Expert | None, rules: CreditRules, today: date, actor: str
) -> Sanction | None:
    """Set the expert's draw flag from this year's score, and propose the sanction a threshold
    reached (once per kind and year); the caller commits. Returns a new proposal, if any."""
    if expert is None:
        return None
    now_score = score(session, expert.id, today.year, rules)
    low = now_score < rules.draw_exclusion_below
    if expert.is_low_credit != low:
        expert.is_low_credit = low
        audit.record(
            session,
            actor=actor,
            action="record.low_credit" if low else "record.credit_recovered",
            object_type="expert",
            object_id=expert.id,
            after={"score": now_score, "threshold": rules.draw_exclusion_below},
        )
    kind = _proposal(now_score, rules)
    if kind is None:
        return None
    same = session.execute(
        select(Sanction.id).where(
            Sanction.expert_id == expert.id,
            Sanction.kind == kind,
            Sanction.by_threshold.is_(True),
            Sanction.proposed_at >= _year_start(today),
            Sanction.status != SanctionStatus.REJECTED,
        )
    ).first()
    if same is not None:
        return None
    threshold = {
        SanctionKind.REMOVAL: rules.propose_removal_below,
        SanctionKind.SUSPENSION: rules.propose_suspension_below,
        SanctionKind.WARNING: rules.propose_warning_below,
    }[kind]
    proposal = Sanction(
        expert_id=expert.id,
        kind=kind,
        reason=f"credit {now_score} < {threshold} (credit rules v{rules.version})",
        by_threshold=True,
        proposed_by="system",
        ends_on=None,
    )
    session.add(proposal)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="record.sanction_proposed",
        object_type="expert",
        object_id=expert.id,
        after={"sanction": proposal.id, "kind": kind.value, "score": now_score},
    )
    return proposal


def _year_start(today: date) -> datetime:
    """1 January 00:00 China Standard Time of `today`'s year, in UTC."""
    return datetime(today.year, 1, 1, tzinfo=UTC) - timedelta(hours=8)


def reset_year(session: Session, *, rules: CreditRules, today: date, actor: str) -> int:
    """The yearly reset: recompute the draw flag of every flagged expert; the caller commits.
    Returns how many were cleared."""
    cleared = 0
    for expert in session.execute(select(Expert).where(Expert.is_low_credit.is_(True))).scalars():
        refresh(session, expert=expert, rules=rules, today=today, actor=actor)
        cleared += 0 if expert.is_low_credit else 1
    return cleared
