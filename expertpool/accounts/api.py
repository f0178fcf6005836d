"""The JSON API of accounts: bearer tokens (per client, with scopes) and the current user."""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, jsonify, request
from pydantic import Field

from expertpool.accounts import users
from expertpool.accounts.access import current_token, login_required, public, require_user
from expertpool.accounts.throttle import json_username, throttled
from expertpool.core.api import PREFIX, SCOPES, Model, Out, body, operation
from expertpool.core.state import config, db

bp = Blueprint("api", __name__, url_prefix=PREFIX)
TAGS = ["accounts"]
Scope = Literal[tuple(SCOPES)]  # type: ignore[valid-type]


class TokenRequest(Model):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    client: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="The machine client this token is for (e.g. a centre's trading system).",
    )
    scopes: list[Scope] | None = Field(  # type: ignore[valid-type]
        None,
        max_length=len(SCOPES),
        description="Limit the token to these scopes; omitted: whatever the user's role may.",
    )


class TokenOut(Out):
    token: str
    expires_at: str
    role: str
    client: str | None
    scopes: list[str] | None


class MeOut(Out):
    username: str
    display_name: str
    role: str
    centre: str | None = Field(description="The region code of the user's centre, if any.")
    client: str | None = Field(description="The machine client of the token used, if any.")
    scopes: list[str] | None = Field(description="The token's scopes; null: not limited.")


@bp.route("/tokens", methods=["POST"])
@public
@throttled(json_username, scope="token")
@operation(tags=TAGS, json=TokenRequest, public=True, HTTP_201=TokenOut)
def create_token() -> Any:
    """Exchange a username and password for a bearer token, optionally for a named client and
    limited to scopes."""
    data = body(TokenRequest)
    user = users.login(db(), data.username, data.password, request.remote_addr)
    clear, row = users.issue_token(
        db(), user, config().api_token_ttl_hours, client=data.client, scopes=data.scopes
    )
    scopes = sorted(row.scope_set) if row.scope_set is not None else None
    return jsonify(
        {
            "token": clear,
            "expires_at": row.expires_at.isoformat(),
            "role": user.role.value,
            "client": row.client,
            "scopes": scopes,
        }
    ), 201


@bp.route("/tokens/current", methods=["DELETE"])
@login_required
@operation(tags=TAGS, HTTP_204=None)
def revoke_token() -> Any:
    """Revoke the token used for this request."""
    header = request.headers.get("Authorization", "")
    users.revoke_token(db(), header[7:].strip())
    return "", 204


@bp.route("/me")
@login_required
@operation(tags=TAGS, HTTP_200=MeOut)
def me() -> Any:
    """Who the token belongs to, and what the token is limited to."""
    user = require_user()
    token = current_token()
    scopes = token.scope_set if token is not None else None
    return jsonify(
        {
            "username": user.username,
            "display_name": user.display_name,
            "role": user.role.value,
            "centre": user.centre.region_code if user.centre else None,
            "client": token.client if token is not None else None,
            "scopes": sorted(scopes) if scopes is not None else None,
        }
    )
