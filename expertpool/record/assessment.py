"""Assessment after each session: who may rate whom, the ratings, the facts the system sees,
and the posting of a session to the experts' records after the project's close.

Rating opens at the room's close (its `archived` event; a tender failed or cancelled before that
closes at the outcome) and stays open `rating_window_days`; each venue's host rates the members
seated at their venue by name, the main venue's host also the remote members by alias, the
tenderer's contact every expert member by alias; the session's supervisors see everything and
set system facts aside with a reason. Until posting, nothing stored names an expert: ratings and
waivers name the member by the room's opaque participant id, comments are sealed, and the facts
are computed from the sealed room whenever they are shown. Posting (once the project is closed
and the window has passed, or earlier by a session supervisor's act) writes the clear rows and
the credit events. Refused acts write nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from evaluation_room.model import Role
from expertpool.accounts.models import User, UserRole
from expertpool.core import audit
from expertpool.core.calendar import cst_date
from expertpool.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from expertpool.core.keys import KeyStore
from expertpool.core.texts import _l
from expertpool.core.tokens import ExpertTokens
from expertpool.draws.models import Draw
from expertpool.experts.models import Expert
from expertpool.fees.attendance import SessionFacts, session_facts
from expertpool.notifications.models import InvitationRecord, InvitationState
from expertpool.organisations import directory
from expertpool.projects.projects import supervises
from expertpool.record import credit
from expertpool.record.credit_rules import CreditRules, rating_rule
from expertpool.record.models import (
    Fact,
    FactKind,
    FactWaiver,
    Posting,
    RaterRole,
    Rating,
)
from expertpool.rooms import sealing
from expertpool.rooms.models import EvaluationSession, RoomEventRow
from expertpool.rooms.sessions import get_session, room_of, state_of

CRITERIA = ("punctuality", "competence", "fairness", "discipline")
CRITERIA_LABELS = {
    "punctuality": _l("Punctuality"),
    "competence": _l("Competence"),
    "fairness": _l("Fairness"),
    "discipline": _l("Discipline"),
}
FACT_LABELS = {
    FactKind.ABSENT: _l("Accepted, then absent"),
    FactKind.LATE_CHECK_IN: _l("Late check-in"),
    FactKind.LEFT_EARLY: _l("Left early"),
    FactKind.WITHDREW_WITHOUT_CAUSE: _l("Withdrew without cause"),
    FactKind.DEVIATION_EXPLANATION_REFUSED: _l("Deviation explanation refused"),
    FactKind.COMPLAINT_UPHELD: _l("Complaint upheld"),
}


@dataclass(frozen=True)
class Member:
    """A committee expert of the session, as one viewer may see them."""

    participant_id: str
    alias: str
    name: str  # empty when the viewer sees the alias only
    venue_id: str
    venue_name: str
    is_remote: bool
    user_id: int
    may_rate: bool


@dataclass(frozen=True)
class SeenFact:
    """A fact the system sees in the sealed room (before posting) about one member."""

    participant_id: str
    kind: FactKind
    detail: str
    occurred_at: datetime
    waived_reason: str


@dataclass(frozen=True)
class Assessment:
    """One session's assessment as one viewer may see it."""

    row: EvaluationSession
    facts: SessionFacts
    viewer: str  # supervisor | host | main_host | tenderer
    members: tuple[Member, ...]
    ratings: tuple[Rating, ...]
    seen_facts: tuple[SeenFact, ...]
    posting: Posting | None
    opens_at: datetime | None
    closes_at: datetime | None

    @property
    def is_project_closed(self) -> bool:
        """Whether the project (or, without one, the room) is closed."""
        return self.facts.outcome != "open"

    def may_rate_now(self, now: datetime) -> bool:
        """Whether the viewer may enter ratings at `now`."""
        return (
            self.viewer != "supervisor"
            and self.posting is None
            and self.opens_at is not None
            and self.closes_at is not None
            and self.opens_at <= now < self.closes_at
        )


def room_closed_at(
    session: Session, row: EvaluationSession, facts: SessionFacts
) -> datetime | None:
    """When rating opens: the room's `archived` event, else a failed or cancelled outcome."""
    archived = session.execute(
        select(RoomEventRow.occurred_at).where(
            RoomEventRow.session_id == row.id, RoomEventRow.kind == "archived"
        )
    ).scalar_one_or_none()
    return archived or (facts.closed_at if facts.outcome != "open" else None)


def posting_of(session: Session, session_id: int) -> Posting | None:
    """The session's posting, if posted."""
    return session.get(Posting, session_id)


def _viewer(
    session: Session, user: User, row: EvaluationSession, facts: SessionFacts, keys: KeyStore
) -> tuple[str, str | None] | None:
    """The viewer's place in the assessment (and their venue), or None."""
    state = state_of(row, keys)
    room = room_of(row, keys)
    main = next((str(v["venue_id"]) for v in state["venues"] if v.get("is_main")), "")
    for pid in room.participant_ids():
        p = room.participant(pid)
        if p.user_id != str(user.id):
            continue
        if p.role is Role.SUPERVISOR:
            return "supervisor", None
        if p.role is Role.HOST:
            return ("main_host" if p.venue_id == main else "host"), p.venue_id
    project = facts.project
    if project is None:
        return None
    if user.role is UserRole.ORG_CONTACT and (
        directory.role_on(directory.organisation_of(session, user), project) == "tenderer"
    ):
        return "tenderer", None
    if facts.outcome != "open" and supervises(session, user, project):
        return "supervisor", None  # the project's auditors, after the close
    return None


def assessment(
    session: Session, room_id: str, user: User, keys: KeyStore, rules: CreditRules
) -> Assessment:
    """The session's assessment for `user`, or NotFound when the table gives them nothing.

    Hosts and the tenderer's contact have it until posting; after the project's close the
    session's supervisors and the project's supervisors (its auditors) read it.
    """
    row = get_session(session, room_id)
    facts = session_facts(session, row, keys)
    closed_at = room_closed_at(session, row, facts)
    place = _viewer(session, user, row, facts, keys)
    posting = posting_of(session, row.id)
    if place is None or closed_at is None:
        raise NotFound()
    viewer, venue = place
    if viewer != "supervisor" and posting is not None:
        raise NotFound()
    room = room_of(row, keys)
    state = state_of(row, keys)
    main = next((str(v["venue_id"]) for v in state["venues"] if v.get("is_main")), "")
    members = []
    for m in facts.members:
        p = room.participant(m.participant_id)
        seated_here = venue is not None and m.venue_id == venue
        remote = m.venue_id != main
        if viewer == "supervisor":
            shown, may = True, False
        elif viewer == "host":
            shown, may = seated_here, seated_here
        elif viewer == "main_host":
            shown, may = seated_here, seated_here or remote
        else:
            shown, may = False, True
        if not (shown or may):
            continue
        members.append(
            Member(
                participant_id=m.participant_id,
                alias=p.alias or "",
                name=m.name if shown else "",
                venue_id=m.venue_id,
                venue_name=room.venue_name(m.venue_id),
                is_remote=remote,
                user_id=m.user_id,
                may_rate=may,
            )
        )
    pids = {m.participant_id for m in members}
    ratings = [
        r
        for r in session.execute(
            select(Rating).where(Rating.session_id == row.id).order_by(Rating.id)
        ).scalars()
        if r.participant_id in pids and (viewer == "supervisor" or r.rater == user.username)
    ]
    seen = (
        tuple(f for f in seen_facts(session, row, keys, rules) if f.participant_id in pids)
        if viewer != "tenderer"
        else ()
    )
    return Assessment(
        row=row,
        facts=facts,
        viewer=viewer,
        members=tuple(members),
        ratings=tuple(ratings),
        seen_facts=seen,
        posting=posting,
        opens_at=closed_at,
        closes_at=closed_at + timedelta(days=rules.rating_window_days),
    )


def comment_of(row: EvaluationSession, rating: Rating, keys: KeyStore) -> str:
    """A rating's comment (opened with the key files before posting)."""
    if rating.posted_at is not None:
        return rating.comment
    if not rating.comment_sealed:
        return ""
    return sealing.open_text(keys, f"{row.room_id}/{rating.participant_id}", rating.comment_sealed)


def _marks(form: dict[str, Any]) -> tuple[dict[str, int], dict[str, str]]:
    marks: dict[str, int] = {}
    errors: dict[str, str] = {}
    for c in CRITERIA:
        raw = str(form.get(c, "")).strip()
        if raw not in ("1", "2", "3", "4", "5"):
            errors[c] = _("Choose a mark from 1 to 5.")
        else:
            marks[c] = int(raw)
    return marks, errors


def rate(
    session: Session,
    *,
    room_id: str,
    user: User,
    keys: KeyStore,
    rules: CreditRules,
    participant_id: str,
    form: dict[str, Any],
    now: datetime,
) -> Rating:
    """Record (or replace) the viewer's rating of one member; commits. A mark at or below the
    rules' `low_mark` needs a comment."""
    view = assessment(session, room_id, user, keys, rules)
    if not view.may_rate_now(now):
        raise Conflict(
            str(_l("Ratings are entered from the room's close until the rating window ends.")),
            code="rating_closed",
        )
    member = next((m for m in view.members if m.participant_id == participant_id), None)
    if member is None or not member.may_rate:
        raise Forbidden(str(_l("You may not rate this member.")), code="not_your_member")
    marks, errors = _marks(form)
    comment = str(form.get("comment", "")).strip()
    if len(comment) > 2000:
        errors["comment"] = _("At most 2,000 characters.")
    elif marks and min(marks.values()) <= rules.low_mark and not comment:
        errors["comment"] = _("A mark of %(n)d or lower needs a comment.", n=rules.low_mark)
    if errors:
        raise ValidationFailed(fields=errors)
    role = (
        RaterRole.TENDERER
        if view.viewer == "tenderer"
        else (RaterRole.MAIN_HOST if view.viewer == "main_host" else RaterRole.HOST)
    )
    rating = session.execute(
        select(Rating).where(
            Rating.session_id == view.row.id,
            Rating.participant_id == participant_id,
            Rating.rater == user.username,
        )
    ).scalar_one_or_none()
    if rating is None:
        rating = Rating(
            session_id=view.row.id,
            participant_id=participant_id,
            rater=user.username,
            rater_role=role,
            punctuality=0,
            competence=0,
            fairness=0,
            discipline=0,
        )
        session.add(rating)
    for c, v in marks.items():
        setattr(rating, c, v)
    rating.comment_sealed = (
        sealing.seal(keys, f"{view.row.room_id}/{participant_id}", comment) if comment else ""
    )
    rating.created_at = now
    session.flush()
    audit.record(
        session,
        actor=user.username,
        action="record.rated",
        object_type="evaluation_session",
        object_id=view.row.room_id,
        # The member by alias only, as the room's audit entries name them before the close.
        after={"member": member.alias, "as": role.value},
    )
    session.commit()
    return rating


def seen_facts(
    session: Session, row: EvaluationSession, keys: KeyStore, rules: CreditRules
) -> list[SeenFact]:
    """The facts the system sees in the sealed room, with any waiver."""
    facts = session_facts(session, row, keys)
    state = state_of(row, keys)
    room = room_of(row, keys)
    waivers = {
        (w.participant_id, w.kind): w.reason
        for w in session.execute(
            select(FactWaiver).where(FactWaiver.session_id == row.id)
        ).scalars()
    }
    reasons: dict[str, str] = {}
    for (data,) in session.execute(
        select(RoomEventRow.data).where(
            RoomEventRow.session_id == row.id,
            RoomEventRow.kind.in_(("member_replaced", "member_removed")),
        )
    ):
        d = json.loads(data)
        if d.get("member_id"):
            reasons.setdefault(str(d["member_id"]), str(d.get("reason") or ""))
    voided = {
        str(f.get("member_id"))
        for f in (state.get("flags") or {}).values()
        if isinstance(f, dict) and f.get("status") == "voided"
    }
    start = row.starts_at
    end = facts.closed_at or row.updated_at
    out: list[SeenFact] = []

    def add(pid: str, kind: FactKind, detail: str, at: datetime) -> None:
        out.append(SeenFact(pid, kind, detail, at, waivers.get((pid, kind), "")))

    for m in facts.members:
        p = room.participant(m.participant_id)
        if m.checked_in_at is None:
            add(m.participant_id, FactKind.ABSENT, reasons.get(m.participant_id, ""), start or end)
            continue
        if start is not None and m.checked_in_at > start + timedelta(minutes=rules.late_minutes):
            late = int((m.checked_in_at - start).total_seconds() // 60)
            add(m.participant_id, FactKind.LATE_CHECK_IN, f"{late} min", m.checked_in_at)
        if m.left_at is not None:
            add(m.participant_id, FactKind.LEFT_EARLY, reasons.get(m.participant_id, ""), m.left_at)
            if m.participant_id in voided and p.status.value != "active":
                add(
                    m.participant_id,
                    FactKind.DEVIATION_EXPLANATION_REFUSED,
                    "",
                    m.left_at,
                )
    return out


def waive_fact(
    session: Session,
    *,
    room_id: str,
    user: User,
    keys: KeyStore,
    rules: CreditRules,
    participant_id: str,
    kind: str,
    reason: str,
) -> None:
    """A session supervisor sets a seen fact aside with a reason (before posting); commits."""
    view = assessment(session, room_id, user, keys, rules)
    if view.viewer != "supervisor" or view.posting is not None:
        raise Forbidden(
            str(_l("Only a supervisor of the session sets a fact aside, before posting."))
        )
    fact = next(
        (f for f in view.seen_facts if f.participant_id == participant_id and f.kind.value == kind),
        None,
    )
    if fact is None:
        raise ValidationFailed(fields={"kind": _("No such fact.")})
    reason = reason.strip()
    if not reason or len(reason) > 1000:
        raise ValidationFailed(fields={"reason": _("Give the reason (at most 1,000 characters).")})
    session.add(
        FactWaiver(
            session_id=view.row.id,
            participant_id=participant_id,
            kind=fact.kind,
            reason=reason,
            decided_by=user.username,
        )
    )
    alias = next(m.alias for m in view.members if m.participant_id == participant_id)
    audit.record(
        session,
        actor=user.username,
        action="record.fact_set_aside",
        object_type="evaluation_session",
        object_id=view.row.room_id,
        after={"member": alias, "fact": fact.kind.value},
    )
    session.commit()


def _withdrawals(session: Session, facts: SessionFacts, keys: KeyStore) -> dict[int, datetime]:
    """Experts (by id) who withdrew after accepting an invitation of the project's draws."""
    project = facts.project
    if project is None:
        return {}
    draw_ids = list(
        session.execute(select(Draw.draw_id).where(Draw.project_id == project.id)).scalars()
    )
    if not draw_ids:
        return {}
    rows = session.execute(
        select(InvitationRecord.expert_token, InvitationRecord.updated_at).where(
            InvitationRecord.draw_id.in_(draw_ids),
            InvitationRecord.state == InvitationState.WITHDRAWN,
        )
    ).all()
    if not rows:
        return {}
    tokens = ExpertTokens(keys).tokens(list(session.execute(select(Expert.id)).scalars()))
    return {tokens[t]: at for t, at in rows if t in tokens}


def post_session(
    session: Session,
    *,
    row: EvaluationSession,
    keys: KeyStore,
    rules: CreditRules,
    actor: str,
    now: datetime,
    force: bool = False,
    commit: bool = True,
) -> Posting:
    """Post a closed session's ratings and facts to the experts' records; commits.

    Refused before the project's close (it would name the experts), and before the rating window
    ends unless `force` (a session supervisor's act). Posting twice returns the first posting.
    """
    done = posting_of(session, row.id)
    if done is not None:
        return done
    facts = session_facts(session, row, keys)
    closed_at = room_closed_at(session, row, facts)
    if facts.outcome == "open" or closed_at is None:
        raise Conflict(str(_l("A session is posted after the project's close.")), code="not_closed")
    if not force and now < closed_at + timedelta(days=rules.rating_window_days):
        raise Conflict(str(_l("The rating window is still open.")), code="window_open")
    posting = Posting(
        session_id=row.id,
        project_id=row.project_id,
        rules_version=rules.version,
        posted_by=actor,
        posted_at=now,
    )
    session.add(posting)
    experts = {
        m.user_id: session.execute(
            select(Expert).where(Expert.user_id == m.user_id)
        ).scalar_one_or_none()
        for m in facts.members
    }
    by_pid = {m.participant_id: m for m in facts.members}
    day = cst_date(closed_at)
    touched: set[int] = set()
    for rating in session.execute(select(Rating).where(Rating.session_id == row.id)).scalars():
        member = by_pid.get(rating.participant_id)
        if member is None:
            continue
        rating.comment = comment_of(row, rating, keys)
        rating.comment_sealed = ""
        rating.user_id = member.user_id
        rating.posted_at = now
        expert = experts.get(member.user_id)
        rule = rating_rule(rating.average)
        if expert is not None and rule is not None:
            session.flush()
            credit.add_event(
                session,
                expert=expert,
                rules=rules,
                rule=rule,
                day=day,
                actor=actor,
                session_id=row.id,
                project_id=row.project_id,
                rating_id=rating.id,
            )
            touched.add(expert.id)
    for f in seen_facts(session, row, keys, rules):
        member = by_pid[f.participant_id]
        expert = experts.get(member.user_id)
        if expert is None:
            continue
        fact = Fact(
            expert_id=expert.id,
            kind=f.kind,
            session_id=row.id,
            project_id=row.project_id,
            detail=f.detail,
            occurred_at=f.occurred_at,
            waived_reason=f.waived_reason,
            recorded_by="system",
        )
        session.add(fact)
        session.flush()
        if not f.waived_reason:
            credit.add_event(
                session,
                expert=expert,
                rules=rules,
                rule=f.kind.value,
                day=day,
                actor=actor,
                session_id=row.id,
                project_id=row.project_id,
                fact_id=fact.id,
            )
            touched.add(expert.id)
    for expert_id, at in _withdrawals(session, facts, keys).items():
        expert = session.get(Expert, expert_id)
        if expert is None:
            continue
        fact = Fact(
            expert_id=expert_id,
            kind=FactKind.WITHDREW_WITHOUT_CAUSE,
            session_id=row.id,
            project_id=row.project_id,
            occurred_at=at,
            recorded_by="system",
        )
        session.add(fact)
        session.flush()
        credit.add_event(
            session,
            expert=expert,
            rules=rules,
            rule=fact.kind.value,
            day=day,
            actor=actor,
            session_id=row.id,
            project_id=row.project_id,
            fact_id=fact.id,
        )
        touched.add(expert_id)
    for expert_id in sorted(touched):
        credit.refresh(
            session,
            expert=session.get(Expert, expert_id),
            rules=rules,
            today=cst_date(now),
            actor=actor,
        )
    audit.record(
        session,
        actor=actor,
        action="record.session_posted",
        object_type="evaluation_session",
        object_id=row.room_id,
        after={"rules_version": rules.version, "forced": force},
    )
    if commit:
        session.commit()
    else:
        session.flush()
    return posting


def post_due(
    session: Session,
    keys: KeyStore,
    rules: CreditRules,
    *,
    now: datetime,
    actor: str,
    commit: bool = True,
) -> int:
    """Post every closed session whose rating window has ended (each committed unless `commit`
    is false: the daily upkeep commits them with its run). Returns how many."""
    posted = set(session.execute(select(Posting.session_id)).scalars())
    n = 0
    for row in session.execute(select(EvaluationSession).order_by(EvaluationSession.id)).scalars():
        if row.id in posted:
            continue
        try:
            # Refused before anything is written, so the caller's transaction stays as it was.
            post_session(
                session, row=row, keys=keys, rules=rules, actor=actor, now=now, commit=commit
            )
        except Conflict:
            continue
        n += 1
    return n
