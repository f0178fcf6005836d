"""Login, logout and the language switch."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from expertpool.access import public
from expertpool.app import LOCALES
from expertpool.errors import Unauthenticated
from expertpool.extensions import config, db, limiter
from expertpool.services import users

bp = Blueprint("auth", __name__)


def _login_key() -> str:
    return f"{request.remote_addr}|{(request.form.get('username') or '').lower()}"


def _safe_next(target: str | None) -> str:
    if not target:
        return url_for("main.dashboard")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/"):
        return url_for("main.dashboard")
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(lambda: config().login_rate_limit, key_func=_login_key, methods=["POST"])
def login() -> Any:
    """Show the login form and log in."""
    error = None
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()
        try:
            user = users.login(db(), username, request.form.get("password") or "", request.remote_addr)
        except Unauthenticated as exc:
            return render_template("login.html", error=exc.message, username=username), 401
        lang = session.get("lang")
        session.clear()
        session.permanent = False
        session["uid"] = user.id
        session["pw"] = user.password_changed_at.isoformat()
        if lang:
            session["lang"] = lang
        return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", error=error)


@bp.route("/logout", methods=["POST"])
@public
def logout() -> Response:
    """End the session."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    return redirect(url_for("auth.login"))


@bp.route("/lang/<code>", methods=["POST"])
@public
def set_language(code: str) -> Response:
    """Switch the interface language."""
    if code in LOCALES:
        session["lang"] = code
    return redirect(_safe_next(request.form.get("next") or (request.referrer and urlsplit(request.referrer).path)))


@bp.app_context_processor
def _inject() -> dict[str, Any]:
    from flask_babel import get_locale

    from expertpool.access import current_user
    from expertpool.navigation import menu_for

    user = current_user()
    return {
        "current_user": user,
        "menu": menu_for(user.role if user else None),
        "current_locale": str(get_locale()),
    }
