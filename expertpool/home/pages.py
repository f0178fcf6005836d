"""The landing page and each role's dashboard."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, url_for
from flask_babel import get_locale

from expertpool.accounts.access import current_user, login_required, public
from expertpool.core.state import config
from expertpool.home.navigation import menu_for

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
    """The home page of a logged-in user."""
    return render_template("home/dashboard.html")


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
