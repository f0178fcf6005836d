"""The JSON API of accounts: bearer tokens and the current user."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _

from expertpool.accounts import users
from expertpool.accounts.access import login_required, public, require_user
from expertpool.core.errors import ValidationFailed
from expertpool.core.state import config, db, limiter

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
        raise ValidationFailed(
            _("Send a JSON object."), fields={"body": _("Expected a JSON object.")}
        )
    fields = {
        k: _("Required.")
        for k in ("username", "password")
        if not isinstance(body.get(k), str) or not body.get(k)
    }
    if fields:
        raise ValidationFailed(fields=fields)
    user = users.login(db(), body["username"], body["password"], request.remote_addr)
    clear, row = users.issue_token(db(), user, config().api_token_ttl_hours)
    return jsonify(
        {"token": clear, "expires_at": row.expires_at.isoformat(), "role": user.role.value}
    ), 201


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
    return jsonify(
        {
            "username": user.username,
            "display_name": user.display_name,
            "role": user.role.value,
            "centre": user.centre.region_code if user.centre else None,
        }
    )
