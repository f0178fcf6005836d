"""The room's collaborators in the app, each built by `create_app` with what it works with.

They implement the protocols of :mod:`evaluation_room.ports`: who is the user of an event, the
password check before signing, check-in codes by SMS (to the mobile on the expert's record, the
panel's number otherwise), and the mobile lookup itself.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import session as flask_session
from sqlalchemy import Engine, bindparam, select, update
from sqlalchemy.orm import Session, scoped_session

import notify
from evaluation_room.errors import RoomError
from evaluation_room.model import MemberRef
from expertpool.accounts import logins, users
from expertpool.accounts.models import LoginSession, User
from expertpool.core.db import read_connection, utcnow
from expertpool.core.keys import KeyStore
from expertpool.core.pii import PiiCipher
from expertpool.experts.models import Expert
from expertpool.rooms.models import RoomParticipant
from expertpool.rooms.sessions import get_session, state_of
from notify.base import NotificationError
from notify.console import ConsoleNotifier

log = logging.getLogger(__name__)


_LOGIN_QUERY = (
    select(
        User.is_active,
        User.password_changed_at,
        LoginSession.id.label("session_id"),
        LoginSession.created_at,
        LoginSession.last_seen_at,
        LoginSession.ended_at,
    )
    .join(LoginSession, LoginSession.user_id == User.id)
    .where(User.id == bindparam("uid"), LoginSession.token_hash == bindparam("token"))
)
"""The login check of every room event (built once): the account and its login session in one
round trip."""
_TOUCH = (
    update(LoginSession)
    .where(LoginSession.id == bindparam("sid"), LoginSession.ended_at.is_(None))
    .values(last_seen_at=bindparam("now"))
)


class SessionIdentity:
    """The user of the Socket.IO event: the login cookie, re-checked against the database."""

    def __init__(
        self,
        sessions: scoped_session[Session],
        engine: Engine,
        *,
        is_sqlite: bool,
        timeouts: logins.Timeouts,
    ) -> None:
        self.sessions = sessions
        self.engine = engine
        self.is_sqlite = is_sqlite
        self.timeouts = timeouts

    def current_user_id(self) -> str | None:
        """Return the active user's id while the login session (and its password stamp) is
        valid: not ended, not idle or too old; a live session's last use is noted once a minute,
        so a member scoring for hours over the socket alone is not taken for idle."""
        uid, token = flask_session.get("uid"), flask_session.get("sid")
        if uid is None or not token:
            return None
        params = {"uid": uid, "token": logins.token_hash(str(token))}
        now = utcnow()
        if self.is_sqlite:
            # One writer at a time: stay in the thread's session (a second connection would wait).
            db = self.sessions()
            try:
                row = db.execute(_LOGIN_QUERY, params).first()
                if row is not None and self._stale(row, now):
                    db.execute(_TOUCH, {"sid": row.session_id, "now": now})
                    db.commit()
            finally:
                db.rollback()
        else:
            # A plain autocommit read, no ORM session: this runs before every room event and took
            # a quarter of a busy server's time through Session.get().
            with read_connection(self.engine) as conn:
                row = conn.execute(_LOGIN_QUERY, params).first()
                if row is not None and self._stale(row, now):
                    conn.execute(_TOUCH, {"sid": row.session_id, "now": now})
        return str(uid) if self._live(row, now) else None

    def _stale(self, row: Any, now: datetime) -> bool:
        """Whether a live session's last use is old enough to be noted again."""
        return self._live(row, now) and bool(now - row.last_seen_at >= logins.TOUCH_AFTER)

    def _live(self, row: Any, now: datetime) -> bool:
        return bool(
            row is not None
            and row.is_active
            and row.ended_at is None
            and flask_session.get("pw") == row.password_changed_at.isoformat()
            and self.timeouts.expiry(row.created_at, row.last_seen_at, now) is None
        )


class PasswordAuthenticator:
    """Checks a user's password before signing."""

    def __init__(self, sessions: scoped_session[Session]) -> None:
        self.sessions = sessions

    def verify_password(self, user_id: str, password: str) -> bool:
        """Return True when ``password`` is the user's current password."""
        db = self.sessions()
        try:
            user = db.get(User, int(user_id))
            return bool(
                user is not None and user.is_active and users.check_password(user, password)
            )
        finally:
            db.rollback()


class ExpertPhones:
    """The mobile on an expert's record (decrypted), for check-in codes; None for other users."""

    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys

    def phone_for_user(self, db: Session, user_id: int) -> str | None:
        """The user's mobile when they are an expert with one on record, inside ``db``'s
        transaction.
        """
        row = db.execute(
            select(Expert.id, Expert.phone_enc).where(Expert.user_id == user_id)
        ).one_or_none()
        if row is None or row.phone_enc is None:
            return None
        cipher = PiiCipher.from_keys(self.keys)
        return cipher.decrypt(row.phone_enc, table="expert", row_id=row.id, column="phone") or None


CONSOLE_PHONE = "+8613800000000"
"""Stand-in number for console delivery when a member has no mobile on record."""


class CodeNotDelivered(RoomError):
    """The check-in code was issued but could not be sent."""

    code = "code_not_delivered"


class SmsCodeSender:
    """Sends check-in codes by SMS through the app's notifier.

    The number is the mobile on the member's expert record, else the one the panel gave; with the
    console notifier a member without a number still gets the code (logged for the developer).
    """

    def __init__(
        self,
        sessions: scoped_session[Session],
        notifier: notify.Notifier,
        phones: ExpertPhones,
        keys: KeyStore,
    ) -> None:
        self.sessions = sessions
        self.notifier = notifier
        self.phones = phones
        self.keys = keys

    def send_check_in_code(
        self, room_id: str, member: MemberRef, code: str, expires_at: datetime
    ) -> None:
        """Send the code to the member's mobile."""
        db = self.sessions()
        try:
            row = get_session(db, room_id)
            phone = self._phone(db, row.id, member)
            venue = next(
                (
                    v["name"]
                    for v in state_of(row, self.keys)["venues"]
                    if v["venue_id"] == member.venue_id
                ),
                "",
            )
            starts_at = row.starts_at or utcnow()
        finally:
            db.rollback()
        is_console = isinstance(self.notifier, ConsoleNotifier)
        if phone is None and not is_console:
            raise CodeNotDelivered(
                "no mobile number is known for this member: check in at the venue"
            )
        try:
            self.notifier.send(
                phone or CONSOLE_PHONE,
                notify.Message(
                    notify.MessageKind.CHECK_IN_CODE,
                    {"code": code, "starts_at": starts_at.isoformat(), "venue": venue},
                ),
            )
        except NotificationError as exc:
            raise CodeNotDelivered(
                "the check-in code could not be sent: ask for a new one"
            ) from exc
        if is_console:
            # The console adapter stands in for a phone: show the code to the developer.
            log.info("check-in code for %s in room %s: %s", member.participant_id, room_id, code)

    def _phone(self, db: Session, session_id: int, member: MemberRef) -> str | None:
        phone = self.phones.phone_for_user(db, int(member.user_id))
        if phone:
            return phone
        row = db.execute(
            select(RoomParticipant.id, RoomParticipant.phone_encrypted).where(
                RoomParticipant.session_id == session_id,
                RoomParticipant.participant_id == member.participant_id,
            )
        ).one_or_none()
        if row is not None and row.phone_encrypted is not None:
            return (
                PiiCipher.from_keys(self.keys).decrypt(
                    row.phone_encrypted, table="room_participant", row_id=row.id, column="phone"
                )
                or None
            )
        return None
