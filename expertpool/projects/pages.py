"""Pages for projects, lots, bidders, awards and draw requests (centre staff; supervisors read)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from expertpool.accounts.access import actor_label, require_user, roles
from expertpool.accounts.models import Centre, UserRole
from expertpool.core.calendar import CST
from expertpool.core.errors import AppError, Forbidden, NotFound, ValidationFailed, must_exist
from expertpool.core.pii import PiiCipher
from expertpool.core.state import config, db, now, state
from expertpool.core.texts import _l
from expertpool.departments.models import Department
from expertpool.departments.scope import departments_in_region
from expertpool.projects import appointments as appointments_service
from expertpool.projects import people, projects, terminals
from expertpool.projects.models import PersonRole, Project, ProjectKind
from expertpool.projects.terminal_pages import terminal_from_request
from expertpool.regimes.models import LegalRegime, ProcurementMethod

bp = Blueprint("projects", __name__, template_folder="templates")
READERS = (UserRole.CENTRE_STAFF, UserRole.SUPERVISOR, UserRole.ADMIN)


def _project(project_id: int) -> Project:
    project = projects.get_project(db(), project_id)
    projects.require_reader(db(), require_user(), project)
    return project


def _form_data() -> dict[str, Any]:
    data: dict[str, Any] = {k: request.form.get(k) for k in request.form}
    data["secondary_centres"] = request.form.getlist("secondary_centres")
    return data


def _centres() -> list[Centre]:
    return list(db().execute(select(Centre).order_by(Centre.region_code)).scalars())


def _form_values(project: Project | None) -> dict[str, Any]:
    if project is None:
        return {}
    return {
        "code": project.code,
        "name": project.name,
        "kind": project.kind.value,
        "regime": project.regime.value,
        "method": project.method.value,
        "is_offsite": project.is_offsite,
        "is_special": project.is_special,
        "special_reason": project.special_reason,
        "budget": f"{project.budget_cny:.2f}",
        "tenderer_code": project.tenderer_code,
        "tenderer_name": project.tenderer_name,
        "agency_code": project.agency_code,
        "agency_name": project.agency_name,
        "tenderer_representatives": project.tenderer_representatives,
        "is_complex": project.is_complex,
        "is_remote": project.is_remote,
        "evaluation_start": project.evaluation_start_at.astimezone(CST).strftime("%Y-%m-%dT%H:%M"),
        "duration_minutes": project.duration_minutes,
        "main_centre": project.main_centre.region_code,
        "secondary_centres": [c.region_code for c in project.secondary_centres],
        "department": project.department.code if project.department else "",
    }


def _departments(centre: Centre | None) -> list[Department]:
    """The departments a project of this centre may be supervised by."""
    return departments_in_region(db(), centre.region_code) if centre else []


@bp.route("/projects")
@roles(*READERS)
def project_list() -> str:
    """Projects: centre staff see their centre's, supervisors their department's, administrators
    all."""
    user = require_user()
    return render_template(
        "projects/list.html",
        projects=projects.visible_projects(db(), user),
        can_edit=user.role is UserRole.CENTRE_STAFF,
    )


@bp.route("/projects/new", methods=["GET", "POST"])
@roles(UserRole.CENTRE_STAFF)
def project_new() -> Any:
    """Create a project owned by the staff member's centre."""
    user = require_user()
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        "main_centre": user.centre.region_code if user.centre else "",
        "duration_minutes": 240,
    }
    if request.method == "POST":
        values = _form_data()
        try:
            project = projects.create_project(
                db(),
                actor=actor_label(),
                owner_centre_id=must_exist(user.centre_id, Forbidden),
                data=values,
                now=now(),
                secondary_picked=config().remote_hide_secondary_venue,
            )
        except ValidationFailed as exc:
            errors = exc.fields
        else:
            flash(_("Project created."), "success")
            return redirect(url_for("projects.project_detail", project_id=project.id))
    return render_template(
        "projects/form.html",
        project=None,
        values=values,
        errors=errors,
        kinds=list(ProjectKind),
        regimes=list(LegalRegime),
        methods=list(ProcurementMethod),
        centres=_centres(),
        departments=_departments(require_user().centre),
    ), (422 if errors else 200)


@bp.route("/projects/<int:project_id>")
@roles(*READERS)
def project_detail(project_id: int) -> str:
    """One project with its lots, bidders, award and draw requests."""
    project = _project(project_id)
    user = require_user()
    return render_template(
        "projects/detail.html",
        project=project,
        rules=projects.project_rules(db(), project, at=now()),
        can_edit=user.role is UserRole.CENTRE_STAFF,
        errors={},
        **_people_context(project),
    )


@bp.route("/projects/<int:project_id>/edit", methods=["GET", "POST"])
@roles(UserRole.CENTRE_STAFF)
def project_edit(project_id: int) -> Any:
    """Change a project's details until it is drawn."""
    project = _project(project_id)
    errors: dict[str, str] = {}
    values = _form_values(project)
    if request.method == "POST":
        values = _form_data()
        try:
            projects.update_project(
                db(),
                actor=actor_label(),
                project_id=project.id,
                data=values,
                now=now(),
                secondary_picked=config().remote_hide_secondary_venue,
            )
        except ValidationFailed as exc:
            errors = exc.fields
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("projects.project_detail", project_id=project.id))
    return render_template(
        "projects/form.html",
        project=project,
        values=values,
        errors=errors,
        kinds=list(ProjectKind),
        regimes=list(LegalRegime),
        methods=list(ProcurementMethod),
        centres=_centres(),
        departments=_departments(require_user().centre),
    ), (422 if errors else 200)


PERSON_ROLE_LABELS = {
    "legal_representative": _l("Bidder's legal representative"),
    "director": _l("Bidder's director"),
    "manager": _l("Bidder's manager"),
    "planning": _l("Worked on the planning"),
    "design": _l("Worked on the design"),
}


def _people_context(project: Project) -> dict[str, Any]:
    """What the detail page shows of the people recorded for the conflict rules (a count)."""
    return {
        "project_people": people.people_of(db(), project.id),
        "person_roles": list(PersonRole),
        "person_role_labels": PERSON_ROLE_LABELS,
    }


def _detail_action(project_id: int, action: Callable[[], Any], done: str) -> Any:
    """Run one change from the detail page; errors are shown on the page with the right status."""
    project = _project(project_id)
    try:
        action()
    except ValidationFailed as exc:
        db().rollback()
        return render_template(
            "projects/detail.html",
            project=project,
            rules=projects.project_rules(db(), project, at=now()),
            can_edit=True,
            errors=exc.fields,
            form=request.form,
            **_people_context(project),
        ), 422
    flash(done, "success")
    return redirect(url_for("projects.project_detail", project_id=project.id))


@bp.route("/projects/<int:project_id>/lots", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def lot_add(project_id: int) -> Any:
    """Add a lot."""
    return _detail_action(
        project_id,
        lambda: projects.add_lot(
            db(),
            actor=actor_label(),
            project_id=project_id,
            code=request.form.get("lot_code"),
            name=request.form.get("lot_name"),
        ),
        _("Lot added."),
    )


@bp.route("/projects/<int:project_id>/lots/<int:lot_id>/delete", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def lot_remove(project_id: int, lot_id: int) -> Any:
    """Remove a lot and its bidders."""
    return _detail_action(
        project_id,
        lambda: projects.remove_lot(
            db(), actor=actor_label(), project_id=project_id, lot_id=lot_id
        ),
        _("Lot removed."),
    )


@bp.route("/projects/<int:project_id>/bidders", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def bidder_add(project_id: int) -> Any:
    """Add a bidder by credit code."""
    return _detail_action(
        project_id,
        lambda: projects.add_bidder(
            db(),
            actor=actor_label(),
            project_id=project_id,
            credit_code=request.form.get("credit_code"),
            name=request.form.get("bidder_name"),
            lot_code=request.form.get("lot") or None,
            is_small_enterprise=request.form.get("is_small_enterprise"),
        ),
        _("Bidder added."),
    )


@bp.route("/projects/<int:project_id>/people", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def person_add(project_id: int) -> Any:
    """Record a bidder's principal officer or a planner or designer, by ID number."""
    return _detail_action(
        project_id,
        lambda: people.record_person(
            db(),
            cipher=PiiCipher.from_keys(state().keys),
            actor=actor_label(),
            project_id=project_id,
            role=request.form.get("role"),
            id_number=request.form.get("id_number"),
            bidder_id=request.form.get("bidder", type=int),
        ),
        _("Recorded."),
    )


@bp.route("/projects/<int:project_id>/bidders/<int:bidder_id>/delete", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def bidder_remove(project_id: int, bidder_id: int) -> Any:
    """Remove a bidder."""
    return _detail_action(
        project_id,
        lambda: projects.remove_bidder(
            db(), actor=actor_label(), project_id=project_id, bidder_id=bidder_id
        ),
        _("Bidder removed."),
    )


@bp.route("/projects/<int:project_id>/ready", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def project_ready(project_id: int) -> Any:
    """Declare the project ready for the draw."""
    return _detail_action(
        project_id,
        lambda: projects.mark_ready(db(), actor=actor_label(), project_id=project_id, now=now()),
        _("The project is ready for the draw."),
    )


@bp.route("/projects/<int:project_id>/award", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def project_award(project_id: int) -> Any:
    """Record the award: date and winner."""
    return _detail_action(
        project_id,
        lambda: projects.mark_awarded(
            db(),
            actor=actor_label(),
            project_id=project_id,
            awarded_on=request.form.get("awarded_on"),
            winner_code=request.form.get("winner"),
            now=now(),
        ),
        _("Award recorded."),
    )


@bp.route("/projects/<int:project_id>/special/approve", methods=["POST"])
@roles(UserRole.SUPERVISOR)
def special_approve(project_id: int) -> Any:
    """A supervisor approves a special project's written reason."""
    return _detail_action(
        project_id,
        lambda: projects.approve_special(
            db(),
            actor=require_user(),
            project_id=project_id,
            now=now(),
        ),
        _("The special project is approved."),
    )


@bp.route("/terminal", methods=["GET", "POST"])
@roles(UserRole.CENTRE_STAFF)
def terminal_enrol() -> Any:
    """Make this browser a draw terminal by entering the terminal's credential once."""
    errors: dict[str, str] = {}
    current = None
    try:
        current = terminal_from_request()
    except AppError:
        current = None
    if request.method == "POST":
        clear = (request.form.get("token") or "").strip()
        try:
            terminal = terminals.resolve_terminal(db(), clear)
            terminals.check_terminal_for(terminal, require_user().centre_id)
        except AppError as exc:
            errors = {"token": exc.message}
        else:
            flash(_("This browser is now the terminal %(name)s.", name=terminal.name), "success")
            response = redirect(url_for("projects.terminal_enrol"))
            response.set_cookie(
                terminals.COOKIE,
                clear,
                max_age=365 * 24 * 3600,
                httponly=True,
                samesite="Strict",
                secure=config().session_cookie_secure,
            )
            return response
    return render_template("projects/terminal.html", current=current, errors=errors), (
        422 if errors else 200
    )


# Special projects: direct appointment (not drawn) ------------------------------------------------


@bp.route("/projects/<int:project_id>/appointments", methods=["GET", "POST"])
@roles(UserRole.CENTRE_STAFF, UserRole.SUPERVISOR)
def appointments(project_id: int) -> Any:
    """A special project's directly appointed experts: staff record them with a reason, supervisors
    decide.
    """
    project = db().get(Project, project_id)
    if project is None:
        raise NotFound()
    user = require_user()
    projects.require_reader(db(), user, project)
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            expert_id = int(request.form.get("expert_id", "") or "0")
        except ValueError:
            expert_id = 0
        try:
            appointments_service.request_appointment(
                db(),
                actor=user,
                project_id=project.id,
                expert_id=expert_id,
                reason=request.form.get("reason", ""),
                now=now(),
                keys=state().keys,
            )
        except AppError as exc:
            db().rollback()
            errors = exc.fields or {"form": exc.message}
        else:
            flash(
                _("The appointment is recorded and waits for a supervisor's approval."), "success"
            )
            return redirect(url_for("projects.appointments", project_id=project.id))
    rows = [
        (row, appointments_service.expert_of(row, state().keys))
        for row in appointments_service.appointments_for(db(), project.id)
    ]
    return render_template(
        "projects/appointments.html",
        project=project,
        rows=rows,
        errors=errors,
        form=request.form,
        role=user.role,
    ), (422 if errors else 200)


@bp.route("/appointments/<int:appointment_id>/decide", methods=["POST"])
@roles(UserRole.SUPERVISOR)
def appointment_decide(appointment_id: int) -> Any:
    """A supervisor approves or refuses a direct appointment."""
    row = appointments_service.decide(
        db(),
        actor=require_user(),
        appointment_id=appointment_id,
        approve=request.form.get("decision") == "approve",
        note=request.form.get("note", ""),
        now=now(),
        keys=state().keys,
    )
    flash(_("Decision recorded."), "success")
    return redirect(url_for("projects.appointments", project_id=row.project_id))
