"""Login, logout and the language switch."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from expertpool.accounts import logins, users
from expertpool.accounts.access import (
    close_login,
    login_required,
    open_login,
    public,
    require_user,
    session_timeouts,
)
from expertpool.accounts.labels import role_label
from expertpool.accounts.throttle import form_username, throttled
from expertpool.core.db import utcnow
from expertpool.core.errors import Unauthenticated, ValidationFailed
from expertpool.core.forms import parse_id
from expertpool.core.state import config, db, limiter
from expertpool.core.texts import LOCALES

bp = Blueprint("auth", __name__, template_folder="templates")


def is_local_path(target: str | None) -> bool:
    """Whether `target` is a path on this site (never another host, however spelled)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    # Browsers read a backslash as a slash ("/\\evil.example") and drop tabs and newlines.
    if "\\" in target or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return False
    parts = urlsplit(target)
    return not (parts.scheme or parts.netloc)


def _safe_next(target: str | None) -> str:
    return target if target and is_local_path(target) else url_for("main.dashboard")


@bp.route("/login", methods=["GET", "POST"])
@public
@throttled(form_username)
def login() -> Any:
    """Show the login form and log in."""
    error = None
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()
        try:
            user = users.login(
                db(), username, request.form.get("password") or "", request.remote_addr
            )
        except Unauthenticated as exc:
            return render_template("accounts/login.html", error=exc.message, username=username), 401
        open_login(user)
        return redirect(_safe_next(request.args.get("next")))
    return render_template("accounts/login.html", error=error)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@limiter.limit(
    lambda: config().login_rate_limit, key_func=lambda: f"pw|{session.get('uid')}", methods=["POST"]
)
def change_password() -> Any:
    """Change one's own password; every other session and every API token of the user ends."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            user = users.change_own_password(
                db(),
                user_id=require_user().id,
                current=request.form.get("current_password") or "",
                new=request.form.get("new_password") or "",
                confirm=request.form.get("confirm_password") or "",
            )
        except ValidationFailed as exc:
            errors = exc.fields
        else:
            # Every session of the account ended with the old password; this browser goes on
            # in a new one.
            open_login(user)
            flash(_("Your password was changed; you were logged out everywhere else."), "success")
            return redirect(url_for("main.dashboard"))
    return render_template("accounts/password.html", errors=errors), (422 if errors else 200)


@bp.route("/account/sessions", methods=["GET", "POST"])
@login_required
def login_sessions() -> Any:
    """One's own login sessions: where and when, and a button to end each (or all others)."""
    user = require_user()
    current_id = g.get("login_session_id")
    if request.method == "POST":
        choice = request.form.get("end", "")
        if choice == "others":
            logins.end_others(db(), user.id, keep=current_id, now=utcnow())
        else:
            logins.end_own(db(), user.id, parse_id(choice, "end"), now=utcnow())
        flash(_("Session ended."), "success")
        return redirect(url_for("auth.login_sessions"))
    cfg = config()
    return render_template(
        "accounts/sessions.html",
        sessions=logins.live(db(), user.id, now=utcnow(), timeouts=session_timeouts()),
        current_id=current_id,
        idle_minutes=cfg.session_idle_minutes,
        absolute_hours=cfg.session_absolute_hours,
    )


@bp.route("/logout", methods=["POST"])
@public
def logout() -> Response:
    """End the session, on the server too."""
    close_login()
    return redirect(url_for("auth.login"))


@bp.route("/lang/<code>", methods=["POST"])
@public
def set_language(code: str) -> Response:
    """Switch the interface language."""
    if code in LOCALES:
        session["lang"] = code
    return redirect(
        _safe_next(
            request.form.get("next") or (request.referrer and urlsplit(request.referrer).path)
        )
    )


bp.add_app_template_filter(role_label, "role_label")
