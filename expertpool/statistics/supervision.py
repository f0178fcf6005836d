"""The supervision channel's sessions: which sessions a supervisor sees, and the read-only view
of those the supervisor is assigned to.

Every supervisor of a project's department sees the status (phase) of its sessions, nothing
about members. The supervisor seated in a session as its supervisor (chosen at the opening,
docs/rooms) follows it read-only: the room's own supervisor view (`evaluation_room.views`), which
shows names only once the draws are opened, which they are for any session (a session is made by
the opening act). Nothing here acts on the room.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from expertpool.accounts.models import User, UserRole
from expertpool.core.errors import NotFound
from expertpool.core.keys import KeyStore
from expertpool.projects.models import Project
from expertpool.projects.projects import supervises
from expertpool.rooms import sessions as rooms
from expertpool.rooms.models import EvaluationSession


@dataclass(frozen=True)
class SupervisedSession:
    """A session in the supervisor's list: its status, and whether they may follow it."""

    room_id: str
    title: str
    project_code: str | None
    phase: str
    may_follow: bool


def _assigned(row: EvaluationSession, user: User, keys: KeyStore) -> str | None:
    """The user's participant id when seated in the session as its supervisor."""
    pid = rooms.participant_of(row, user, keys)
    if pid is None:
        return None
    room = rooms.room_of(row, keys)
    return pid if str(room.participant(pid).role) == "supervisor" else None


def supervised_sessions(session: Session, user: User, keys: KeyStore) -> list[SupervisedSession]:
    """The sessions of the projects the supervisor's department supervises, newest first."""
    if user.role is not UserRole.SUPERVISOR:
        return []
    out = []
    for row in rooms.all_sessions(session):
        project = session.get(Project, row.project_id) if row.project_id is not None else None
        if project is None or not supervises(session, user, project):
            continue
        out.append(
            SupervisedSession(
                row.room_id,
                row.title,
                project.code,
                row.phase,
                _assigned(row, user, keys) is not None,
            )
        )
    return out


def follow(
    session: Session, user: User, room_id: str, keys: KeyStore
) -> tuple[EvaluationSession, dict[str, Any]]:
    """The supervisor view of a session the user is assigned to; "not found" otherwise (the
    same answer as for no such session)."""
    try:
        row = rooms.get_session(session, room_id)
    except NotFound:
        raise NotFound() from None
    pid = _assigned(row, user, keys) if user.role is UserRole.SUPERVISOR else None
    if pid is None:
        raise NotFound()
    return row, rooms.room_of(row, keys).snapshot(pid)
