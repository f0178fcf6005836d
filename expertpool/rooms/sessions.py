"""Evaluation sessions in the app: create one from a panel, and the room's collaborators.

A session is created from a :class:`PanelDescription` (plain data), so whatever produces an
opened panel (the draw, a test, the demo) hands it over the same way. The collaborators the
room needs (identity, password check, check-in codes by SMS, conflicts, replacements) are
looked up per call in the app's state, so later features register theirs in
``state().services`` without touching this module: ``"notifier"`` (a notify/ Notifier),
``"phone_for_user"`` (user id -> E.164 number), ``"room_conflicts"`` (a ConflictChecker) and
``"room_replacements"`` (a ReplacementProvider).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import session as flask_session
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from evaluation_room._codec import decode
from evaluation_room.errors import RoomError
from evaluation_room.model import MemberRef, ParticipantSpec, Role, RoomSettings, Venue
from evaluation_room.ports import ConflictChecker, ReplacementProvider
from evaluation_room.room import EvaluationRoom
from evaluation_room.scoring import Bid, ScoreForm, ScoringSettings
from expertpool.accounts import users
from expertpool.accounts.models import User, UserRole
from expertpool.core.db import read_connection, utcnow
from expertpool.core.errors import NotFound, ValidationFailed
from expertpool.core.pii import PiiCipher
from expertpool.core.state import state
from expertpool.demo import runner as demo
from expertpool.rooms.models import EvaluationSession, RoomParticipant
from expertpool.rooms.store import dumps, write_trail
from notify.base import NotificationError
from notify.console import ConsoleNotifier
from notify.voice import check_in_code_sms

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
    """Opened bids (bidder_code, bidder_name, price as a string, checks); hosts may also enter them."""
    options: dict[str, Any] = field(default_factory=dict)


STANDARD_FORM: dict[str, Any] = {
    "items": [
        {"item_id": "price", "name": "价格分", "kind": "objective", "minimum": "0", "maximum": "30",
         "step": "0.01", "weight": "1", "formula": "lowest_price", "params": {}},
        {"item_id": "tech", "name": "技术方案", "kind": "subjective", "minimum": "0", "maximum": "50",
         "step": "0.5", "weight": "1", "formula": None, "params": {}},
        {"item_id": "service", "name": "售后服务", "kind": "subjective", "minimum": "0", "maximum": "20",
         "step": "0.5", "weight": "1", "formula": None, "params": {}},
    ]
}  # fmt: skip
"""A goods-procurement form (lowest-price formula plus two subjective items): the default."""


def new_participant_id() -> str:
    """An opaque participant id (reveals neither user nor seat)."""
    return "p" + secrets.token_hex(8)


def room_settings() -> RoomSettings:
    """The room settings from the app's configuration."""
    cfg = state().config
    return RoomSettings(
        scoring=ScoringSettings(
            drops_extremes=cfg.drop_extremes,
            deviation_threshold_pct=Decimal(cfg.deviation_percent),
        ),
        min_committee_size=cfg.committee_min_members,
        code_ttl_seconds=cfg.checkin_code_ttl_minutes * 60,
    )


def create_session(session: Session, panel: PanelDescription, *, actor: str) -> EvaluationSession:
    """Create and store a session (scheduled) from ``panel``; commits; returns the row."""
    from evaluation_room.adapters import SystemClock

    people = _load_users(session, panel)
    specs: list[ParticipantSpec] = []
    phones: dict[str, str] = {}
    for m in panel.members:
        if m.role not in ("expert", "representative"):
            raise ValidationFailed(fields={"members": f"unknown role {m.role}"})
        spec = ParticipantSpec(new_participant_id(), str(m.user_id), people[m.user_id].display_name,
                               Role(m.role), m.venue, m.seat)  # fmt: skip
        specs.append(spec)
        if m.phone:
            phones[spec.participant_id] = m.phone
    for h in panel.hosts:
        specs.append(ParticipantSpec(new_participant_id(), str(h.user_id),
                                     people[h.user_id].display_name, Role.HOST, h.venue))  # fmt: skip
    for s in panel.supervisors:
        specs.append(ParticipantSpec(new_participant_id(), str(s.user_id),
                                     people[s.user_id].display_name, Role.SUPERVISOR))  # fmt: skip
    room_id = "r" + secrets.token_hex(8)
    try:
        room = EvaluationRoom.create(
            room_id,
            project={"code": panel.project_code, "lot": panel.lot, "title": panel.title},
            venues=[Venue(v.venue_id, v.name, v.is_main) for v in panel.venues],
            participants=specs,
            clock=SystemClock(),
            settings=room_settings(),
            actor_id=None,
        )
        if panel.form is not None or panel.bids:
            main_host = next(s.participant_id for s in specs if s.role is Role.HOST
                             and any(v.is_main and v.venue_id == s.venue_id for v in panel.venues))  # fmt: skip
            if panel.form is not None:
                room.set_form(main_host, decode(ScoreForm, panel.form))
            if panel.bids:
                room.set_bids(main_host, [decode(Bid, b) for b in panel.bids])
    except RoomError as exc:
        raise ValidationFailed(exc.message, fields=exc.fields or {"panel": exc.message}) from None
    except (StopIteration, TypeError, ValueError, KeyError) as exc:
        raise ValidationFailed(fields={"panel": f"invalid: {exc}"}) from None
    now = utcnow()
    state_data = room.to_state()
    row = EvaluationSession(room_id=room_id, project_id=panel.project_id, title=panel.title,
                            phase=state_data["phase"], seq=room.seq, state=dumps(state_data),
                            participant_count=0, starts_at=panel.starts_at, created_by=actor,
                            created_at=now, updated_at=now)  # fmt: skip
    try:
        session.add(row)
        session.flush()
        write_trail(session, row.id, state_data, room.drain_events(), known_participants=0,
                    phones=phones)  # fmt: skip
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


def sessions_of(session: Session, user: User) -> list[tuple[EvaluationSession, str]]:
    """Sessions the user takes part in, newest first, with the user's room role."""
    rows = session.execute(
        select(EvaluationSession, RoomParticipant.role)
        .join(RoomParticipant, RoomParticipant.session_id == EvaluationSession.id)
        .where(RoomParticipant.user_id == user.id)
        .order_by(EvaluationSession.id.desc())
    ).all()
    seen: set[int] = set()
    out: list[tuple[EvaluationSession, str]] = []
    for row, role in rows:
        if row.id not in seen:
            seen.add(row.id)
            out.append((row, role))
    return out


def all_sessions(session: Session) -> list[EvaluationSession]:
    """Every session, newest first (supervisors and administrators)."""
    return list(session.execute(select(EvaluationSession).order_by(EvaluationSession.id.desc())).scalars())


# --- the room's collaborators -----------------------------------------------------------------


_LOGIN_QUERY = select(User.is_active, User.password_changed_at).where(User.id == bindparam("uid"))
"""The login check of every room event (built once)."""


class SessionIdentity:
    """The user of the Socket.IO event: the login cookie, re-checked against the database."""

    def current_user_id(self) -> str | None:
        """Return the active user's id while the login (and its password stamp) is valid."""
        uid = flask_session.get("uid")
        if uid is None:
            return None
        query, params = _LOGIN_QUERY, {"uid": uid}
        st = state()
        if st.config.is_sqlite:
            # One writer at a time: stay in the thread's session (a second connection would wait).
            db = st.sessions()
            try:
                row = db.execute(query, params).first()
            finally:
                db.rollback()
        else:
            # A plain autocommit read, no ORM session: this runs before every room event and took
            # a quarter of a busy server's time through Session.get().
            with read_connection(st.engine) as conn:
                row = conn.execute(query, params).first()
        ok = row is not None and row.is_active and flask_session.get("pw") == row.password_changed_at.isoformat()
        return str(uid) if ok else None


class PasswordAuthenticator:
    """Checks a user's password before signing."""

    def verify_password(self, user_id: str, password: str) -> bool:
        """Return True when ``password`` is the user's current password."""
        db = state().sessions()
        try:
            user = db.get(User, int(user_id))
            return bool(user is not None and user.is_active and users.check_password(user, password))
        finally:
            db.rollback()


CONSOLE_PHONE = "+8613800000000"
"""Stand-in number for console delivery when a member has no mobile on record."""


class CodeNotDelivered(RoomError):
    """The check-in code was issued but could not be sent."""

    code = "code_not_delivered"


class SmsCodeSender:
    """Sends check-in codes by SMS through the app's notifier (console when none is set)."""

    def send_check_in_code(
        self, room_id: str, member: MemberRef, code: str, expires_at: datetime
    ) -> None:
        """Send the code to the member's mobile."""
        st = state()
        db = st.sessions()
        try:
            row = get_session(db, room_id)
            phone = self._phone(db, row.id, member)
            venue = next((v["name"] for v in _state(row)["venues"]
                          if v["venue_id"] == member.venue_id), "")  # fmt: skip
            starts_at = row.starts_at or utcnow()
        finally:
            db.rollback()
        notifier = notifier_of_app()
        if phone is None and not isinstance(notifier, ConsoleNotifier):
            raise CodeNotDelivered("no mobile number is known for this member: check in at the venue")
        try:
            notifier.send_sms(phone or CONSOLE_PHONE, check_in_code_sms(code, starts_at=starts_at, venue=venue))
        except NotificationError as exc:
            raise CodeNotDelivered("the check-in code could not be sent: ask for a new one") from exc
        if isinstance(notifier, ConsoleNotifier):
            # The console adapter stands in for a phone: show the code to the developer.
            log.info("check-in code for %s in room %s: %s", member.participant_id, room_id, code)

    @staticmethod
    def _phone(db: Session, session_id: int, member: MemberRef) -> str | None:
        lookup = state().services.get("phone_for_user")
        phone = lookup(int(member.user_id)) if lookup else None
        if not phone:
            row = db.execute(
                select(RoomParticipant.id, RoomParticipant.phone_encrypted).where(
                    RoomParticipant.session_id == session_id,
                    RoomParticipant.participant_id == member.participant_id,
                )
            ).one_or_none()
            if row is not None and row.phone_encrypted is not None:
                phone = PiiCipher.from_keys(state().keys).decrypt(
                    row.phone_encrypted, table="room_participant", row_id=row.id, column="phone")
        return phone or None


def notifier_of_app() -> Any:
    """The app's notifier, or one console notifier kept for this app."""
    services = state().services
    notifier = services.get("notifier")
    if notifier is None:
        notifier = services.setdefault("room_console_notifier", ConsoleNotifier())
    return notifier


class RegisteredConflicts:
    """Delegates to ``services["room_conflicts"]`` when a feature registered one."""

    def find_conflict(self, room_id: str, member: MemberRef) -> str | None:
        """Return the registered checker's answer, else None."""
        checker: ConflictChecker | None = state().services.get("room_conflicts")
        return checker.find_conflict(room_id, member) if checker else None


class RegisteredReplacements:
    """Delegates to ``services["room_replacements"]`` when a feature registered one."""

    def draw_replacement(self, room_id: str, removed: MemberRef, reason: str) -> ParticipantSpec | None:
        """Return the registered provider's replacement, else None."""
        provider: ReplacementProvider | None = state().services.get("room_replacements")
        return provider.draw_replacement(room_id, removed, reason) if provider else None


def _state(row: EvaluationSession) -> dict[str, Any]:
    import json

    data: dict[str, Any] = json.loads(row.state)
    return data


def room_of(row: EvaluationSession) -> EvaluationRoom:
    """The room model of a stored session (read-only use: reports, pages)."""
    from evaluation_room.adapters import SystemClock

    return EvaluationRoom.from_state(_state(row), SystemClock())


def participant_of(row: EvaluationSession, user: User) -> str | None:
    """The user's active participant id in this session, if any."""
    try:
        return room_of(row).participant_for_user(str(user.id))
    except RoomError:
        return None


STAFF_ROLES = (UserRole.CENTRE_STAFF, UserRole.ADMIN)


DEMO_TITLE = "演示：某市人民医院医疗设备采购（远程异地评标）"
DEMO_MEMBERS = (
    ("expert", "expert", "main"), ("expert.gz2", "expert", "main"), ("expert.gz3", "expert", "main"),
    ("expert.sz1", "expert", "second"), ("rep.sz", "representative", "second"),
)  # fmt: skip


def demo_session(session: Session, seed: int, options: dict[str, int]) -> str:
    """Demo step: a scheduled session (Guangzhou main venue, Shenzhen second venue) with bids."""
    if session.execute(select(EvaluationSession.id).where(EvaluationSession.title == DEMO_TITLE)).first():
        return "exists"
    names = {"expert.gz2": "演示专家二", "expert.gz3": "演示专家三", "expert.sz1": "演示专家四",
             "rep.sz": "招标人代表"}  # fmt: skip
    ids: dict[str, int] = {}
    for username in [m[0] for m in DEMO_MEMBERS] + ["staff.gz", "staff.sz", "supervisor"]:
        user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if user is None:
            user = users.create_user(session, actor="demo", username=username, display_name=names[username],
                                     password=demo.DEMO_PASSWORD, role="expert")  # fmt: skip
        ids[username] = user.id
    panel = PanelDescription(
        title=DEMO_TITLE, project_code="GZ-DEMO-2026-001", lot="1",
        venues=[VenueSpec("main", "广州市公共资源交易中心（主场）", True),
                VenueSpec("second", "深圳市公共资源交易中心（副场）")],
        members=[SeatSpec(ids[u], role, venue, f"{venue[:1].upper()}-{n:02d}")
                 for n, (u, role, venue) in enumerate(DEMO_MEMBERS, 1)],
        hosts=[StaffSpec(ids["staff.gz"], "main"), StaffSpec(ids["staff.sz"], "second")],
        supervisors=[StaffSpec(ids["supervisor"])],
        form=STANDARD_FORM,
        bids=[{"bidder_code": "B001", "bidder_name": "广东甲医疗科技有限公司", "price": "1280000", "checks": {"资质": True}},
              {"bidder_code": "B002", "bidder_name": "深圳乙设备有限公司", "price": "1195000", "checks": {"资质": True}},
              {"bidder_code": "B003", "bidder_name": "佛山丙贸易有限公司", "price": "1100000", "checks": {"资质": False}}],
    )  # fmt: skip
    row = create_session(session, panel, actor="demo")
    return f"session {row.room_id} (logins: expert, expert.gz2, expert.gz3, expert.sz1, rep.sz, staff.gz, staff.sz, supervisor)"


if all(step is not demo_session for _, step in demo.EXTRA_STEPS):
    demo.EXTRA_STEPS.append(("evaluation session", demo_session))


def expert_phone_for_user(user_id: int) -> str | None:
    """The mobile on an expert's record (decrypted), for check-in codes; None for other users."""
    from expertpool.experts import records
    from expertpool.experts.models import Expert

    st = state()
    db = st.sessions()
    expert = db.execute(select(Expert).where(Expert.user_id == user_id)).scalar_one_or_none()
    if expert is None or expert.phone_enc is None:
        return None
    return records.clear_pii(expert, PiiCipher.from_keys(st.keys)).get("phone") or None
