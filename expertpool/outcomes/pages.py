"""A project's outcome from its page: failed, cancelled or postponed (staff of the owning
centre).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _

from expertpool.accounts.access import require_user, roles
from expertpool.accounts.models import UserRole
from expertpool.core.errors import ValidationFailed
from expertpool.core.state import db, now
from expertpool.notifications.notifier import notification_services
from expertpool.outcomes import outcomes
from expertpool.projects import pages as project_pages

bp = Blueprint("outcomes", __name__)


def _act(project_id: int, action: Callable[[], Any], done: str) -> Any:
    """Run one outcome; a refused one is shown on the project's page with its status (nothing
    saved), a done one redirects there."""
    try:
        action()
    except ValidationFailed as exc:
        db().rollback()
        for message in (exc.fields or {"outcome": exc.message}).values():
            flash(message, "error")
        return project_pages.project_detail(project_id), exc.http_status
    flash(done, "success")
    return redirect(url_for("projects.project_detail", project_id=project_id))


@bp.route("/projects/<int:project_id>/outcome", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def project_end(project_id: int) -> Any:
    """The tender failed (流标/废标) or the project is cancelled."""
    return _act(
        project_id,
        lambda: outcomes.end_project(
            db(),
            actor=require_user(),
            project_id=project_id,
            outcome=request.form.get("outcome", ""),
            failure_kind=request.form.get("failure_kind"),
            reason=request.form.get("reason"),
            ctx=notification_services().ctx,
            now=now(),
        ),
        _("The outcome is recorded; seats are released and accepted experts are told."),
    )


@bp.route("/projects/<int:project_id>/postpone", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def project_postpone(project_id: int) -> Any:
    """Move the evaluation to a later time, keeping the panel."""
    return _act(
        project_id,
        lambda: outcomes.postpone_project(
            db(),
            actor=require_user(),
            project_id=project_id,
            evaluation_start=request.form.get("evaluation_start"),
            reason=request.form.get("reason"),
            ctx=notification_services().ctx,
            now=now(),
        ),
        _("The evaluation is postponed; the experts are told the new time."),
    )
