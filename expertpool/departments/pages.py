"""Department pages: the list (who supervises what) and, for the system administrator, members."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from expertpool.accounts.access import actor_label, roles
from expertpool.accounts.models import UserRole
from expertpool.core.errors import NotFound, ValidationFailed
from expertpool.core.state import db
from expertpool.departments import members
from expertpool.departments.catalogue import all_departments, region_names
from expertpool.departments.coverage import coverage
from expertpool.departments.models import Department

bp = Blueprint("departments", __name__, template_folder="templates")

READERS = (UserRole.ADMIN, UserRole.REVIEWER, UserRole.SUPERVISOR, UserRole.SECURITY_ADMIN)


@bp.route("/departments")
@roles(*READERS)
def index() -> str:
    """Every department with its field, region and what the field covers."""
    session = db()
    return render_template(
        "departments/index.html",
        departments=all_departments(session),
        regions=region_names(session),
        coverage=coverage(),
    )


@bp.route("/admin/departments/<int:department_id>", methods=["GET", "POST"])
@roles(UserRole.ADMIN)
def manage(department_id: int) -> Any:
    """The members of one department; the system administrator adds and removes them."""
    session = db()
    dept = session.get(Department, department_id)
    if dept is None:
        raise NotFound()
    errors: dict[str, str] = {}
    if request.method == "POST":
        remove = request.form.get("remove")
        try:
            members.assign(
                session,
                actor=actor_label(),
                username=remove or request.form.get("username", ""),
                department_id=None if remove else dept.id,
            )
        except ValidationFailed as exc:
            errors = exc.fields
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("departments.manage", department_id=dept.id))
    return render_template(
        "departments/manage.html",
        department=dept,
        members=members.members(session, dept.id),
        regions=region_names(session),
        coverage=coverage(),
        errors=errors,
        form=request.form,
    ), (422 if errors else 200)
