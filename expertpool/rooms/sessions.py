"""Evaluation sessions in the app: create one from a panel, list them, read their room.

A session is created from a :class:`PanelDescription` (plain data), so whatever produces an
opened panel (the draw, a test, the demo) hands it over the same way. The room's collaborators
(identity, password check, check-in codes, conflicts, replacements) are in
:mod:`expertpool.rooms.adapters`, built by `create_app`.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from evaluation_room._codec import decode
from evaluation_room.adapters import SystemClock
from evaluation_room.errors import RoomError
from evaluation_room.model import ParticipantSpec, Role, RoomSettings, Venue
from evaluation_room.room import EvaluationRoom
from evaluation_room.scoring import Bid, RankingTieRule, ScoreForm, ScoringSettings
from expertpool.accounts.models import User
from expertpool.core.config import Config
from expertpool.core.db import utcnow
from expertpool.core.errors import NotFound, ValidationFailed
from expertpool.core.keys import KeyStore
from expertpool.core.tokens import ExpertTokens
from expertpool.events import events
from expertpool.projects.models import Project
from expertpool.projects.projects import project_rules
from expertpool.regimes.rules import RuleSet
from expertpool.rooms import sealing
from expertpool.rooms.models import EvaluationSession, RoomParticipant
from expertpool.rooms.store import dumps, write_trail

log = logging.getLogger("expertpool.room")


@dataclass(frozen=True)
class SeatSpec:
    """A committee member of the panel: who, as what, where (venue id) and which seat."""

    user_id: int
    role: str = "expert"  # expert | representative
    venue: str = ""
    seat: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class StaffSpec:
    """A host (with venue) or a supervisor (venue empty)."""

    user_id: int
    venue: str = ""


@dataclass(frozen=True)
class VenueSpec:
    """A venue of the session; exactly one is the main venue."""

    venue_id: str
    name: str
    is_main: bool = False


@dataclass(frozen=True)
class PanelDescription:
    """An opened panel as data: the project and lot, venues, members, hosts, supervisors, form."""

    title: str
    project_code: str
    lot: str
    venues: Sequence[VenueSpec]
    members: Sequence[SeatSpec]
    hosts: Sequence[StaffSpec]
    supervisors: Sequence[StaffSpec] = ()
    project_id: int | None = None
    starts_at: datetime | None = None
    form: dict[str, Any] | None = None
    bids: Sequence[dict[str, Any]] = ()
    """Opened bids (bidder_code, bidder_name, price as a string, checks); hosts may also enter
    them.
    """
    options: dict[str, Any] = field(default_factory=dict)


STANDARD_FORM: dict[str, Any] = {
    "items": [
        {
            "item_id": "price",
            "name": "价格分",
            "kind": "objective",
            "minimum": "0",
            "maximum": "30",
            "step": "0.01",
            "weight": "1",
            "formula": "lowest_price",
            "params": {},
            "category": "price",
            "criteria": "以最低的有效投标价为基准价，价格分=基准价/投标报价×30",
        },
        {
            "item_id": "tech",
            "name": "技术方案",
            "kind": "subjective",
            "minimum": "0",
            "maximum": "50",
            "step": "0.5",
            "weight": "1",
            "formula": None,
            "params": {},
            "category": "technical",
            "criteria": "方案完整、响应全部技术要求的得40-50分；基本响应的得20-40分；其余0-20分",
        },
        {
            "item_id": "service",
            "name": "售后服务",
            "kind": "subjective",
            "minimum": "0",
            "maximum": "20",
            "step": "0.5",
            "weight": "1",
            "formula": None,
            "params": {},
            "category": "commercial",
            "criteria": "本地服务网点、响应时间及质保期",
        },
    ]
}
"""A goods-procurement form (lowest-price formula plus two subjective items): the default."""


def decode_form(data: Any) -> ScoreForm:
    """A score form from its JSON shape (a room snapshot's or a stored template's)."""
    form: ScoreForm = decode(ScoreForm, data)
    return form


def new_participant_id() -> str:
    """An opaque participant id (reveals neither user nor seat)."""
    return "p" + secrets.token_hex(8)


def room_settings(cfg: Config) -> RoomSettings:
    """The room settings from the app's configuration."""
    return RoomSettings(
        scoring=ScoringSettings(
            drops_extremes=cfg.drop_extremes,
            deviation_threshold_pct=Decimal(cfg.deviation_percent),
        ),
        min_committee_size=cfg.committee_min_members,
        code_ttl_seconds=cfg.checkin_code_ttl_minutes * 60,
    )


def with_rules(
    settings: RoomSettings, rules: RuleSet, *, kind: str, budget_fen: int, is_complex: bool
) -> RoomSettings:
    """The room settings under a project's rules: committee size and share, who may lead, the
    price-weight range for the project's kind, the small-enterprise deduction, the tie rule and
    the number of candidates, the review stages' majority rule and the share below which a low
    score needs a reason. The room receives them as plain values.
    """
    weights = rules.price_weight_pct.get(kind)
    return replace(
        settings,
        min_committee_size=rules.committee_minimum(budget_fen=budget_fen, is_complex=is_complex),
        is_odd_size_required=rules.committee_odd,
        min_expert_share=rules.expert_share,
        representatives_may_lead=rules.representative_may_lead,
        review_majority=rules.review_majority,
        scoring=replace(
            settings.scoring,
            max_candidates=rules.max_candidates,
            tie_rule=RankingTieRule(rules.tie_rule),
            small_enterprise_deduction_pct=rules.small_enterprise_deduction_pct,
            price_weight_pct=(Decimal(weights[0]), Decimal(weights[1])) if weights else None,
            low_score_reason_pct=rules.low_score_reason_pct,
        ),
    )


def create_session(
    session: Session, panel: PanelDescription, *, actor: str, settings: RoomSettings, keys: KeyStore
) -> EvaluationSession:
    """Create and store a session (scheduled) from ``panel``; commits; returns the row.

    A panel of a project follows the project's pinned rules (`with_rules`).
    """
    small: set[str] = set()
    project: Project | None = None
    if panel.project_id is not None:
        project = session.get(Project, panel.project_id)
        if project is None:
            raise ValidationFailed(fields={"project": "no such project"})
        # the small/micro-enterprise declarations come with the bids the project recorded
        small = {b.credit_code for b in project.bidders if b.is_small_enterprise}
        settings = with_rules(
            settings,
            project_rules(session, project),
            kind=project.kind.value,
            budget_fen=project.budget_fen,
            is_complex=project.is_complex,
        )

    def replace_declared(bid: Bid) -> Bid:
        return replace(bid, is_small_enterprise=bid.is_small_enterprise or bid.bidder_code in small)

    people = _load_users(session, panel)
    specs: list[ParticipantSpec] = []
    phones: dict[str, str] = {}
    for m in panel.members:
        if m.role not in ("expert", "representative"):
            raise ValidationFailed(fields={"members": f"unknown role {m.role}"})
        spec = ParticipantSpec(
            new_participant_id(),
            str(m.user_id),
            people[m.user_id].display_name,
            Role(m.role),
            m.venue,
            m.seat,
        )
        specs.append(spec)
        if m.phone:
            phones[spec.participant_id] = m.phone
    for h in panel.hosts:
        specs.append(
            ParticipantSpec(
                new_participant_id(),
                str(h.user_id),
                people[h.user_id].display_name,
                Role.HOST,
                h.venue,
            )
        )
    for s in panel.supervisors:
        specs.append(
            ParticipantSpec(
                new_participant_id(),
                str(s.user_id),
                people[s.user_id].display_name,
                Role.SUPERVISOR,
            )
        )
    room_id = "r" + secrets.token_hex(8)
    try:
        room = EvaluationRoom.create(
            room_id,
            project={"code": panel.project_code, "lot": panel.lot, "title": panel.title},
            venues=[Venue(v.venue_id, v.name, v.is_main) for v in panel.venues],
            participants=specs,
            clock=SystemClock(),
            settings=settings,
            actor_id=None,
        )
        if panel.form is not None or panel.bids:
            main_host = next(
                s.participant_id
                for s in specs
                if s.role is Role.HOST
                and any(v.is_main and v.venue_id == s.venue_id for v in panel.venues)
            )
            if panel.form is not None:
                room.set_form(main_host, decode(ScoreForm, panel.form))
            if panel.bids:
                room.set_bids(main_host, [replace_declared(decode(Bid, b)) for b in panel.bids])
    except RoomError as exc:
        raise ValidationFailed(exc.message, fields=exc.fields or {"panel": exc.message}) from None
    except (StopIteration, TypeError, ValueError, KeyError) as exc:
        raise ValidationFailed(fields={"panel": f"invalid: {exc}"}) from None
    now = utcnow()
    state_data = room.to_state()
    row = EvaluationSession(
        room_id=room_id,
        project_id=panel.project_id,
        title=panel.title,
        phase=state_data["phase"],
        seq=room.seq,
        state=sealing.seal(keys, room_id, dumps(state_data)),
        participant_count=0,
        starts_at=panel.starts_at,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    try:
        session.add(row)
        session.flush()
        write_trail(
            session,
            row.id,
            state_data,
            room.drain_events(),
            known_participants=0,
            phones=phones,
            keys=keys,
        )
        if project is not None:
            events.emit(
                session,
                centre_id=project.owner_centre_id,
                event_type="session.opened",
                data={
                    "project_id": project.id,
                    "lot": panel.lot,
                    "room_id": room_id,
                    "phase": str(state_data["phase"]),
                },
                now=now,
            )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return row


def _load_users(session: Session, panel: PanelDescription) -> dict[int, User]:
    ids = {m.user_id for m in panel.members} | {h.user_id for h in panel.hosts}
    ids |= {s.user_id for s in panel.supervisors}
    found = {u.id: u for u in session.execute(select(User).where(User.id.in_(ids))).scalars()}
    missing = sorted(ids - set(found))
    if missing:
        raise ValidationFailed(fields={"users": f"unknown user ids: {missing}"})
    return found


def get_session(session: Session, room_id: str) -> EvaluationSession:
    """Return the session row or raise NotFound."""
    row = session.execute(
        select(EvaluationSession).where(EvaluationSession.room_id == room_id)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound()
    return row


def sessions_of(
    session: Session, user: User, keys: KeyStore
) -> list[tuple[EvaluationSession, str]]:
    """Sessions the user takes part in, newest first, with the user's room role."""
    rows = session.execute(
        select(EvaluationSession, RoomParticipant.role)
        .join(RoomParticipant, RoomParticipant.session_id == EvaluationSession.id)
        .where(RoomParticipant.user_token == ExpertTokens(keys).user_token(user.id))
        .order_by(EvaluationSession.id.desc())
    ).all()
    seen: set[int] = set()
    out: list[tuple[EvaluationSession, str]] = []
    for row, role in rows:
        if row.id not in seen:
            seen.add(row.id)
            out.append((row, role))
    return out


def sessions_for_project(session: Session, project_id: int) -> list[EvaluationSession]:
    """A project's sessions (one per lot), oldest first."""
    return list(
        session.execute(
            select(EvaluationSession)
            .where(EvaluationSession.project_id == project_id)
            .order_by(EvaluationSession.id)
        ).scalars()
    )


def all_sessions(session: Session) -> list[EvaluationSession]:
    """Every session, newest first (supervisors and administrators)."""
    return list(
        session.execute(select(EvaluationSession).order_by(EvaluationSession.id.desc())).scalars()
    )


def state_of(row: EvaluationSession, keys: KeyStore) -> dict[str, Any]:
    """A stored session's state (opened with the key files)."""
    return sealing.open_state(keys, row.room_id, row.state)


def room_of(row: EvaluationSession, keys: KeyStore) -> EvaluationRoom:
    """The room model of a stored session (read-only use: reports, pages)."""
    return EvaluationRoom.from_state(state_of(row, keys), SystemClock())


def participant_of(row: EvaluationSession, user: User, keys: KeyStore) -> str | None:
    """The user's active participant id in this session, if any."""
    try:
        return room_of(row, keys).participant_for_user(str(user.id))
    except RoomError:
        return None
