"""What the statistics need from stored evaluation sessions, read in one place.

The room's state is sealed at rest (rooms/sealing.py); this module is the only one of
statistics that opens it, and only for sessions of **closed** projects the caller passes in
(`figures.closed_projects`). It returns counts and times, and for the favour signal each
expert's favourite bidder by the expert's keyed token (`RoomParticipant.user_token`), never a
name. A change of the room's stored state touches this module alone (like fees/attendance.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.core.keys import KeyStore
from expertpool.projects.models import Project
from expertpool.rooms.models import EvaluationSession, RoomEventRow, RoomParticipant
from expertpool.rooms.sessions import state_of
from expertpool.statistics.signals import Preference, favourite


@dataclass(frozen=True)
class SessionStats:
    """One closed project's session as the figures see it."""

    session_id: int
    project_id: int
    phase: str
    started_at: datetime | None  # the first check-in
    closed_at: datetime | None  # the room's archive
    planned_minutes: int
    experts: int  # expert seats, replaced ones included
    no_shows: int  # expert seats never checked in
    deviations: int  # deviation flags raised on scores
    preferences: tuple[Preference, ...]

    @property
    def minutes(self) -> int | None:
        """How long the session ran, from the first check-in to the archive."""
        if self.started_at is None or self.closed_at is None:
            return None
        return max(0, int((self.closed_at - self.started_at).total_seconds() // 60))


def _moment(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _total(items: dict[str, list[dict[str, Any]]]) -> float:
    total = Decimal(0)
    for versions in items.values():
        try:
            total += Decimal(str(versions[-1]["value"]))
        except (InvalidOperation, IndexError, KeyError):
            continue
    return float(total)


def _preferences(
    state: dict[str, Any], tokens: dict[str, str], session_key: str, experts: set[str]
) -> tuple[Preference, ...]:
    """Each expert's favourite against the panel (representatives score but are not experts:
    their sheets count in the panel's mean, they get no preference of their own)."""
    sheets = {
        member: sheet
        for member, sheet in (state.get("sheets") or {}).items()
        if sheet.get("submitted_at") and not sheet.get("voided_at")
    }
    own = {m: {b: _total(items) for b, items in s["entries"].items()} for m, s in sheets.items()}
    bidders = sorted({b for totals in own.values() for b in totals})
    if len(own) < 2 or len(bidders) < 2:
        return ()
    mean = {
        b: sum(t[b] for t in own.values() if b in t) / sum(1 for t in own.values() if b in t)
        for b in bidders
    }
    out = []
    for member, totals in own.items():
        token = tokens.get(member)
        if token is None or member not in experts:
            continue
        out.append(Preference(token, session_key, frozenset(totals), favourite(totals, mean)))
    return tuple(out)


def session_stats(session: Session, projects: list[Project], keys: KeyStore) -> list[SessionStats]:
    """The sessions of these (closed) projects, opened with the key files."""
    by_id = {p.id: p for p in projects if p.status.is_closed}
    if not by_id:
        return []
    rows = list(
        session.execute(
            select(EvaluationSession).where(EvaluationSession.project_id.in_(list(by_id)))
        ).scalars()
    )
    if not rows:
        return []
    ids = [r.id for r in rows]
    closed: dict[int, datetime] = {}
    for sid, at in session.execute(
        select(RoomEventRow.session_id, RoomEventRow.occurred_at).where(
            RoomEventRow.session_id.in_(ids), RoomEventRow.kind == "archived"
        )
    ):
        closed.setdefault(sid, at)
    tokens: dict[int, dict[str, str]] = {}
    for sid, pid, token in session.execute(
        select(
            RoomParticipant.session_id, RoomParticipant.participant_id, RoomParticipant.user_token
        ).where(RoomParticipant.session_id.in_(ids))
    ):
        tokens.setdefault(sid, {})[pid] = token
    out = []
    for row in rows:
        state = state_of(row, keys)
        experts = [p for p in state.get("participants", []) if p.get("role") == "expert"]
        checked = [_moment((p.get("check_in") or {}).get("checked_in_at")) for p in experts]
        times = [t for t in checked if t is not None]
        project = by_id[row.project_id or 0]
        out.append(
            SessionStats(
                session_id=row.id,
                project_id=project.id,
                phase=row.phase,
                started_at=min(times) if times else None,
                closed_at=closed.get(row.id),
                planned_minutes=project.duration_minutes,
                experts=len(experts),
                no_shows=sum(1 for t in checked if t is None),
                deviations=len(state.get("flags") or {}),
                preferences=_preferences(
                    state,
                    tokens.get(row.id, {}),
                    row.room_id,
                    {str(p["participant_id"]) for p in experts},
                ),
            )
        )
    return out
