"""Pages of organisations: a contact's projects and representatives; the system administrator's
register of organisations and their contacts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from expertpool.accounts.access import actor_label, require_user, roles
from expertpool.accounts.models import UserRole
from expertpool.core.errors import NotFound, ValidationFailed
from expertpool.core.forms import parse_id
from expertpool.core.pii import PiiCipher
from expertpool.core.state import db, now, state
from expertpool.organisations import directory, representatives
from expertpool.organisations.models import Organisation

bp = Blueprint("organisations", __name__, template_folder="templates")


def _cipher() -> PiiCipher:
    return PiiCipher.from_keys(state().keys)


@bp.route("/org/projects")
@roles(UserRole.ORG_CONTACT)
def my_projects() -> str:
    """The projects of the contact's organisation, with their status only."""
    session = db()
    org = directory.organisation_of(session, require_user())
    projects = directory.projects_of(session, org) if org else []
    return render_template(
        "organisations/projects.html",
        organisation=org,
        projects=[(p, directory.role_on(org, p)) for p in projects],
    )


@bp.route("/org/projects/<int:project_id>", methods=["GET", "POST"])
@roles(UserRole.ORG_CONTACT)
def my_project(project_id: int) -> Any:
    """One project as its tenderer or agency sees it: status, lots and the representatives it
    names (never a committee member: the visibility table)."""
    session = db()
    user = require_user()
    project = directory.project_for_contact(session, user, project_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = request.form
        try:
            if form.get("remove"):
                representatives.remove_representative(
                    session, actor=user, project=project, rep_id=parse_id(form["remove"], "remove")
                )
            else:
                representatives.name_representative(
                    session,
                    actor=user,
                    project=project,
                    name=form.get("name", ""),
                    organisation_name=form.get("organisation_name", ""),
                    id_number=form.get("id_number", ""),
                    phone=form.get("phone", ""),
                    cipher=_cipher(),
                    today=now().date(),
                )
        except ValidationFailed as exc:
            session.rollback()
            errors = exc.fields
        except ValueError:
            session.rollback()
            raise NotFound() from None
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("organisations.my_project", project_id=project.id))
    return render_template(
        "organisations/project.html",
        project=project,
        place=directory.role_on(directory.organisation_of(session, user), project),
        representatives=representatives.representatives(session, project.id, _cipher()),
        naming_open=project.status in representatives.NAMING_OPEN,
        errors=errors,
        form=request.form,
    ), (422 if errors else 200)


@bp.route("/admin/organisations", methods=["GET", "POST"])
@roles(UserRole.ADMIN)
def register() -> Any:
    """Every organisation; the system administrator adds or updates one by its credit code."""
    session = db()
    errors: dict[str, str] = {}
    form = request.form
    if request.method == "POST":
        try:
            org = directory.save_organisation(
                session,
                actor=actor_label(),
                credit_code=form.get("credit_code", ""),
                name=form.get("name", ""),
                other_names=form.get("other_names", "").splitlines(),
                is_tenderer=form.get("is_tenderer") == "on",
                is_agency=form.get("is_agency") == "on",
                is_employer=form.get("is_employer") == "on",
            )
        except ValidationFailed as exc:
            session.rollback()
            errors = exc.fields
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("organisations.manage", organisation_id=org.id))
    return render_template(
        "organisations/register.html",
        organisations=directory.all_organisations(session),
        errors=errors,
        form=form,
    ), (422 if errors else 200)


@bp.route("/admin/organisations/<int:organisation_id>", methods=["GET", "POST"])
@roles(UserRole.ADMIN)
def manage(organisation_id: int) -> Any:
    """One organisation: its names and contact accounts."""
    session = db()
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise NotFound()
    errors: dict[str, str] = {}
    if request.method == "POST":
        remove = request.form.get("remove")
        try:
            directory.set_contact(
                session,
                actor=actor_label(),
                username=remove or request.form.get("username", ""),
                organisation_id=None if remove else org.id,
            )
        except ValidationFailed as exc:
            session.rollback()
            errors = exc.fields
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("organisations.manage", organisation_id=org.id))
    return render_template(
        "organisations/manage.html",
        organisation=org,
        contacts=directory.contacts(session, org.id),
        errors=errors,
        form=request.form,
    ), (422 if errors else 200)
