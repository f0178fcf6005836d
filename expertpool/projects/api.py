"""The JSON API for projects, lots, bidders, awards, terminals and venues."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _

from expertpool.accounts.access import actor_label, require_user, roles
from expertpool.accounts.models import UserRole
from expertpool.core.errors import Forbidden, ValidationFailed, must_exist
from expertpool.core.state import db, now
from expertpool.projects import projects, terminals, venues
from expertpool.projects.pages import READERS

bp = Blueprint("projects_api", __name__, url_prefix="/api")


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed(
            _("Send a JSON object."), fields={"body": _("Expected a JSON object.")}
        )
    return body


def _project(project_id: int) -> Any:
    project = projects.get_project(db(), project_id)
    projects.require_reader(db(), require_user(), project)
    return project


@bp.route("/projects", methods=["GET"])
@roles(*READERS)
def project_list() -> Any:
    """Projects visible to the caller."""
    user = require_user()
    centre_id = user.centre_id if user.role is UserRole.CENTRE_STAFF else None
    return jsonify(
        {
            "items": [
                projects.project_view(p) for p in projects.list_projects(db(), centre_id=centre_id)
            ]
        }
    )


@bp.route("/projects", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def project_create() -> Any:
    """Create a project for the caller's centre."""
    user = require_user()
    body = _body()
    centre_id = must_exist(user.centre_id, Forbidden)
    project = projects.create_project(
        db(), actor=actor_label(), owner_centre_id=centre_id, data=body, now=now()
    )
    return jsonify(projects.project_view(project)), 201


@bp.route("/projects/<int:project_id>", methods=["GET"])
@roles(*READERS)
def project_get(project_id: int) -> Any:
    """One project."""
    return jsonify(projects.project_view(_project(project_id)))


@bp.route("/projects/<int:project_id>", methods=["PUT"])
@roles(UserRole.CENTRE_STAFF)
def project_update(project_id: int) -> Any:
    """Replace a project's details (until the draw)."""
    _project(project_id)
    project = projects.update_project(
        db(), actor=actor_label(), project_id=project_id, data=_body(), now=now()
    )
    return jsonify(projects.project_view(project))


@bp.route("/projects/<int:project_id>/lots", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def lot_add(project_id: int) -> Any:
    """Add a lot."""
    _project(project_id)
    body = _body()
    lot = projects.add_lot(
        db(),
        actor=actor_label(),
        project_id=project_id,
        code=body.get("code"),
        name=body.get("name"),
    )
    return jsonify({"id": lot.id, "code": lot.code, "name": lot.name}), 201


@bp.route("/projects/<int:project_id>/lots/<int:lot_id>", methods=["DELETE"])
@roles(UserRole.CENTRE_STAFF)
def lot_remove(project_id: int, lot_id: int) -> Any:
    """Remove a lot."""
    _project(project_id)
    projects.remove_lot(db(), actor=actor_label(), project_id=project_id, lot_id=lot_id)
    return "", 204


@bp.route("/projects/<int:project_id>/bidders", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def bidder_add(project_id: int) -> Any:
    """Add a bidder by unified social credit code."""
    _project(project_id)
    body = _body()
    bidder = projects.add_bidder(
        db(),
        actor=actor_label(),
        project_id=project_id,
        credit_code=body.get("credit_code"),
        name=body.get("name"),
        lot_code=body.get("lot"),
        is_small_enterprise=body.get("is_small_enterprise", False),
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
def bidder_remove(project_id: int, bidder_id: int) -> Any:
    """Remove a bidder."""
    _project(project_id)
    projects.remove_bidder(db(), actor=actor_label(), project_id=project_id, bidder_id=bidder_id)
    return "", 204


@bp.route("/projects/<int:project_id>/ready", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
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
def project_award(project_id: int) -> Any:
    """Record the award: `awarded_on` (YYYY-MM-DD) and `winner` (a bidder's credit code)."""
    _project(project_id)
    body = _body()
    project = projects.mark_awarded(
        db(),
        actor=actor_label(),
        project_id=project_id,
        awarded_on=body.get("awarded_on"),
        winner_code=body.get("winner"),
        now=now(),
    )
    return jsonify(projects.project_view(project))


@bp.route("/terminals", methods=["GET"])
@roles(UserRole.ADMIN)
def terminal_list() -> Any:
    """Every terminal (never credentials)."""
    return jsonify({"items": [terminals.terminal_view(t) for t in terminals.list_terminals(db())]})


@bp.route("/terminals", methods=["POST"])
@roles(UserRole.ADMIN)
def terminal_register() -> Any:
    """Register a terminal: `centre` (region code) and `name`; the credential is in this answer
    only.
    """
    body = _body()
    clear, terminal = terminals.register_terminal(
        db(),
        actor=actor_label(),
        centre_code=str(body.get("centre", "")),
        name=str(body.get("name", "")),
    )
    return jsonify({**terminals.terminal_view(terminal), "credential": clear}), 201


@bp.route("/terminals/<int:terminal_id>/disable", methods=["POST"])
@roles(UserRole.ADMIN)
def terminal_disable(terminal_id: int) -> Any:
    """Disable a terminal."""
    return jsonify(
        terminals.terminal_view(
            terminals.disable_terminal(db(), actor=actor_label(), terminal_id=terminal_id)
        )
    )


@bp.route("/venues", methods=["GET"])
@roles(*READERS)
def venue_list() -> Any:
    """Venues with their seat numbers."""
    return jsonify({"items": [venues.venue_view(v) for v in venues.list_venues(db())]})


@bp.route("/venues", methods=["POST"])
@roles(UserRole.ADMIN)
def venue_create() -> Any:
    """Create a venue: `centre`, `name`, `address`, `seats` (how many, numbered from 1)."""
    body = _body()
    venue = venues.create_venue(
        db(),
        actor=actor_label(),
        centre_code=str(body.get("centre", "")),
        name=str(body.get("name", "")),
        address=str(body.get("address", "")),
        seats=body.get("seats"),
    )
    return jsonify(venues.venue_view(venue)), 201
