"""The JSON API of outcomes: a project failed or cancelled, or its evaluation postponed.

Answers carry the project as the projects API shows it: status and times, never a panel.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _

from expertpool.accounts.access import require_user, roles
from expertpool.accounts.models import UserRole
from expertpool.core.errors import ValidationFailed
from expertpool.core.state import db, now
from expertpool.notifications.notifier import notification_services
from expertpool.outcomes import outcomes
from expertpool.projects import projects

bp = Blueprint("outcomes_api", __name__, url_prefix="/api")


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed(
            _("Send a JSON object."), fields={"body": _("Expected a JSON object.")}
        )
    return body


@bp.route("/projects/<int:project_id>/outcome", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def project_end(project_id: int) -> Any:
    """`{"outcome": "failed"|"cancelled", "failure_kind": ..., "reason": ...}`."""
    body = _body()
    project = outcomes.end_project(
        db(),
        actor=require_user(),
        project_id=project_id,
        outcome=str(body.get("outcome", "")),
        failure_kind=body.get("failure_kind"),
        reason=body.get("reason"),
        ctx=notification_services().ctx,
        now=now(),
    )
    return jsonify(projects.project_view(project))


@bp.route("/projects/<int:project_id>/postpone", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def project_postpone(project_id: int) -> Any:
    """`{"evaluation_start": "2026-12-08T09:00", "reason": ...}` (China Standard Time)."""
    body = _body()
    project = outcomes.postpone_project(
        db(),
        actor=require_user(),
        project_id=project_id,
        evaluation_start=body.get("evaluation_start"),
        reason=body.get("reason"),
        ctx=notification_services().ctx,
        now=now(),
    )
    return jsonify(projects.project_view(project))
