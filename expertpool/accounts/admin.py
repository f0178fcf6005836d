"""Administration: users, roles, centre membership; the audit trail."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask import session as flask_session
from flask_babel import gettext as _
from sqlalchemy import func, select

from expertpool.accounts import users
from expertpool.accounts.access import actor_label, require_user, roles
from expertpool.accounts.models import Centre, User, UserRole
from expertpool.core.errors import NotFound, ValidationFailed
from expertpool.core.models import AuditEntry
from expertpool.core.state import db

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")
PAGE = 50


def _centres() -> list[Centre]:
    return list(db().execute(select(Centre).order_by(Centre.region_code)).scalars())


@bp.route("/users", endpoint="users")
@roles(UserRole.ADMIN)
def users_list() -> str:
    """All users, filterable by role."""
    stmt = select(User).order_by(User.username)
    role = request.args.get("role")
    if role in {r.value for r in UserRole}:
        stmt = stmt.where(User.role == UserRole(role))
    return render_template(
        "accounts/users.html",
        users=list(db().execute(stmt).scalars()),
        roles=list(UserRole),
        role=role,
    )


@bp.route("/users/new", methods=["GET", "POST"])
@roles(UserRole.ADMIN)
def user_new() -> Any:
    """Create a user."""
    errors: dict[str, str] = {}
    form = request.form
    if request.method == "POST":
        try:
            users.create_user(
                db(),
                actor=actor_label(),
                username=form.get("username", "").strip(),
                display_name=form.get("display_name", ""),
                password=form.get("password", ""),
                role=form.get("role", ""),
                centre_code=form.get("centre") or None,
            )
        except ValidationFailed as exc:
            errors = exc.fields
        else:
            flash(_("User created."), "success")
            return redirect(url_for("admin.users"))
    return render_template(
        "accounts/user_form.html",
        user=None,
        form=form,
        errors=errors,
        roles=list(UserRole),
        centres=_centres(),
    ), (422 if errors else 200)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles(UserRole.ADMIN)
def user_edit(user_id: int) -> Any:
    """Change a user's role, centre, name or active flag, or set a new password."""
    user = db().get(User, user_id)
    if user is None:
        raise NotFound()
    errors: dict[str, str] = {}
    form = request.form
    if request.method == "POST":
        try:
            users.update_user(
                db(),
                actor=actor_label(),
                user_id=user_id,
                display_name=form.get("display_name", ""),
                role=form.get("role", ""),
                centre_code=form.get("centre") or None,
                is_active=form.get("is_active") == "on",
                password=form.get("password") or None,
            )
            if form.get("password") and user_id == require_user().id:
                # An administrator who resets their own password stays logged in here (only here).
                flask_session["pw"] = user.password_changed_at.isoformat()
        except ValidationFailed as exc:
            errors = exc.fields
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("admin.users"))
    return render_template(
        "accounts/user_form.html",
        user=user,
        form=form,
        errors=errors,
        roles=list(UserRole),
        centres=_centres(),
    ), (422 if errors else 200)


@bp.route("/audit")
@roles(UserRole.SUPERVISOR, UserRole.ADMIN)
def audit() -> str:
    """The audit trail, newest first."""
    session = db()
    page = max(1, request.args.get("page", 1, type=int) or 1)
    action = request.args.get("action") or None
    stmt = select(AuditEntry).order_by(AuditEntry.seq.desc())
    count_stmt = select(func.count()).select_from(AuditEntry)
    if action:
        stmt = stmt.where(AuditEntry.action.startswith(action, autoescape=True))
        count_stmt = count_stmt.where(AuditEntry.action.startswith(action, autoescape=True))
    total = session.execute(count_stmt).scalar_one()
    entries = list(session.execute(stmt.offset((page - 1) * PAGE).limit(PAGE)).scalars())
    return render_template(
        "accounts/audit.html", entries=entries, page=page, total=total, per_page=PAGE, action=action
    )
