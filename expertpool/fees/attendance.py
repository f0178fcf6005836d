"""What the fee needs from a stored session, read in one place: who served, from when to when,
as what and where, and when the session closed.

Read only through `session_facts`, so a change of the room's stored state (replacements,
vacated seats) touches this module alone. A member's time runs from their check-in to the
close, or to the moment they were replaced or taken off (`member_replaced`/`member_removed`).
The close is the room's `archived` event; a tender failed or cancelled before that closes at
the project's outcome.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from evaluation_room.model import Role
from expertpool.core.keys import KeyStore
from expertpool.projects.models import Project, ProjectStatus, VenueRecord
from expertpool.rooms.models import EvaluationSession, RoomEventRow
from expertpool.rooms.sessions import room_of, state_of

LEAVING_EVENTS = ("member_replaced", "member_removed")


@dataclass(frozen=True)
class MemberTime:
    """One committee member's time in the session (an expert; representatives are not paid)."""

    participant_id: str
    user_id: int
    name: str
    venue_id: str
    venue_region: str | None
    checked_in_at: datetime | None
    left_at: datetime | None
    is_leader: bool


@dataclass(frozen=True)
class SessionFacts:
    """A session as the fee sees it."""

    session_id: int
    title: str
    project: Project | None
    host_region: str | None
    closed_at: datetime | None
    outcome: str  # evaluated | failed | cancelled | open
    members: tuple[MemberTime, ...]


def _venue_regions(
    session: Session, project: Project | None, venues: list[dict[str, Any]]
) -> dict[str, str | None]:
    regions: dict[str, str | None] = {}
    for v in venues:
        vid = str(v["venue_id"])
        region: str | None = None
        if vid.startswith("v") and vid[1:].isdigit():
            record = session.get(VenueRecord, int(vid[1:]))
            region = record.centre.region_code if record is not None else None
        elif v.get("is_main") and project is not None:
            region = project.main_centre.region_code
        regions[vid] = region
    return regions


def session_facts(session: Session, row: EvaluationSession, keys: KeyStore) -> SessionFacts:
    """The fee's facts about one stored session (opened with the key files)."""
    state = state_of(row, keys)
    room = room_of(row, keys)
    project = session.get(Project, row.project_id) if row.project_id is not None else None
    regions = _venue_regions(session, project, state["venues"])
    main = next((v["venue_id"] for v in state["venues"] if v.get("is_main")), None)
    host_region = regions.get(main) if main is not None else None
    if host_region is None and project is not None:
        host_region = project.main_centre.region_code
    left: dict[str, datetime] = {}
    closed_at: datetime | None = None
    for kind, at, data in session.execute(
        select(RoomEventRow.kind, RoomEventRow.occurred_at, RoomEventRow.data)
        .where(
            RoomEventRow.session_id == row.id,
            RoomEventRow.kind.in_((*LEAVING_EVENTS, "archived")),
        )
        .order_by(RoomEventRow.seq)
    ):
        if kind == "archived":
            closed_at = at
        else:
            member = json.loads(data).get("member_id")
            if member and member not in left:
                left[member] = at
    outcome = "open"
    if project is not None and project.status in (ProjectStatus.FAILED, ProjectStatus.CANCELLED):
        outcome = project.status.value
        if closed_at is None:
            closed_at = project.outcome_at
    elif closed_at is not None and (project is None or project.status.is_closed):
        outcome = "evaluated"
    members = []
    for pid in room.participant_ids():
        p = room.participant(pid)
        if p.role is not Role.EXPERT:
            continue
        venue = p.check_in.venue_id or p.venue_id or ""
        members.append(
            MemberTime(
                participant_id=pid,
                user_id=int(p.user_id),
                name=p.name,
                venue_id=venue,
                venue_region=regions.get(venue),
                checked_in_at=p.check_in.checked_in_at,
                left_at=left.get(pid),
                is_leader=room.leader_id == pid,
            )
        )
    return SessionFacts(
        session_id=row.id,
        title=row.title,
        project=project,
        host_region=host_region,
        closed_at=closed_at,
        outcome=outcome,
        members=tuple(members),
    )
