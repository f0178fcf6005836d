"""The JSON API for projects, lots, bidders, awards, terminals and venues (under /api/v1)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from pydantic import ConfigDict, Field

from expertpool.accounts.access import actor_label, require_user, roles
from expertpool.accounts.idempotency import idempotent
from expertpool.accounts.models import UserRole
from expertpool.core.api import (
    PREFIX,
    IdempotencyHeaders,
    Model,
    Out,
    PageMeta,
    PageQuery,
    body,
    operation,
    page_of,
    query,
)
from expertpool.core.errors import Forbidden, must_exist
from expertpool.core.state import config, db, now
from expertpool.projects import projects, terminals, venues
from expertpool.projects.pages import READERS

bp = Blueprint("projects_api", __name__, url_prefix=PREFIX)
PROJECTS = ["projects"]
TERMINALS = ["terminals and venues"]
Text = str | None
Flag = bool | str | None


# Models -----------------------------------------------------------------------------------------


class ProjectIn(Model):
    """A project's details; the service checks each value and answers field errors."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "code": "GZ-2030-001",
                    "name": "道路改造工程",
                    "kind": "works",
                    "budget": "8500000.00",
                    "tenderer_code": "91440100MA50000019",
                    "tenderer_name": "某区建设局",
                    "agency_code": "91440100MA5000002C",
                    "agency_name": "某招标代理有限公司",
                    "tenderer_representatives": 0,
                    "evaluation_start": "2030-06-05T09:00",
                    "duration_minutes": 240,
                }
            ]
        },
    )

    code: Text = Field(None, max_length=64)
    name: Text = Field(None, max_length=200)
    kind: Text = Field(None, max_length=20, description="goods, works or services.")
    budget: str | int | float | None = Field(None, description='CNY, e.g. "1200000.00".')
    tenderer_code: Text = Field(None, max_length=18)
    tenderer_name: Text = Field(None, max_length=200)
    agency_code: Text = Field(None, max_length=18)
    agency_name: Text = Field(None, max_length=200)
    tenderer_representatives: int | str | None = None
    is_complex: Flag = None
    evaluation_start: Text = Field(
        None, max_length=40, description="Local time, e.g. 2026-12-20T09:00."
    )
    duration_minutes: int | str | None = None
    main_centre: Text = Field(None, max_length=6)
    is_remote: Flag = None
    secondary_centres: list[str] | str | None = None
    regime: Text = Field(
        None,
        max_length=40,
        description="The legal regime (`GET /rules` lists them); by default from the kind.",
    )
    method: Text = Field(None, max_length=40, description="The procurement method.")
    is_offsite: Flag = Field(None, description="Off-site (异地) evaluation.")
    is_special: Flag = Field(None, description="A special project (实施条例 Art. 47).")
    special_reason: Text = Field(None, max_length=2000, description="The written reason.")
    department: Text = Field(
        None,
        max_length=40,
        description="The supervising department's code (e.g. 440100-housing); by default the "
        "city's development and reform bureau.",
    )


class CodeName(Out):
    code: str | None
    name: str | None


class LotOut(Out):
    id: int
    code: str
    name: str | None


class BidderOut(Out):
    id: int
    credit_code: str
    name: str
    lot: str | None
    is_small_enterprise: bool = False


class ProjectOut(Out):
    id: int
    code: str
    name: str
    kind: str
    budget: str
    budget_fen: int
    is_complex: bool
    tenderer: CodeName
    agency: CodeName
    tenderer_representatives: int
    evaluation_start_at: str
    duration_minutes: int
    owner_centre: str | None
    main_centre: str | None
    is_remote: bool
    regime: str
    method: str
    department: str | None = Field(description="The supervising department's code.")
    is_offsite: bool
    is_special: bool
    special_reason: str
    special_approved_by: str | None
    rule_version: int | None = Field(description="The rule version pinned when made ready.")
    secondary_centres: list[str]
    status: str
    failure_kind: str | None = None
    outcome_reason: str | None = None
    awarded_on: str | None
    winner: CodeName | None
    lots: list[LotOut]
    bidders: list[BidderOut]


class ProjectPage(PageMeta):
    items: list[ProjectOut]


class LotIn(Model):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"code": "2", "name": "二标段"}]}
    )

    code: Text = Field(None, max_length=64)
    name: Text = Field(None, max_length=200)


class BidderIn(Model):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"credit_code": "91440100MA5000007U", "name": "某建设有限公司"}]
        },
    )

    credit_code: Text = Field(None, max_length=18, description="Unified social credit code.")
    name: Text = Field(None, max_length=200)
    lot: Text = Field(None, max_length=64, description="The lot's code (optional).")
    is_small_enterprise: Flag = Field(
        False, description="The bidder declares itself a small or micro enterprise."
    )


class AwardIn(Model):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"awarded_on": "2030-06-20", "winner": "91440100MA5000007U"}]
        },
    )

    awarded_on: Text = Field(None, max_length=10, description="YYYY-MM-DD.")
    winner: Text = Field(None, max_length=18, description="The winning bidder's credit code.")


class TerminalOut(Out):
    id: int
    name: str
    centre: str
    is_active: bool
    created_at: str
    last_seen_at: str | None


class TerminalPage(PageMeta):
    items: list[TerminalOut]


class TerminalIn(Model):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"centre": "440100", "name": "一号抽取终端"}]},
    )

    centre: str = Field(max_length=6, description="The centre's region code.")
    name: str = Field(max_length=100)


class TerminalCreated(TerminalOut):
    credential: str = Field(description="The terminal's credential, shown in this answer only.")


class VenueOut(Out):
    id: int
    centre: str
    name: str
    address: str
    seats: list[int]


class VenuePage(PageMeta):
    items: list[VenueOut]


class VenueIn(Model):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"centre": "440100", "name": "第一评标室", "address": "某路1号", "seats": 9}
            ]
        },
    )

    centre: str = Field(max_length=6)
    name: str = Field(max_length=100)
    address: str = Field("", max_length=200)
    seats: int = Field(description=f"How many seats (1 to {venues.MAX_SEATS}), numbered from 1.")


# Views ------------------------------------------------------------------------------------------


def _project(project_id: int) -> Any:
    project = projects.get_project(db(), project_id)
    projects.require_reader(db(), require_user(), project)
    return project


@bp.route("/projects", methods=["GET"])
@roles(*READERS)
@operation(tags=PROJECTS, scope="projects:read", query=PageQuery, HTTP_200=ProjectPage)
def project_list() -> Any:
    """Projects visible to the caller (a centre's staff and systems: their centre's), newest
    evaluation first, paged."""
    user = require_user()
    return jsonify(
        page_of(
            projects.visible_projects(db(), user),
            query(PageQuery),
            projects.project_view,
        )
    )


@bp.route("/projects", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
@idempotent
@operation(
    tags=PROJECTS,
    scope="projects:write",
    json=ProjectIn,
    headers=IdempotencyHeaders,
    HTTP_201=ProjectOut,
)
def project_create() -> Any:
    """Create a project for the caller's centre."""
    user = require_user()
    data = body(ProjectIn).model_dump(exclude_unset=True)
    centre_id = must_exist(user.centre_id, Forbidden)
    project = projects.create_project(
        db(),
        actor=actor_label(),
        owner_centre_id=centre_id,
        data=data,
        now=now(),
        secondary_picked=config().remote_hide_secondary_venue,
    )
    return jsonify(projects.project_view(project)), 201


@bp.route("/projects/<int:project_id>", methods=["GET"])
@roles(*READERS)
@operation(tags=PROJECTS, scope="projects:read", HTTP_200=ProjectOut)
def project_get(project_id: int) -> Any:
    """One project."""
    return jsonify(projects.project_view(_project(project_id)))


@bp.route("/projects/<int:project_id>", methods=["PUT"])
@roles(UserRole.CENTRE_STAFF)
@operation(tags=PROJECTS, scope="projects:write", json=ProjectIn, HTTP_200=ProjectOut)
def project_update(project_id: int) -> Any:
    """Replace a project's details (until the draw)."""
    _project(project_id)
    project = projects.update_project(
        db(),
        actor=actor_label(),
        project_id=project_id,
        data=body(ProjectIn).model_dump(exclude_unset=True),
        now=now(),
        secondary_picked=config().remote_hide_secondary_venue,
    )
    return jsonify(projects.project_view(project))


@bp.route("/projects/<int:project_id>/lots", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
@idempotent
@operation(
    tags=PROJECTS, scope="projects:write", json=LotIn, headers=IdempotencyHeaders, HTTP_201=LotOut
)
def lot_add(project_id: int) -> Any:
    """Add a lot."""
    _project(project_id)
    data = body(LotIn)
    lot = projects.add_lot(
        db(), actor=actor_label(), project_id=project_id, code=data.code, name=data.name
    )
    return jsonify({"id": lot.id, "code": lot.code, "name": lot.name}), 201


@bp.route("/projects/<int:project_id>/lots/<int:lot_id>", methods=["DELETE"])
@roles(UserRole.CENTRE_STAFF)
@operation(tags=PROJECTS, scope="projects:write", HTTP_204=None)
def lot_remove(project_id: int, lot_id: int) -> Any:
    """Remove a lot."""
    _project(project_id)
    projects.remove_lot(db(), actor=actor_label(), project_id=project_id, lot_id=lot_id)
    return "", 204


@bp.route("/projects/<int:project_id>/bidders", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
@idempotent
@operation(
    tags=PROJECTS,
    scope="projects:write",
    json=BidderIn,
    headers=IdempotencyHeaders,
    HTTP_201=BidderOut,
)
def bidder_add(project_id: int) -> Any:
    """Add a bidder by unified social credit code."""
    _project(project_id)
    data = body(BidderIn)
    bidder = projects.add_bidder(
        db(),
        actor=actor_label(),
        project_id=project_id,
        credit_code=data.credit_code,
        name=data.name,
        lot_code=data.lot,
        is_small_enterprise=data.is_small_enterprise,
    )
    return jsonify(
        {
            "id": bidder.id,
            "credit_code": bidder.credit_code,
            "name": bidder.name,
            "lot": bidder.lot.code if bidder.lot else None,
            "is_small_enterprise": bidder.is_small_enterprise,
        }
    ), 201


@bp.route("/projects/<int:project_id>/bidders/<int:bidder_id>", methods=["DELETE"])
@roles(UserRole.CENTRE_STAFF)
@operation(tags=PROJECTS, scope="projects:write", HTTP_204=None)
def bidder_remove(project_id: int, bidder_id: int) -> Any:
    """Remove a bidder."""
    _project(project_id)
    projects.remove_bidder(db(), actor=actor_label(), project_id=project_id, bidder_id=bidder_id)
    return "", 204


@bp.route("/projects/<int:project_id>/ready", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
@operation(tags=PROJECTS, scope="projects:write", HTTP_200=ProjectOut)
def project_ready(project_id: int) -> Any:
    """Declare the project ready for the draw."""
    _project(project_id)
    return jsonify(
        projects.project_view(
            projects.mark_ready(db(), actor=actor_label(), project_id=project_id, now=now())
        )
    )


@bp.route("/projects/<int:project_id>/award", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
@operation(tags=PROJECTS, scope="projects:write", json=AwardIn, HTTP_200=ProjectOut)
def project_award(project_id: int) -> Any:
    """Record the award: `awarded_on` (YYYY-MM-DD) and `winner` (a bidder's credit code)."""
    _project(project_id)
    data = body(AwardIn)
    project = projects.mark_awarded(
        db(),
        actor=actor_label(),
        project_id=project_id,
        awarded_on=data.awarded_on,
        winner_code=data.winner,
        now=now(),
    )
    return jsonify(projects.project_view(project))


@bp.route("/terminals", methods=["GET"])
@roles(UserRole.ADMIN)
@operation(tags=TERMINALS, scope="terminals:admin", query=PageQuery, HTTP_200=TerminalPage)
def terminal_list() -> Any:
    """Every terminal (never credentials), paged."""
    return jsonify(
        page_of(terminals.list_terminals(db()), query(PageQuery), terminals.terminal_view)
    )


@bp.route("/terminals", methods=["POST"])
@roles(UserRole.ADMIN)
@idempotent
@operation(
    tags=TERMINALS,
    scope="terminals:admin",
    json=TerminalIn,
    headers=IdempotencyHeaders,
    HTTP_201=TerminalCreated,
)
def terminal_register() -> Any:
    """Register a terminal of a centre; the credential is in this answer only."""
    data = body(TerminalIn)
    clear, terminal = terminals.register_terminal(
        db(), actor=actor_label(), centre_code=data.centre, name=data.name
    )
    return jsonify({**terminals.terminal_view(terminal), "credential": clear}), 201


@bp.route("/terminals/<int:terminal_id>/disable", methods=["POST"])
@roles(UserRole.ADMIN)
@operation(tags=TERMINALS, scope="terminals:admin", HTTP_200=TerminalOut)
def terminal_disable(terminal_id: int) -> Any:
    """Disable a terminal."""
    return jsonify(
        terminals.terminal_view(
            terminals.disable_terminal(db(), actor=actor_label(), terminal_id=terminal_id)
        )
    )


@bp.route("/venues", methods=["GET"])
@roles(*READERS)
@operation(tags=TERMINALS, scope="projects:read", query=PageQuery, HTTP_200=VenuePage)
def venue_list() -> Any:
    """Venues with their seat numbers, paged."""
    return jsonify(page_of(venues.list_venues(db()), query(PageQuery), venues.venue_view))


@bp.route("/venues", methods=["POST"])
@roles(UserRole.ADMIN)
@idempotent
@operation(
    tags=TERMINALS,
    scope="terminals:admin",
    json=VenueIn,
    headers=IdempotencyHeaders,
    HTTP_201=VenueOut,
)
def venue_create() -> Any:
    """Create a venue with its numbered seats."""
    data = body(VenueIn)
    venue = venues.create_venue(
        db(),
        actor=actor_label(),
        centre_code=data.centre,
        name=data.name,
        address=data.address,
        seats=data.seats,
    )
    return jsonify(venues.venue_view(venue)), 201
