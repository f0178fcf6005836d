"""The conflict check re-run at check-in: a drawn expert against the current records of the project.

The rules are the draw's (draw-v1 §4) on today's data: the expert must still be active (and stand
so today: within the term, under the age cap), and neither
the current employer, nor an employer inside the look-back window, nor a declared or relatives'
organisation may be a bidder, the tenderer or the agency. Tenderer's representatives are named by
the tenderer and are not checked.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, scoped_session

from evaluation_room.model import MemberRef, Role
from expertpool.core.calendar import cst_date
from expertpool.core.db import utcnow
from expertpool.draws.conflicts import project_conflicts
from expertpool.experts.models import Expert, ExpertAvoidance, ExpertEmployment, ExpertStatus
from expertpool.experts.standing import standing_on
from expertpool.projects.models import Bidder, Project
from expertpool.rooms.models import EvaluationSession

SERVING = (ExpertStatus.ACTIVE, ExpertStatus.ON_LEAVE)


class ProjectConflictChecker:
    """`evaluation_room.ports.ConflictChecker` over the expert records and the project's
    organisations.
    """

    def __init__(
        self, sessions: scoped_session[Session], *, lookback_years: int, age_cap: int | None = None
    ) -> None:
        self.sessions = sessions
        self.lookback_years = lookback_years
        self.age_cap = age_cap

    def find_conflict(self, room_id: str, member: MemberRef) -> str | None:
        """A reason code (`not_active`, `employer_conflict`, `avoidance_conflict`, `conflict`)
        or None.
        """
        if member.role is not Role.EXPERT:
            return None
        db = self.sessions()
        try:
            row = db.execute(
                select(EvaluationSession.project_id).where(EvaluationSession.room_id == room_id)
            ).first()
            expert = db.execute(
                select(Expert).where(Expert.user_id == int(member.user_id))
            ).scalar_one_or_none()
            if row is None or row[0] is None or expert is None:
                # a session without a project or a member without a record: nothing to check
                return None
            project = db.get(Project, row[0])
            if project is None:
                return None
            orgs = {project.tenderer_code, project.agency_code}
            orgs |= set(
                db.execute(
                    select(Bidder.credit_code).where(Bidder.project_id == project.id)
                ).scalars()
            )
            orgs.discard("")
            today = cst_date(utcnow())
            standing = standing_on(
                expert.status,
                day=today,
                suspended_until=expert.suspended_until,
                birth_date=expert.birth_date,
                term_ends_on=expert.term_ends_on,
                age_cap=self.age_cap,
                is_low_credit=expert.is_low_credit,
            )
            if expert.status not in SERVING or standing != "active":
                return "not_active"
            if expert.employer_code and expert.employer_code in orgs:
                return "employer_conflict"
            cutoff = today - timedelta(days=365 * self.lookback_years)
            former = db.execute(
                select(ExpertEmployment.org_code).where(
                    ExpertEmployment.expert_id == expert.id,
                    ExpertEmployment.org_code.in_(orgs),
                    or_(ExpertEmployment.end_on.is_(None), ExpertEmployment.end_on >= cutoff),
                )
            ).first()
            declared = db.execute(
                select(ExpertAvoidance.org_code).where(
                    ExpertAvoidance.expert_id == expert.id, ExpertAvoidance.org_code.in_(orgs)
                )
            ).first()
            if former or declared:
                return "avoidance_conflict"
            extra = project_conflicts(
                db, project, day=today, employment_cutoff=cutoff, experts=[expert.id]
            )
            if expert.id in extra.barred:
                return "conflict"
            if extra.avoid_orgs.get(expert.id, set()) & orgs:
                return "avoidance_conflict"
            return None
        finally:
            db.rollback()
