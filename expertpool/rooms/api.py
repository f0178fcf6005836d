"""The JSON API of opened panels and sessions (under /api/v1), filtered per viewer by the
visibility table (docs/sealing.md):

- before a draw is opened, every viewer gets its status and ids only;
- after opening, the session's supervisors (of the project's department) see every member who
  holds or held a seat, each venue's host those seated at their venue, nobody else any member;
- machine clients (tokens issued to a `client`) get, until the close, per-group counts and states
  only, never an expert, a rank or a venue; after the close the members;
- a session answers members only to its participants and supervisors: experts see co-members by
  alias only, representatives have no expert id.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from flask import Blueprint, jsonify
from pydantic import Field
from sqlalchemy import select

from expertpool.accounts.access import current_token, require_user, roles
from expertpool.accounts.models import User, UserRole
from expertpool.core.api import PREFIX, Out, operation
from expertpool.core.errors import NotFound
from expertpool.core.state import db, state
from expertpool.core.tokens import ExpertTokens
from expertpool.draws import sealing as draw_sealing
from expertpool.draws.models import Draw, DrawInvitee, DrawStatus, InviteeStatus
from expertpool.experts.models import Expert
from expertpool.projects import projects
from expertpool.projects.models import Project, Seat, SeatBooking, VenueRecord
from expertpool.rooms import sessions as rooms

bp = Blueprint("rooms_api", __name__, url_prefix=PREFIX)
TAGS = ["sessions"]
VIEWERS = (UserRole.CENTRE_STAFF, UserRole.SUPERVISOR, UserRole.ADMIN, UserRole.EXPERT)
SEATED = (InviteeStatus.ACCEPTED, InviteeStatus.WITHDRAWN, InviteeStatus.REMOVED)


class PanelMember(Out):
    expert_id: int
    group: str
    rank: int
    status: str
    venue: str | None
    room_id: str | None


class GroupCount(Out):
    group: str
    states: dict[str, int] = Field(description="How many invitees stand in each state.")


class PanelOut(Out):
    draw_id: str
    project_id: int
    status: str
    phase: str = Field(description="committed, opened or closed (the visibility table).")
    members: list[PanelMember]
    groups: list[GroupCount] = Field(description="Machine clients after opening: counts only.")


class RoomMember(Out):
    alias: str
    expert_id: int | None = Field(description="Null for a representative or where not shown.")
    role: str
    venue: str | None
    status: str
    checked_in: bool
    check_in_method: str | None


class Replacement(Out):
    member: str
    replaced_by: str | None
    reason: str | None


class RoomOut(Out):
    room_id: str
    project_id: int | None
    phase: str
    members: list[RoomMember]
    replacements: list[Replacement]


def _phase(d: Draw, project: Project) -> str:
    if project.status.is_closed:
        return "closed"
    return "opened" if d.status is DrawStatus.OPENED else "committed"


def _is_machine() -> bool:
    token = current_token()
    return token is not None and bool(token.client)


@bp.route("/draws/<draw_id>/panel", methods=["GET"])
@roles(*VIEWERS)
@operation(tags=TAGS, scope="sessions:read", HTTP_200=PanelOut)
def draw_panel(draw_id: str) -> Any:
    """A draw's panel as the caller may see it (see the module's rules)."""
    session = db()
    d = session.execute(select(Draw).where(Draw.draw_id == draw_id)).scalar_one_or_none()
    if d is None:
        raise NotFound()
    project = session.get(Project, d.project_id)
    if project is None:
        raise NotFound()
    user = require_user()
    phase = _phase(d, project)
    out: dict[str, Any] = {
        "draw_id": d.draw_id,
        "project_id": d.project_id,
        "status": d.status.value,
        "phase": phase,
        "members": [],
        "groups": [],
    }
    if phase == "committed":
        return jsonify(out)  # status and ids only, for everyone
    invitees = list(
        session.execute(select(DrawInvitee).where(DrawInvitee.draw_pk == d.id)).scalars()
    )
    if _is_machine() and phase == "opened":
        counts: dict[str, Counter[str]] = {}
        for inv in invitees:
            counts.setdefault(inv.group_key, Counter())[inv.status.value] += 1
        out["groups"] = [{"group": g, "states": dict(c)} for g, c in sorted(counts.items())]
        return jsonify(out)
    centres = _visible_centres(user, project, machine=_is_machine(), phase=phase)
    if not centres and centres is not None:
        return jsonify(out)
    keys = state().keys
    tokens = ExpertTokens(keys)
    ids = {str(k): v for k, v in _ids_by_token(d, keys, tokens).items()}
    rooms_of = _room_of_user(project.id)
    members = []
    for inv in invitees:
        seated = inv.seat_booking_id is not None and inv.status in SEATED
        if not seated or inv.expert_token not in ids:
            continue
        venue, centre = _venue(inv.seat_booking_id)
        if centres is not None and centre not in centres:
            continue
        expert = session.get(Expert, ids[inv.expert_token])
        members.append(
            {
                "expert_id": ids[inv.expert_token],
                "group": inv.group_key,
                "rank": inv.position,
                "status": inv.status.value,
                "venue": venue,
                "room_id": rooms_of.get(expert.user_id) if expert and expert.user_id else None,
            }
        )
    out["members"] = members
    return jsonify(out)


def _visible_centres(user: User, project: Project, *, machine: bool, phase: str) -> set[int] | None:
    """None: every venue; a set: the venues (by centre) whose members the caller sees."""
    if machine:
        return None if phase == "closed" else set()
    if user.role is UserRole.SUPERVISOR and projects.supervises(db(), user, project):
        return None
    if user.role is UserRole.CENTRE_STAFF and user.centre_id is not None:
        return {user.centre_id}
    return set()


def _ids_by_token(d: Draw, keys: Any, tokens: ExpertTokens) -> dict[str, int]:
    result = draw_sealing.open_result(d, keys)
    everyone = {e for g in result.groups for e in (*g.primaries, *g.backups)}
    return tokens.tokens(sorted(everyone))


def _venue(booking_id: int | None) -> tuple[str | None, int | None]:
    if booking_id is None:
        return None, None
    row = (
        db()
        .execute(
            select(VenueRecord.name, VenueRecord.centre_id)
            .join(Seat, Seat.venue_id == VenueRecord.id)
            .join(SeatBooking, SeatBooking.seat_id == Seat.id)
            .where(SeatBooking.id == booking_id)
        )
        .first()
    )
    return (row[0], row[1]) if row else (None, None)


def _room_of_user(project_id: int) -> dict[int, str]:
    out: dict[int, str] = {}
    keys = state().keys
    for row in rooms.sessions_for_project(db(), project_id):
        for p in rooms.state_of(row, keys)["participants"]:
            if str(p["user_id"]).isdigit():
                out.setdefault(int(p["user_id"]), row.room_id)
    return out


@bp.route("/rooms/<room_id>", methods=["GET"])
@roles(*VIEWERS)
@operation(tags=TAGS, scope="sessions:read", HTTP_200=RoomOut)
def room(room_id: str) -> Any:
    """A session: its phase, and its members and replacements as the caller may see them."""
    session = db()
    keys = state().keys
    row = rooms.get_session(session, room_id)
    user = require_user()
    base: dict[str, Any] = {
        "room_id": row.room_id,
        "project_id": row.project_id,
        "phase": row.phase,
        "members": [],
        "replacements": [],
    }
    if _is_machine():
        return jsonify(base)  # status and ids only until the report reaches the caller
    data = rooms.state_of(row, keys)
    viewer = next(
        (
            p
            for p in data["participants"]
            if p["user_id"] == str(user.id) and p["status"] == "active"
        ),
        None,
    )
    project = session.get(Project, row.project_id) if row.project_id else None
    is_supervisor = user.role is UserRole.SUPERVISOR and (
        project is None or projects.supervises(session, user, project)
    )
    if viewer is None and not is_supervisor:
        raise NotFound()
    role = viewer["role"] if viewer else "supervisor"
    venues = {v["venue_id"]: v["name"] for v in data["venues"]}
    members = []
    for p in data["participants"]:
        if p["role"] not in ("expert", "representative"):
            continue
        named = role == "supervisor" or (
            role == "host" and viewer is not None and p["venue_id"] == viewer["venue_id"]
        )
        is_self = viewer is not None and p["participant_id"] == viewer["participant_id"]
        expert_id = None
        if p["role"] == "expert" and (named or is_self):
            expert_id = session.execute(
                select(Expert.id).where(Expert.user_id == int(p["user_id"]))
            ).scalar_one_or_none()
        ci = p.get("check_in") or {}
        members.append(
            {
                "alias": p.get("alias") or "",
                "expert_id": expert_id,
                "role": p["role"],
                "venue": venues.get(p["venue_id"]),
                "status": p["status"],
                "checked_in": ci.get("checked_in_at") is not None,
                "check_in_method": ci.get("method"),
            }
        )
    by_id = {p["participant_id"]: p for p in data["participants"]}
    base["members"] = members
    base["replacements"] = [
        {
            "member": p.get("alias") or "",
            "replaced_by": (by_id.get(p["replaced_by"]) or {}).get("alias")
            if p.get("replaced_by")
            else None,
            "reason": p.get("removal_reason"),
        }
        for p in data["participants"]
        if p["status"] in ("replaced", "removed")
    ]
    return jsonify(base)
