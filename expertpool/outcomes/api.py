"""The JSON API of outcomes (under /api/v1): a project failed or cancelled, or its evaluation
postponed.

Answers carry the project as the projects API shows it: status and times, never a panel.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from pydantic import ConfigDict, Field

from expertpool.accounts.access import require_user, roles
from expertpool.accounts.models import UserRole
from expertpool.core.api import PREFIX, Model, body, operation
from expertpool.core.state import db, now
from expertpool.notifications.notifier import notification_services
from expertpool.outcomes import outcomes
from expertpool.projects import projects
from expertpool.projects.api import ProjectOut

bp = Blueprint("outcomes_api", __name__, url_prefix=PREFIX)
OUTCOMES = ["projects"]
Text = str | None


class OutcomeIn(Model):
    """How the project ends: failed (流标/废标) or cancelled, with why."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"outcome": "failed", "failure_kind": "too_few_bids", "reason": "投标人不足三家"}
            ]
        },
    )

    outcome: Text = Field(None, max_length=20, description="failed or cancelled.")
    failure_kind: Text = Field(None, max_length=40, description="Why it failed (for failed).")
    reason: Text = Field(None, max_length=1000)


class PostponeIn(Model):
    """The new evaluation start (China Standard Time), with why."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"evaluation_start": "2030-06-12T09:00", "reason": "场地调整"}]
        },
    )

    evaluation_start: Text = Field(None, max_length=40, description="e.g. 2030-06-12T09:00.")
    reason: Text = Field(None, max_length=1000)


@bp.route("/projects/<int:project_id>/outcome", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
@operation(tags=OUTCOMES, scope="projects:write", json=OutcomeIn, HTTP_200=ProjectOut)
def project_end(project_id: int) -> Any:
    """End a project as failed or cancelled: bookings are released and accepted experts told."""
    data = body(OutcomeIn)
    project = outcomes.end_project(
        db(),
        actor=require_user(),
        project_id=project_id,
        outcome=data.outcome or "",
        failure_kind=data.failure_kind,
        reason=data.reason,
        ctx=notification_services().ctx,
        now=now(),
    )
    return jsonify(projects.project_view(project))


@bp.route("/projects/<int:project_id>/postpone", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
@operation(tags=OUTCOMES, scope="projects:write", json=PostponeIn, HTTP_200=ProjectOut)
def project_postpone(project_id: int) -> Any:
    """Postpone the evaluation: the panel is kept and told the new time."""
    data = body(PostponeIn)
    project = outcomes.postpone_project(
        db(),
        actor=require_user(),
        project_id=project_id,
        evaluation_start=data.evaluation_start,
        reason=data.reason,
        ctx=notification_services().ctx,
        now=now(),
    )
    return jsonify(projects.project_view(project))
