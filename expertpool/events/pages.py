"""Outbound events on the web: a centre's staff register, list and remove subscriptions and see
each one's deliveries; an administrator sees every centre's. Event ids and states only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from expertpool.accounts.access import require_user, roles
from expertpool.accounts.models import UserRole
from expertpool.core.errors import Forbidden, ValidationFailed
from expertpool.core.pii import PiiCipher
from expertpool.core.state import db, now, state
from expertpool.events import events

bp = Blueprint("events", __name__, template_folder="templates")


@bp.route("/events/subscriptions", methods=["GET", "POST"])
@roles(UserRole.CENTRE_STAFF, UserRole.ADMIN)
def subscriptions() -> Any:
    """The subscriptions (of the user's centre), and a form to register one."""
    user = require_user()
    errors: dict[str, Any] = {}
    created = None
    if request.method == "POST":
        try:
            created = events.subscribe(
                db(),
                user=user,
                token_scopes=None,
                client=request.form.get("client", ""),
                scope=request.form.get("scope", ""),
                url=request.form.get("url", ""),
                cipher=PiiCipher.from_keys(state().keys),
                allow_http=state().config.events_allow_http,
                now=now(),
            )
        except (ValidationFailed, Forbidden) as exc:
            db().rollback()
            errors = dict(exc.fields or {"url": exc.message})
    return render_template(
        "events/subscriptions.html",
        subs=events.subscriptions_of(db(), user),
        scopes=events.SUBSCRIBABLE_SCOPES,
        event_scopes=events.EVENT_SCOPES,
        created=created,
        errors=errors,
        form=request.form,
    ), (422 if errors else 200)


@bp.route("/events/subscriptions/<int:sub_id>", methods=["GET"])
@roles(UserRole.CENTRE_STAFF, UserRole.ADMIN)
def deliveries(sub_id: int) -> str:
    """One subscription's deliveries, newest first."""
    sub = events.subscription_for(db(), require_user(), sub_id)
    return render_template(
        "events/deliveries.html", sub=sub, deliveries=events.deliveries_of(db(), sub)
    )


@bp.route("/events/subscriptions/<int:sub_id>/remove", methods=["POST"])
@roles(UserRole.CENTRE_STAFF, UserRole.ADMIN)
def remove(sub_id: int) -> Any:
    """Stop a subscription."""
    sub = events.subscription_for(db(), require_user(), sub_id)
    events.remove(db(), sub, now=now())
    flash(_("The subscription is removed; nothing more is sent to it."), "success")
    return redirect(url_for("events.subscriptions"))
