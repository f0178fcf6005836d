"""Public pages where an expert activates their account or replaces a forgotten password with a
one-time SMS code (`account_codes`).

Both steps are limited per address (`account_code_rate_limit`); the service limits codes per
account and attempts per code. The first step answers the same whether or not an account matched.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from expertpool.accounts.access import public
from expertpool.core.errors import ValidationFailed
from expertpool.core.state import config, db, limiter, now
from expertpool.notifications import account_codes
from expertpool.notifications.notifier import notification_services

bp = Blueprint("activation", __name__, template_folder="templates")

#: What the visitor typed in the first step, carried to the second in their own session cookie.
IDENTIFIER = "activation_for"


def _limit() -> str:
    return config().account_code_rate_limit


@bp.route("/account/activate", methods=["GET", "POST"])
@public
@limiter.limit(_limit, key_func=lambda: f"acct-code|{request.remote_addr}", methods=["POST"])
def start() -> Any:
    """Name the account by username or mobile number; a code goes to the mobile on record."""
    errors: dict[str, str] = {}
    identifier = (request.form.get("identifier") or "").strip()
    if request.method == "POST":
        if not identifier:
            errors["identifier"] = _("Required.")
        else:
            account_codes.request_code(
                db(),
                notification_services().ctx,
                identifier=identifier,
                ip=request.remote_addr,
                now=now(),
                language="en" if str(get_locale()) == "en" else "zh",
            )
            session[IDENTIFIER] = identifier[:64]
            flash(
                _(
                    "If an expert account matches, a code was sent by SMS to the mobile number "
                    "on record. It is valid for %(n)d minutes.",
                    n=config().account_code_ttl_minutes,
                ),
                "success",
            )
            return redirect(url_for("activation.finish"))
    return render_template("notifications/activate.html", identifier=identifier, errors=errors), (
        422 if errors else 200
    )


@bp.route("/account/activate/code", methods=["GET", "POST"])
@public
@limiter.limit(_limit, key_func=lambda: f"acct-verify|{request.remote_addr}", methods=["POST"])
def finish() -> Any:
    """Enter the code and a new password; the password is set and every session of it ends."""
    errors: dict[str, str] = {}
    identifier = (request.form.get("identifier") or session.get(IDENTIFIER) or "").strip()
    if request.method == "POST":
        try:
            account_codes.set_password_with_code(
                db(),
                notification_services().ctx,
                identifier=identifier,
                code=request.form.get("code") or "",
                new=request.form.get("new_password") or "",
                confirm=request.form.get("confirm_password") or "",
                ip=request.remote_addr,
                now=now(),
            )
        except ValidationFailed as exc:
            errors = exc.fields
        else:
            session.pop(IDENTIFIER, None)
            flash(
                _(
                    "Your password is set: log in with the username given in the SMS and your "
                    "new password."
                ),
                "success",
            )
            return redirect(url_for("auth.login"))
    return render_template(
        "notifications/activate_code.html",
        identifier=identifier,
        errors=errors,
        minutes=config().account_code_ttl_minutes,
    ), (422 if errors else 200)
