"""The administrator's outbox (what was or would be sent, simulated answers) and anonymous
progress.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from expertpool.accounts.access import roles
from expertpool.accounts.models import UserRole
from expertpool.core.state import db
from expertpool.core.texts import _l
from expertpool.notifications import dispatcher as notifications
from expertpool.notifications.notifier import notification_services

bp = Blueprint("outbox", __name__, template_folder="templates")

STATE_LABELS = {
    "queued": _l("Queued"),
    "calling": _l("Contacting"),
    "accepted": _l("Accepted"),
    "declined": _l("Declined"),
    "no_response": _l("No response"),
    "unreachable": _l("Unreachable"),
    "withdrawn": _l("Withdrawn"),
}


@bp.app_template_filter("invitation_state_label")
def invitation_state_label(value: str | None) -> str:
    """The translated name of an invitation state."""
    return str(STATE_LABELS.get(value or "", value or ""))


@bp.route("/admin/outbox", endpoint="index")
@roles(UserRole.ADMIN)
def outbox_index() -> str:
    """Every recent message and call with its attempts; console calls can be answered here."""
    services = notification_services()
    notifier = services.notifier
    rows = notifications.outbox_rows(db(), services.ctx)
    return render_template(
        "notifications/outbox.html",
        rows=rows,
        provider=getattr(notifier, "provider", ""),
        counts=notifications.progress_counts(db()),
    )


@bp.route("/admin/outbox/<int:message_id>/simulate", methods=["POST"])
@roles(UserRole.ADMIN)
def simulate(message_id: int) -> Any:
    """Answer a console message as the expert would."""
    services = notification_services()
    notifications.simulate(
        db(), services.notifier, message_id, request.form.get("action", ""), ctx=services.ctx
    )
    flash(_("Simulated answer recorded."), "success")
    return redirect(url_for("outbox.index"))


@bp.route("/notifications/progress")
@roles(UserRole.CENTRE_STAFF, UserRole.SUPERVISOR, UserRole.ADMIN)
def progress() -> str:
    """How many invitations stand in each state: counts only, never who."""
    draw_id = request.args.get("draw") or None
    return render_template(
        "notifications/progress.html", counts=notifications.progress_counts(db(), draw_id)
    )
