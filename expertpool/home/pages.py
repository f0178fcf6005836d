"""The landing page and each role's dashboard."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, url_for
from flask_babel import get_locale

from evaluation_room.model import Phase
from expertpool.accounts.access import current_user, login_required, public, require_user
from expertpool.accounts.models import UserRole
from expertpool.core.state import config, db, state
from expertpool.experts import records
from expertpool.home.navigation import menu_for
from expertpool.notifications import own
from expertpool.rooms import sessions as rooms

bp = Blueprint("main", __name__, template_folder="templates")


@bp.route("/")
@public
def index() -> Any:
    """Send visitors to their dashboard or to the login page."""
    if current_user() is None:
        return redirect(url_for("auth.login"))
    return redirect(url_for("main.dashboard"))


@bp.route("/dashboard")
@login_required
def dashboard() -> str:
    """The home page of a logged-in user; an expert's shows their invitations, sessions and
    history (their own only)."""
    user = require_user()
    if user.role is not UserRole.EXPERT:
        return render_template("home/dashboard.html")
    expert = records.record_of(db(), user)
    invitations = own.invitations_of(db(), state().keys, expert.id) if expert else []
    sessions = rooms.sessions_of(db(), user, state().keys)
    return render_template(
        "home/dashboard.html",
        expert=expert,
        open_invitations=[i for i in invitations if i.state.is_open],
        past_invitations=[i for i in invitations if not i.state.is_open],
        current_sessions=[(r, part) for r, part in sessions if r.phase not in CLOSED_PHASES],
        past_sessions=[(r, part) for r, part in sessions if r.phase in CLOSED_PHASES],
    )


#: Room phases after which a session belongs to the expert's history.
CLOSED_PHASES = frozenset({Phase.ARCHIVED.value})


@bp.route("/healthz")
@public
def healthz() -> dict[str, str]:
    """Liveness probe for load balancers."""
    return {"status": "ok"}


@bp.app_context_processor
def _inject() -> dict[str, Any]:
    """What every page's layout needs: the user, their menu and the interface language."""
    user = current_user()
    single_admin = config().single_admin
    return {
        "current_user": user,
        "menu": menu_for(user.role if user else None, single_admin=single_admin),
        "single_admin": single_admin,
        "current_locale": str(get_locale()),
    }
