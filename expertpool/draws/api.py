"""The JSON API of draws: draw requests at a terminal and the draw-signing public keys."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _

from expertpool.accounts.access import public, require_user, roles
from expertpool.accounts.models import UserRole
from expertpool.core.errors import ValidationFailed
from expertpool.core.keys import KeyFileError
from expertpool.core.state import config, db, now, state
from expertpool.draws import requests as draw_requests
from expertpool.draws.rules import DrawRules
from expertpool.projects import projects
from expertpool.projects import projects as project_service
from expertpool.projects.terminal_pages import terminal_from_request

bp = Blueprint("draws_api", __name__, url_prefix="/api")
READERS = (UserRole.CENTRE_STAFF, UserRole.SUPERVISOR, UserRole.ADMIN)


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed(
            _("Send a JSON object."), fields={"body": _("Expected a JSON object.")}
        )
    return body


@bp.route("/projects/<int:project_id>/draw-requests", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def draw_request_create(project_id: int) -> Any:
    """Record a draw request; only from a registered, active terminal (`X-Terminal-Token`)."""
    project = projects.get_project(db(), project_id)
    project_service.require_reader(db(), require_user(), project)
    terminal = terminal_from_request()
    req = draw_requests.create_draw_request(
        db(),
        actor=require_user(),
        terminal=terminal,
        project_id=project_id,
        data=_body(),
        rules=DrawRules.from_config(config()),
        now=now(),
    )
    return jsonify(draw_requests.request_view(req)), 201


@bp.route("/draw-requests/<int:request_id>", methods=["GET"])
@roles(*READERS)
def draw_request_get(request_id: int) -> Any:
    """One draw request (never names)."""
    req = draw_requests.get_request(db(), request_id)
    project_service.require_reader(db(), require_user(), req.project)
    return jsonify(draw_requests.request_view(req))


@bp.route("/keys", methods=["GET"])
@public
def draw_keys() -> Any:
    """The draw-signing public keys (base64 raw Ed25519) by key id, and which one signs now."""
    keys = state().keys
    try:
        return jsonify({"current": keys.draw_signing_key()[0], "keys": keys.draw_public_keys()})
    except KeyFileError:
        return jsonify({"current": None, "keys": {}})
