"""Administration of draw terminals and venues with numbered seats; recognising a terminal."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from expertpool.accounts.access import actor_label, require_user, roles
from expertpool.accounts.models import Centre, UserRole
from expertpool.core.errors import ValidationFailed
from expertpool.core.state import db
from expertpool.projects import terminals, venues
from expertpool.projects.models import Terminal, VenueRecord
from expertpool.projects.projects import parse_moment

bp = Blueprint("terminals", __name__, template_folder="templates")


def _centres() -> list[Centre]:
    return list(db().execute(select(Centre).order_by(Centre.region_code)).scalars())


@bp.route("/admin/terminals", methods=["GET", "POST"])
@roles(UserRole.ADMIN)
def terminal_list() -> Any:
    """List terminals and register a new one; its credential is shown once, on this response
    only.
    """
    errors: dict[str, str] = {}
    credential = None
    registered = None
    if request.method == "POST":
        try:
            credential, registered = terminals.register_terminal(
                db(),
                actor=actor_label(),
                centre_code=request.form.get("centre", ""),
                name=request.form.get("name", ""),
            )
        except ValidationFailed as exc:
            errors = exc.fields
    response = render_template(
        "projects/terminals.html",
        terminals=terminals.list_terminals(db()),
        centres=_centres(),
        errors=errors,
        credential=credential,
        registered=registered,
        form=request.form,
    )
    return response, (422 if errors else 201 if credential else 200), {"Cache-Control": "no-store"}


@bp.route("/admin/terminals/<int:terminal_id>/disable", methods=["POST"])
@roles(UserRole.ADMIN)
def terminal_disable(terminal_id: int) -> Any:
    """Disable a terminal."""
    terminals.disable_terminal(db(), actor=actor_label(), terminal_id=terminal_id)
    flash(_("Terminal disabled."), "success")
    return redirect(url_for("terminals.terminal_list"))


@bp.route("/admin/venues", methods=["GET", "POST"])
@roles(UserRole.ADMIN)
def venue_list() -> Any:
    """List venues and create one with numbered seats."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            venue = venues.create_venue(
                db(),
                actor=actor_label(),
                centre_code=request.form.get("centre", ""),
                name=request.form.get("name", ""),
                address=request.form.get("address", ""),
                seats=request.form.get("seats", ""),
            )
        except ValidationFailed as exc:
            errors = exc.fields
        else:
            flash(_("Venue created with %(n)d seats.", n=len(venue.seats)), "success")
            return redirect(url_for("terminals.venue_list"))
    return render_template(
        "projects/venues.html",
        venues=venues.list_venues(db()),
        centres=_centres(),
        errors=errors,
        form=request.form,
    ), (422 if errors else 200)


@bp.route("/venues/availability")
@roles(UserRole.CENTRE_STAFF)
def venue_availability() -> Any:
    """The free seats (工位) of the staff member's own centre's venues over a window, computed
    from the live bookings: each venue's host sees only their own (docs/remote-venues.md)."""
    user = require_user()
    errors: dict[str, str] = {}
    rows: list[tuple[VenueRecord, int]] = []
    at_raw = request.args.get("at", "")
    hours_raw = request.args.get("hours", "4")
    if at_raw:
        try:
            starts_at = parse_moment(at_raw)
        except ValueError:
            errors["at"] = _("A date and time, e.g. 2026-12-01T09:00 (China Standard Time).")
        hours = int(hours_raw) if hours_raw.isdigit() and 1 <= int(hours_raw) <= 24 else None
        if hours is None:
            errors["hours"] = _("A whole number of hours from 1 to 24.")
        if not errors and hours is not None:
            ends_at = starts_at + timedelta(hours=hours)
            rows = [
                (v, len(venues.free_seats(db(), v.id, starts_at, ends_at)))
                for v in venues.list_venues(db(), centre_id=user.centre_id)
            ]
    return render_template(
        "projects/availability.html",
        rows=rows,
        errors=errors,
        at=at_raw,
        hours=hours_raw,
        centre=user.centre,
    ), (422 if errors else 200)


def terminal_from_request() -> Terminal:
    """The registered, active terminal this request comes from (header or terminal cookie)."""
    clear = request.headers.get(terminals.HEADER) or request.cookies.get(terminals.COOKIE)
    return terminals.resolve_terminal(db(), clear)
