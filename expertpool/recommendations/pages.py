"""Pages of recommendations: the organisation contact's list and form, and the nominee's
one-time consent page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from expertpool.accounts.access import open_login, public, require_user, roles
from expertpool.accounts.models import User, UserRole
from expertpool.core.errors import ValidationFailed, must_exist
from expertpool.core.pii import PiiCipher
from expertpool.core.state import db, limiter, now, state
from expertpool.notifications.notifier import notification_services
from expertpool.organisations.directory import organisation_of
from expertpool.recommendations import nominations

bp = Blueprint("recommendations", __name__, template_folder="templates")


@bp.route("/org/recommendations", methods=["GET", "POST"])
@roles(UserRole.ORG_CONTACT)
def mine() -> Any:
    """The organisation's recommendations; the contact recommends a person."""
    session = db()
    user = require_user()
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = request.form
        try:
            nominations.recommend(
                session,
                notification_services().ctx,
                actor=user,
                name=form.get("name", ""),
                id_number=form.get("id_number", ""),
                phone=form.get("phone", ""),
                specialties=form.get("specialties", ""),
                now=now(),
                today=now().date(),
                language="en" if str(get_locale()) == "en" else "zh",
            )
        except ValidationFailed as exc:
            session.rollback()
            errors = exc.fields
        else:
            flash(_("Recommended. The nominee was sent a link to agree by SMS."), "success")
            return redirect(url_for("recommendations.mine"))
    cipher = PiiCipher.from_keys(state().keys)
    return render_template(
        "recommendations/mine.html",
        organisation=organisation_of(session, user),
        recommendations=nominations.of_organisation(session, cipher, user)
        if organisation_of(session, user)
        else [],
        errors=errors,
        form=request.form,
    ), (422 if errors else 200)


@bp.route("/r/<token>", methods=["GET", "POST"])
@public
@limiter.limit("10 per minute", methods=["POST"])
def consent(token: str) -> Any:
    """The nominee's one-time link: agree, choose a login, and go on to the application."""
    session = db()
    rec = nominations.by_token(session, token[:64], now=now())
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            expert = nominations.consent(
                session,
                notification_services().ctx,
                token=token[:64],
                username=request.form.get("username", "").strip(),
                password=request.form.get("password", ""),
                agrees=request.form.get("consent") == "on",
                now=now(),
            )
        except ValidationFailed as exc:
            session.rollback()
            errors = exc.fields
        else:
            open_login(must_exist(session.get(User, expert.user_id)))
            flash(_("Thank you. Complete your application and submit it."), "success")
            return redirect(url_for("experts.mine"))
    return render_template(
        "recommendations/consent.html",
        rec=rec,
        errors=errors,
        form=request.form,
    ), (422 if errors else 200)
