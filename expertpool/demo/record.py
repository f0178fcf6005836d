"""Demo step: the expert's record. Every closed session is rated by its hosts (one member poorly,
with a comment), posted to the experts' records with its facts and credit events; the warning a
threshold proposed is decided by the provincial reviewer, and the poorly rated expert objects.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from evaluation_room.model import Role
from expertpool.accounts.models import User
from expertpool.demo.context import DemoContext
from expertpool.experts.models import Expert
from expertpool.fees.attendance import session_facts
from expertpool.record import assessment, sanctions
from expertpool.record.credit_rules import credit_rules_for
from expertpool.record.models import Objection, Sanction, SanctionStatus
from expertpool.rooms.models import EvaluationSession
from expertpool.rooms.sessions import room_of

GOOD = {"punctuality": "5", "competence": "5", "fairness": "4", "discipline": "5"}
POOR = {"punctuality": "2", "competence": "2", "fairness": "3", "discipline": "1"}
POOR_COMMENT = "签到后多次离席接听电话，评审意见过于简略"


def demo_step(session: Session, ctx: DemoContext, seed: int, options: dict[str, int]) -> str:
    """Rate and post every closed session once; decide one proposed warning; file one objection."""
    rules = credit_rules_for(ctx.config)
    posted = 0
    poorly: list[tuple[int, int, datetime]] = []  # (user id, session id, rated at)
    for row in list(
        session.execute(select(EvaluationSession).order_by(EvaluationSession.id)).scalars()
    ):
        if assessment.posting_of(session, row.id) is not None:
            continue
        facts = session_facts(session, row, ctx.keys)
        closed = assessment.room_closed_at(session, row, facts)
        if facts.outcome == "open" or closed is None:
            continue
        at = closed + timedelta(hours=1)
        room = room_of(row, ctx.keys)
        hosts = [
            room.participant(pid)
            for pid in room.participant_ids()
            if room.participant(pid).role is Role.HOST
        ]
        first_poor = True
        for host in hosts:
            user = session.get(User, int(host.user_id))
            if user is None:
                continue
            view = assessment.assessment(session, row.room_id, user, ctx.keys, rules)
            for member in view.members:
                if not member.may_rate:
                    continue
                poor = first_poor and view.viewer == "main_host"
                assessment.rate(
                    session,
                    room_id=row.room_id,
                    user=user,
                    keys=ctx.keys,
                    rules=rules,
                    participant_id=member.participant_id,
                    form={**(POOR if poor else GOOD), "comment": POOR_COMMENT if poor else ""},
                    now=at,
                )
                if poor:
                    first_poor = False
                    poorly.append((member.user_id, row.id, at))
        assessment.post_session(
            session,
            row=row,
            keys=ctx.keys,
            rules=rules,
            actor="demo",
            now=at + timedelta(hours=1),
            force=True,
        )
        posted += 1
    reviewer = session.execute(select(User).where(User.username == "reviewer")).scalar_one_or_none()
    decided = 0
    already = session.execute(
        select(Sanction.id).where(Sanction.status == SanctionStatus.DECIDED)
    ).first()
    if reviewer is not None and already is None:
        for proposal in list(
            session.execute(
                select(Sanction).where(
                    Sanction.status == SanctionStatus.PROPOSED, Sanction.by_threshold.is_(True)
                )
            ).scalars()
        )[:1]:
            sanctions.decide(
                session,
                actor=reviewer,
                sanction_id=proposal.id,
                approve=True,
                decision="评审态度问题属实，予以警告",
                ends_on="",
                evidence=None,
                files=None,  # a warning needs no file
                rules=rules,
                now=proposal.proposed_at + timedelta(days=1),
            )
            decided += 1
    objected = 0
    for user_id, session_id, at in poorly[:1]:
        expert = session.execute(
            select(Expert).where(Expert.user_id == user_id)
        ).scalar_one_or_none()
        if (
            expert is None
            or session.execute(select(Objection.id).where(Objection.expert_id == expert.id)).first()
        ):
            continue
        sanctions.object_to(
            session,
            expert=expert,
            session_id=session_id,
            text="当天因单位紧急事务接听电话，已向主持人说明，请复核",
            rules=rules,
            now=at + timedelta(days=1),
        )
        objected += 1
    return f"{posted} sessions rated and posted, {decided} sanction decided, {objected} objection"
