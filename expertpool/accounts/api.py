"""The JSON API: bearer tokens, the current user, reference data."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _

from expertpool.accounts import users
from expertpool.accounts.access import login_required, public, require_user
from expertpool.core.errors import NotFound, ValidationFailed
from expertpool.core.state import config, db, limiter
from expertpool.reference import catalogue as reference
from expertpool.reference.models import Specialty

bp = Blueprint("api", __name__, url_prefix="/api")


def _token_key() -> str:
    body = request.get_json(silent=True) or {}
    return f"{request.remote_addr}|{str(body.get('username', '')).lower()}"


@bp.route("/tokens", methods=["POST"])
@public
@limiter.limit(lambda: config().login_rate_limit, key_func=_token_key)
def create_token() -> Any:
    """Exchange a username and password for a bearer token."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed(_("Send a JSON object."), fields={"body": _("Expected a JSON object.")})
    fields = {k: _("Required.") for k in ("username", "password") if not isinstance(body.get(k), str) or not body.get(k)}
    if fields:
        raise ValidationFailed(fields=fields)
    user = users.login(db(), body["username"], body["password"], request.remote_addr)
    clear, row = users.issue_token(db(), user, config().api_token_ttl_hours)
    return jsonify({"token": clear, "expires_at": row.expires_at.isoformat(), "role": user.role.value}), 201


@bp.route("/tokens/current", methods=["DELETE"])
@login_required
def revoke_token() -> Any:
    """Revoke the token used for this request."""
    header = request.headers.get("Authorization", "")
    users.revoke_token(db(), header[7:].strip())
    return "", 204


@bp.route("/me")
@login_required
def me() -> Any:
    """Who the token belongs to."""
    user = require_user()
    return jsonify({"username": user.username, "display_name": user.display_name, "role": user.role.value,
                    "centre": user.centre.region_code if user.centre else None})


def _spec(s: Specialty) -> dict[str, Any]:
    return {"code": s.code, "name": s.name, "parent": s.parent_code, "level": s.level, "retired": s.is_retired}


@bp.route("/specialties")
@login_required
def specialties() -> Any:
    """Search (`q`) or list the children of `parent` (the categories by default)."""
    session = db()
    query = request.args.get("q")
    if query:
        return jsonify({"items": [_spec(s) for s in reference.search_specialties(session, query)]})
    parent = request.args.get("parent") or None
    if parent is not None and session.get(Specialty, parent) is None:
        raise NotFound()
    return jsonify({"items": [_spec(s) for s in reference.children(session, parent)]})


@bp.route("/specialties/<code>")
@login_required
def specialty(code: str) -> Any:
    """One code with its path and children."""
    session = db()
    node = session.get(Specialty, code)
    if node is None:
        raise NotFound()
    return jsonify({**_spec(node), "path": [_spec(s) for s in reference.ancestors(session, code)],
                    "children": [_spec(s) for s in reference.children(session, code)]})
