"""The administrator's outbox: delivery numbers only; and, with the console notifier alone, the
local simulation page (every message, its text and links, simulated answers).

With a real provider the outbox holds messages to real people about a panel that is still
sealed, so no page shows a message, a recipient, a text, an answer link or an invitation: the
simulation page and its endpoint do not exist (404). Invitation progress is per draw and lives
with the draws (`draws.progress`), which decide who may read it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from expertpool.accounts.access import roles
from expertpool.accounts.models import UserRole
from expertpool.core.state import db
from expertpool.core.texts import _l
from expertpool.notifications import dispatcher as notifications
from expertpool.notifications.notifier import NotificationServices, notification_services

bp = Blueprint("outbox", __name__, template_folder="templates")

STATE_LABELS = {
    "queued": _l("Queued"),
    "calling": _l("Contacting"),
    "accepted": _l("Accepted"),
    "declined": _l("Declined"),
    "no_response": _l("No response"),
    "unreachable": _l("Unreachable"),
    "withdrawn": _l("Withdrawn"),
    "not_needed": _l("Not needed (the place went meanwhile)"),
}


@bp.app_template_filter("invitation_state_label")
def invitation_state_label(value: str | None) -> str:
    """The translated name of an invitation state."""
    return str(STATE_LABELS.get(value or "", value or ""))


def _simulation_services() -> NotificationServices:
    """The collaborators, when the notifier is the console one; otherwise the page is not there."""
    services = notification_services()
    if not notifications.is_simulation(services.notifier):
        abort(404)
    return services


@bp.route("/admin/outbox", endpoint="index")
@roles(UserRole.ADMIN)
def outbox_index() -> str:
    """The outbox as numbers: per status, channel and kind, provider delivery states, retries."""
    services = notification_services()
    return render_template(
        "notifications/outbox.html",
        summary=notifications.outbox_summary(db()),
        provider=getattr(services.notifier, "provider", ""),
        is_simulation=notifications.is_simulation(services.notifier),
    )


@bp.route("/admin/outbox/simulation", endpoint="simulation")
@roles(UserRole.ADMIN)
def simulation() -> str:
    """Console notifier only: every recent message with its text, and simulated answers."""
    services = _simulation_services()
    return render_template(
        "notifications/simulation.html",
        rows=notifications.outbox_rows(db(), services.ctx, services.notifier),
        direct=notifications.direct_messages(services.notifier),
        provider=getattr(services.notifier, "provider", ""),
    )


@bp.route("/admin/outbox/simulation/<int:message_id>", methods=["POST"], endpoint="simulate")
@roles(UserRole.ADMIN)
def simulate(message_id: int) -> Any:
    """Answer a console message as the expert would (console notifier only)."""
    services = _simulation_services()
    notifications.simulate(
        db(), services.notifier, message_id, request.form.get("action", ""), ctx=services.ctx
    )
    flash(_("Simulated answer recorded."), "success")
    return redirect(url_for("outbox.simulation"))
