"""Login sessions kept on the server: started at login, checked on every request and room
event, ended at logout, on a password, role or active-flag change, by their owner, or by the
idle and absolute timeouts.

The browser's signed cookie carries a random token; the database keeps its SHA-256, so a copy of
the table does not log anyone in. A copied cookie stops working the moment its session ends.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from expertpool.accounts.models import LoginSession
from expertpool.core.errors import NotFound

TOUCH_AFTER = timedelta(seconds=60)
"""`last_seen_at` is written at most once a minute per session (not on every request)."""


@dataclass(frozen=True)
class Timeouts:
    """How long a session lives: since its last request, and since the login."""

    idle: timedelta
    absolute: timedelta

    @classmethod
    def of(cls, idle_minutes: int, absolute_hours: int) -> Timeouts:
        """The timeouts of the settings `session_idle_minutes` and `session_absolute_hours`."""
        return cls(timedelta(minutes=idle_minutes), timedelta(hours=absolute_hours))

    def expiry(self, created_at: datetime, last_seen_at: datetime, now: datetime) -> str | None:
        """Why a session seen at these times has expired by `now` ("idle", "absolute"), or
        None."""
        if now - created_at >= self.absolute:
            return "absolute"
        if now - last_seen_at >= self.idle:
            return "idle"
        return None


def token_hash(token: str) -> str:
    """The stored form of a session token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start(
    db: Session, user_id: int, *, now: datetime, address: str | None, agent: str | None
) -> str:
    """Open a session for the user and return its token (for the cookie only)."""
    token = secrets.token_urlsafe(32)
    db.add(
        LoginSession(
            user_id=user_id,
            token_hash=token_hash(token),
            created_at=now,
            last_seen_at=now,
            address=(address or "")[:45] or None,
            agent=(agent or "")[:200] or None,
        )
    )
    db.commit()
    return token


def resolve(
    db: Session, token: str | None, user_id: int, *, now: datetime, timeouts: Timeouts
) -> LoginSession | None:
    """The live session of `token` for this user, else None (an expired one is ended here).

    Notes the request in `last_seen_at` when the last note is older than `TOUCH_AFTER`.
    """
    if not token:
        return None
    row = db.execute(
        select(LoginSession).where(LoginSession.token_hash == token_hash(token))
    ).scalar_one_or_none()
    if row is None or row.user_id != user_id or row.ended_at is not None:
        return None
    reason = timeouts.expiry(row.created_at, row.last_seen_at, now)
    if reason is not None:
        row.ended_at, row.end_reason = now, reason
        db.commit()
        return None
    if now - row.last_seen_at >= TOUCH_AFTER:
        row.last_seen_at = now
        db.commit()
    return row


def end(db: Session, token: str | None, *, now: datetime, reason: str = "logout") -> None:
    """End the session of `token` (nothing when there is none)."""
    if not token:
        return
    db.execute(
        update(LoginSession)
        .where(LoginSession.token_hash == token_hash(token), LoginSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
    )
    db.commit()


def end_all(
    db: Session, user_id: int, *, now: datetime, reason: str, keep: int | None = None
) -> int:
    """End every live session of the user (but `keep`) in the caller's transaction; the count."""
    query = update(LoginSession).where(
        LoginSession.user_id == user_id, LoginSession.ended_at.is_(None)
    )
    if keep is not None:
        query = query.where(LoginSession.id != keep)
    result = db.execute(query.values(ended_at=now, end_reason=reason))
    return int(getattr(result, "rowcount", 0) or 0)


def end_others(db: Session, user_id: int, *, keep: int | None, now: datetime) -> int:
    """The owner ends every session but the one they are using; the count."""
    count = end_all(db, user_id, now=now, reason="ended", keep=keep)
    db.commit()
    return count


def end_own(db: Session, user_id: int, session_id: int, *, now: datetime) -> None:
    """The owner ends one of their sessions from the account page."""
    row = db.get(LoginSession, session_id)
    if row is None or row.user_id != user_id:
        raise NotFound()
    if row.ended_at is None:
        row.ended_at, row.end_reason = now, "ended"
    db.commit()


def live(db: Session, user_id: int, *, now: datetime, timeouts: Timeouts) -> list[LoginSession]:
    """The user's sessions still alive, the most recent first."""
    rows = db.execute(
        select(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.ended_at.is_(None))
        .order_by(LoginSession.last_seen_at.desc(), LoginSession.id.desc())
    ).scalars()
    return [r for r in rows if timeouts.expiry(r.created_at, r.last_seen_at, now) is None]
