"""Administration, separated three ways (三员分立): the system administrator manages accounts,
the security administrator grants roles and keeps the keys, the audit administrator reads and
exports the audit trail. Every action of each is in the audit trail; reading it is too."""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from openpyxl import Workbook
from sqlalchemy import func, or_, select

from expertpool.accounts import users
from expertpool.accounts.access import actor_label, open_login, require_user, roles
from expertpool.accounts.models import ADMINISTRATORS, Centre, User, UserRole
from expertpool.core import audit as audit_trail
from expertpool.core.errors import Forbidden, NotFound, ValidationFailed
from expertpool.core.forms import parse_id
from expertpool.core.keys import KeyFileError
from expertpool.core.models import AuditEntry
from expertpool.core.state import db, state

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")
PAGE = 50
USERS_PAGE = 100
EXPORT_LIMIT = 100_000
OPERATIONAL_ROLES = [r for r in UserRole if r not in ADMINISTRATORS]


def _centres() -> list[Centre]:
    return list(db().execute(select(Centre).order_by(Centre.region_code)).scalars())


def _paging(stmt: Any) -> tuple[int, int, int]:
    """(rows, the page asked for in `?page=` within range, pages) of a query of users."""
    total = int(db().execute(select(func.count()).select_from(stmt.subquery())).scalar_one())
    pages = max(1, (total - 1) // USERS_PAGE + 1)
    page = request.args.get("page", "1")
    return total, max(1, min(int(page) if page.isdigit() else 1, pages)), pages


# System administrator: accounts ------------------------------------------------------------------


@bp.route("/users", endpoint="users")
@roles(UserRole.ADMIN)
def users_list() -> str:
    """Users by username, a page at a time (every expert has an account: thousands), filterable
    by role and by a part of the username or name."""
    stmt = select(User)
    role = request.args.get("role")
    if role in {r.value for r in UserRole}:
        stmt = stmt.where(User.role == UserRole(role))
    q = (request.args.get("q") or "").strip()[:64]
    if q:
        stmt = stmt.where(
            or_(
                User.username.contains(q, autoescape=True),
                User.display_name.contains(q, autoescape=True),
            )
        )
    total, page_no, pages = _paging(stmt)
    found = db().execute(
        stmt.order_by(User.username).offset((page_no - 1) * USERS_PAGE).limit(USERS_PAGE)
    )
    return render_template(
        "accounts/users.html",
        users=list(found.scalars()),
        roles=list(UserRole),
        role=role,
        q=q,
        page=page_no,
        pages=pages,
        total=total,
        has_password=users.has_password,
    )


@bp.route("/users/new", methods=["GET", "POST"])
@roles(UserRole.ADMIN)
def user_new() -> Any:
    """Create an account with an operational role (administrator roles are granted elsewhere)."""
    errors: dict[str, str] = {}
    form = request.form
    if request.method == "POST":
        try:
            users.refuse_role_grant(None, form.get("role", ""))
            users.create_user(
                db(),
                actor=actor_label(),
                username=form.get("username", "").strip(),
                display_name=form.get("display_name", ""),
                password=form.get("password", ""),
                role=form.get("role", ""),
                centre_code=form.get("centre") or None,
                strong=True,
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
        roles=OPERATIONAL_ROLES,
        centres=_centres(),
    ), (422 if errors else 200)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles(UserRole.ADMIN)
def user_edit(user_id: int) -> Any:
    """Change an account's centre, name or active flag, or set a new password. The role stays:
    the security administrator changes it. Other administrators' accounts are theirs to keep."""
    user = db().get(User, user_id)
    if user is None:
        raise NotFound()
    me = require_user()
    if user.role.is_administrator and user.id != me.id:
        raise Forbidden(_("Administrators' accounts are kept by the security administrator."))
    errors: dict[str, str] = {}
    form = request.form
    if request.method == "POST":
        try:
            users.refuse_role_grant(user, form.get("role", user.role.value))
            users.update_user(
                db(),
                actor=actor_label(),
                user_id=user_id,
                display_name=form.get("display_name", ""),
                role=user.role.value,
                centre_code=form.get("centre") or None,
                is_active=form.get("is_active") == "on",
                password=form.get("password") or None,
            )
            if form.get("password") and user_id == me.id:
                # An administrator who resets their own password stays logged in here (only here).
                open_login(user)
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
        roles=[user.role],
        centres=_centres(),
    ), (422 if errors else 200)


# Security administrator: roles and keys ----------------------------------------------------------


@bp.route("/roles", methods=["GET", "POST"])
@roles(UserRole.SECURITY_ADMIN)
def role_grants() -> Any:
    """Every account with its role; the security administrator gives an account another role."""
    session = db()
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            target = users.change_role(
                session,
                actor=require_user(),
                user_id=parse_id(request.form.get("user_id"), "user_id"),
                role=request.form.get("role", ""),
            )
        except ValidationFailed as exc:
            session.rollback()
            errors = exc.fields
        else:
            flash(_("%(user)s is now: %(role)s", user=target.username, role=target.role.value))
            return redirect(url_for("admin.role_grants"))
    # Thousands of expert accounts made in bulk await activation: they are listed when searched.
    stmt = select(User)
    q = (request.args.get("q") or "").strip()[:64]
    if q:
        stmt = stmt.where(
            or_(
                User.username.contains(q, autoescape=True),
                User.display_name.contains(q, autoescape=True),
            )
        )
    else:
        stmt = stmt.where(User.password_hash != users.NO_PASSWORD)
    total, page_no, pages = _paging(stmt)
    accounts = list(
        session.execute(
            stmt.order_by(User.role, User.username)
            .offset((page_no - 1) * USERS_PAGE)
            .limit(USERS_PAGE)
        ).scalars()
    )
    return render_template(
        "accounts/roles.html",
        accounts=accounts,
        roles=list(UserRole),
        errors=errors,
        q=q,
        page=page_no,
        pages=pages,
        total=total,
    ), (422 if errors else 200)


@bp.route("/keys")
@roles(UserRole.SECURITY_ADMIN)
def key_status() -> str:
    """The key files' state (ids only, never key material) and the history of rotations."""
    keys = state().keys
    try:
        pii_ring = keys.pii_ring()
        retired = sorted(set(pii_ring.keys) - {pii_ring.current})
        pii: dict[str, Any] = {"current": pii_ring.current, "retired": retired}
        draw_current = keys.draw_signing_key()[0]
        draw_all = sorted(keys.draw_public_keys())
    except KeyFileError:
        pii, draw_current, draw_all = {"current": None, "retired": []}, None, []
    rotations = list(
        db()
        .execute(
            select(AuditEntry)
            .where(AuditEntry.action.startswith("keys.") | (AuditEntry.action == "pii.rotate"))
            .order_by(AuditEntry.seq.desc())
            .limit(50)
        )
        .scalars()
    )
    return render_template(
        "accounts/keys.html",
        pii=pii,
        draw_current=draw_current,
        draw_retired=[k for k in draw_all if k != draw_current],
        rotations=rotations,
    )


# Audit administrator: the audit trail -----------------------------------------------------------


def _audit_query(action: str | None) -> Any:
    stmt = select(AuditEntry).order_by(AuditEntry.seq.desc())
    if action:
        stmt = stmt.where(AuditEntry.action.startswith(action, autoescape=True))
    return stmt


def _record_reading(what: str, action: str | None, page: int | None = None) -> None:
    """Each reading of the trail is itself recorded (and committed) before the page is shown."""
    session = db()
    audit_trail.record(
        session,
        actor=actor_label(),
        action=f"audit.{what}",
        object_type="audit",
        object_id="trail",
        after={"filter": action or "", **({"page": page} if page else {})},
    )
    session.commit()


@bp.route("/audit")
@roles(UserRole.AUDIT_ADMIN)
def audit() -> str:
    """The audit trail, newest first."""
    session = db()
    page = max(1, request.args.get("page", 1, type=int) or 1)
    action = request.args.get("action") or None
    _record_reading("read", action, page)
    count_stmt = select(func.count()).select_from(AuditEntry)
    if action:
        count_stmt = count_stmt.where(AuditEntry.action.startswith(action, autoescape=True))
    total = session.execute(count_stmt).scalar_one()
    entries = list(
        session.execute(_audit_query(action).offset((page - 1) * PAGE).limit(PAGE)).scalars()
    )
    return render_template(
        "accounts/audit.html", entries=entries, page=page, total=total, per_page=PAGE, action=action
    )


@bp.route("/audit/export.xlsx")
@roles(UserRole.AUDIT_ADMIN)
def audit_export() -> Response:
    """The audit trail (or the entries of one action prefix) as a spreadsheet."""
    action = request.args.get("action") or None
    _record_reading("export", action)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("audit")
    sheet.append(["seq", "at (UTC)", "actor", "action", "object", "id", "before", "after", "hash"])
    rows = db().execute(_audit_query(action).limit(EXPORT_LIMIT)).scalars()
    for e in rows:
        sheet.append(
            [
                e.seq,
                e.at.replace(tzinfo=None),
                e.actor,
                e.action,
                e.object_type,
                str(e.object_id),
                e.before,
                e.after,
                e.hash,
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return Response(
        out.getvalue(),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="audit-trail.xlsx"'},
    )
