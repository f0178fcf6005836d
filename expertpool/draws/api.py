"""The JSON API of draws: draw requests at a terminal, their status, and the draw-signing public
keys. Nothing here names, counts or narrows down who was drawn (docs/sealing.md)."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding
from flask import Blueprint, jsonify
from pydantic import ConfigDict, Field

from expertpool.accounts.access import actor_label, public, require_user, roles
from expertpool.accounts.idempotency import idempotent
from expertpool.accounts.models import UserRole
from expertpool.core.api import PREFIX, IdempotencyHeaders, Model, Out, body, operation
from expertpool.core.keys import KeyFileError
from expertpool.core.state import config, db, now, state
from expertpool.draws import contact_record
from expertpool.draws import requests as draw_requests
from expertpool.draws.rules import DrawRules
from expertpool.notifications.notifier import notification_services
from expertpool.projects import projects
from expertpool.projects import projects as project_service
from expertpool.projects.terminal_pages import terminal_from_request

bp = Blueprint("draws_api", __name__, url_prefix=PREFIX)
READERS = (UserRole.CENTRE_STAFF, UserRole.SUPERVISOR, UserRole.ADMIN)
TAGS = ["draws"]
Codes = list[str] | str | None


class GroupIn(Model):
    specialties: Codes = Field(None, description="Specialty codes or prefixes from the tree.")
    count: int | str | None = Field(None, description="How many experts to draw.")
    backups: int | str | None = Field(None, description="How many backups to rank.")
    regions_in: Codes = None
    regions_out: Codes = None
    remote: bool | str | None = Field(
        None,
        description="A secondary venue's group (remote project): the system picks the venue at "
        "random among centres with `count` free seats, hidden until the opening.",
    )


class DrawRequestIn(Model):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "lot": "1",
                    "groups": [{"specialties": ["A0101"], "count": 5, "backups": 3}],
                }
            ]
        },
    )

    lot: str | None = Field(None, max_length=64, description="The lot's code, if it has lots.")
    is_offsite: bool | str | None = Field(None, description="Exclude the main centre's city.")
    regions_in: Codes = None
    regions_out: Codes = None
    groups: list[GroupIn] | None = Field(None, max_length=50)
    max_recent_draws: int | str | None = None
    distinct_employers: bool | str | None = None


class TerminalHeaders(IdempotencyHeaders):
    terminal_token: str | None = Field(
        None,
        alias="X-Terminal-Token",
        max_length=200,
        description="The credential of the registered terminal the request is made at.",
    )


class Sealed(Model):
    """Draw answers document every field and allow no other: a field added to the view without
    being described (and reviewed against the sealing rule) fails the response check."""


class GroupOut(Sealed):
    id: str
    specialties: list[str]
    regions_in: list[str]
    regions_out: list[str]
    count: int
    backups: int


class DrawRequestOut(Sealed):
    """What was asked and the request's status: never who was drawn, invited or booked."""

    id: int
    project_id: int
    lot: str | None
    parent_id: int | None
    status: str
    is_offsite: bool
    distinct_employers: bool
    max_recent_draws: int | None
    frequency_window_days: int
    expert_count: int
    committee_size: int
    evaluation_start_at: str
    evaluation_end_at: str
    terminal_id: int | None
    created_at: str
    groups: list[GroupOut]


class AttemptOut(Out):
    channel: str
    provider: str
    sid: str | None
    at: str
    updated_at: str
    status: str
    status_history: list[dict[str, str]]
    answered_by: str | None
    digits: str | None
    error_code: int | None
    is_final: bool


class InviteeOut(Out):
    invitation_id: int
    group_id: str
    rank: int
    expert_id: int | None
    pseudonym: str | None
    name: str
    phone: str = Field(description="Masked.")
    state: str
    answered_via: str | None
    answered_at: str | None
    deadline_at: str
    withdrawal_reason: str | None
    seat_venue: str | None
    attempts: list[AttemptOut]


class ProjectRef(Out):
    id: int
    code: str
    name: str


class ContactRecordOut(Out):
    """Closed phase only: refused (403 `not_awarded`) until the project is awarded."""

    draw_id: str
    project: ProjectRef
    invitees: list[InviteeOut]


class KeysOut(Out):
    current: str | None = Field(description="The id of the key that signs draws now.")
    keys: dict[str, str] = Field(description="Key id -> base64 raw Ed25519 public key.")
    report_certificates: list[str] = Field(
        default_factory=list,
        description="The report-signing certificates (PEM), current first (docs/reports.md).",
    )


@bp.route("/projects/<int:project_id>/draw-requests", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
@idempotent
@operation(
    tags=TAGS,
    scope="draws:write",
    json=DrawRequestIn,
    headers=TerminalHeaders,
    HTTP_201=DrawRequestOut,
)
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
        data=body(DrawRequestIn).model_dump(exclude_unset=True),
        rules=DrawRules.from_config(config()),
        now=now(),
        keys=state().keys,
    )
    return jsonify(draw_requests.request_view(req)), 201


@bp.route("/draw-requests/<int:request_id>", methods=["GET"])
@roles(*READERS)
@operation(tags=TAGS, scope="draws:read", HTTP_200=DrawRequestOut)
def draw_request_get(request_id: int) -> Any:
    """One draw request and its status (never names)."""
    req = draw_requests.get_request(db(), request_id)
    project_service.require_reader(db(), require_user(), req.project)
    return jsonify(draw_requests.request_view(req))


@bp.route("/notifications/draws/<draw_id>/record", methods=["GET"])
@roles(UserRole.SUPERVISOR)
@operation(
    tags=["contact record (after the award)"], scope="draws:record", HTTP_200=ContactRecordOut
)
def contact_record_api(draw_id: str) -> Any:
    """Every invitation of a draw and every attempt to reach the invitee, named: refused until
    the project is awarded; each reading is audited."""
    # For the supervisors of the draw's project's department only.
    project_service.require_reader(
        db(), require_user(), contact_record.project_of_draw(db(), draw_id)
    )
    record = contact_record.draw_contact_record(
        db(), draw_id, ctx=notification_services().ctx, actor=actor_label(), via="api"
    )
    return jsonify(record.as_dict())


@bp.route("/keys", methods=["GET"])
@public
@operation(tags=TAGS, public=True, HTTP_200=KeysOut)
def draw_keys() -> Any:
    """The draw-signing public keys (base64 raw Ed25519) by key id, and which one signs now."""
    keys = state().keys
    try:
        certs = [c.public_bytes(Encoding.PEM).decode("ascii") for c in keys.report_certificates()]
    except KeyFileError:
        certs = []
    try:
        return jsonify(
            {
                "current": keys.draw_signing_key()[0],
                "keys": keys.draw_public_keys(),
                "report_certificates": certs,
            }
        )
    except KeyFileError:
        return jsonify({"current": None, "keys": {}, "report_certificates": certs})
