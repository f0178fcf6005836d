"""The candidate snapshot of a draw (draw-v1 §3), built from the database with set-based queries.

Every expert is a candidate whatever their status: the engine excludes by reason, and the
exclusion counts belong to the record. Seven queries build the whole pool, whatever its size:
experts, specialties, leave and bookings overlapping the evaluation window, employments inside
the look-back window, declared avoidances (own and relatives'), and recent invitations.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from draw import Candidate
from expertpool.models import (
    DrawInvitee,
    Expert,
    ExpertAvoidance,
    ExpertEmployment,
    ExpertLeave,
    ExpertSpecialty,
    SeatBooking,
)
from expertpool.services.draw_rules import cst_date

NO_REGION = "none"  # draw-v1 identifiers cannot be empty; an expert without a home region matches no region rule
_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


@dataclass(frozen=True)
class SnapshotWindow:
    """What the snapshot depends on besides the experts: the evaluation window and the look-backs."""

    starts_at: datetime
    ends_at: datetime
    now_at: datetime
    lookback_years: int
    frequency_window_days: int

    @property
    def first_day(self) -> date:
        """The first evaluation day in China Standard Time."""
        return cst_date(self.starts_at)

    @property
    def last_day(self) -> date:
        """The last evaluation day in China Standard Time (the window is half-open)."""
        return cst_date(self.ends_at - timedelta(microseconds=1))

    @property
    def employment_cutoff(self) -> date:
        """Employments that ended on or after this day count as conflicts."""
        day = self.first_day
        try:
            return day.replace(year=day.year - self.lookback_years)
        except ValueError:  # 29 February
            return day.replace(year=day.year - self.lookback_years, day=28)

    @property
    def frequency_since_at(self) -> datetime:
        """Invitations from this moment on count towards the frequency cap."""
        return self.now_at - timedelta(days=self.frequency_window_days)


def expert_key(expert_id: int) -> str:
    """The draw-v1 identifier of an expert (their database id in decimal)."""
    return str(expert_id)


def _orgs(codes: Iterable[str]) -> tuple[str, ...]:
    """Organisation codes fit for the engine, sorted and distinct (malformed codes cannot match a bidder)."""
    return tuple(sorted({c for c in codes if c and _IDENTIFIER.fullmatch(c)}))


def build_candidates(session: Session, window: SnapshotWindow) -> list[Candidate]:
    """Every expert as a draw-v1 candidate, in ascending id order."""
    specialties: dict[int, list[str]] = defaultdict(list)
    for expert_id, code in session.execute(select(ExpertSpecialty.expert_id, ExpertSpecialty.code)):
        specialties[expert_id].append(code)
    on_leave = set(session.execute(
        select(ExpertLeave.expert_id).where(ExpertLeave.start_on <= window.last_day,
                                            ExpertLeave.end_on >= window.first_day).distinct()).scalars())
    booked = set(session.execute(
        select(SeatBooking.expert_id).where(SeatBooking.released_at.is_(None),
                                            SeatBooking.starts_at < window.ends_at,
                                            SeatBooking.ends_at > window.starts_at).distinct()).scalars())
    avoid: dict[int, set[str]] = defaultdict(set)
    for expert_id, org in session.execute(
            select(ExpertEmployment.expert_id, ExpertEmployment.org_code).where(
                ExpertEmployment.start_on <= window.last_day,
                or_(ExpertEmployment.end_on.is_(None), ExpertEmployment.end_on >= window.employment_cutoff))):
        avoid[expert_id].add(org)
    for expert_id, org in session.execute(select(ExpertAvoidance.expert_id, ExpertAvoidance.org_code)):
        avoid[expert_id].add(org)
    recent = dict(session.execute(
        select(DrawInvitee.expert_id, func.count()).where(DrawInvitee.invited_at >= window.frequency_since_at,
                                                          DrawInvitee.invited_at <= window.now_at)
        .group_by(DrawInvitee.expert_id)).all())
    unavailable = on_leave | booked
    out: list[Candidate] = []
    rows = session.execute(select(Expert.id, Expert.status, Expert.home_region, Expert.employer_code)
                           .order_by(Expert.id))
    for expert_id, status, region, employer in rows:
        employer_code = employer if employer and _IDENTIFIER.fullmatch(employer) else ""
        out.append(Candidate(
            id=expert_key(expert_id), status=status.value, available=expert_id not in unavailable,
            specialties=tuple(sorted(specialties.get(expert_id, ()))),
            region=region if region and _IDENTIFIER.fullmatch(region) else NO_REGION,
            employer=employer_code, avoid_orgs=_orgs(avoid.get(expert_id, ())),
            recent_draws=int(recent.get(expert_id, 0)),
        ))
    return out
