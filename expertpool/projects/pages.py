"""Pages for projects, lots, bidders, awards and draw requests (centre staff; supervisors read)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from expertpool.accounts.access import actor_label, require_centre, require_user, roles
from expertpool.accounts.models import Centre, UserRole
from expertpool.core.db import utcnow
from expertpool.core.errors import AppError, ValidationFailed
from expertpool.core.state import config, db, state
from expertpool.draws import requests as draw_requests
from expertpool.draws.rules import CST, DrawRules
from expertpool.projects import projects, terminals
from expertpool.projects.models import Project, ProjectKind, Terminal

bp = Blueprint("projects", __name__, template_folder="templates")
READERS = (UserRole.CENTRE_STAFF, UserRole.SUPERVISOR, UserRole.ADMIN)
GROUP_ROWS = 4


def now() -> datetime:
    """The application's clock (tests install a fixed one in `AppState.services["clock"]`)."""
    clock: Callable[[], datetime] = state().services.get("clock", utcnow)
    return clock()


def terminal_of_request() -> Terminal:
    """The registered, active terminal this request comes from (header or terminal cookie)."""
    clear = request.headers.get(terminals.HEADER) or request.cookies.get(terminals.COOKIE)
    return terminals.resolve_terminal(db(), clear)


@bp.app_template_filter("cst")
def cst_filter(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An aware UTC moment shown in China Standard Time."""
    return moment.astimezone(CST).strftime(fmt) if moment else ""


def _project(project_id: int) -> Project:
    project = projects.get_project(db(), project_id)
    require_centre(require_user(), project.owner_centre_id)
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
    return {"code": project.code, "name": project.name, "kind": project.kind.value,
            "budget": f"{project.budget_cny:.2f}", "tenderer_code": project.tenderer_code,
            "tenderer_name": project.tenderer_name, "agency_code": project.agency_code,
            "agency_name": project.agency_name, "tenderer_representatives": project.tenderer_representatives,
            "is_complex": project.is_complex, "is_remote": project.is_remote,
            "evaluation_start": project.evaluation_start_at.astimezone(CST).strftime("%Y-%m-%dT%H:%M"),
            "duration_minutes": project.duration_minutes, "main_centre": project.main_centre.region_code,
            "secondary_centres": [c.region_code for c in project.secondary_centres]}


@bp.route("/projects")
@roles(*READERS)
def project_list() -> str:
    """Projects: centre staff see their centre's, supervisors and administrators all."""
    user = require_user()
    centre_id = user.centre_id if user.role is UserRole.CENTRE_STAFF else None
    return render_template("projects/list.html", projects=projects.list_projects(db(), centre_id=centre_id),
                           can_edit=user.role is UserRole.CENTRE_STAFF)


@bp.route("/projects/new", methods=["GET", "POST"])
@roles(UserRole.CENTRE_STAFF)
def project_new() -> Any:
    """Create a project owned by the staff member's centre."""
    user = require_user()
    errors: dict[str, str] = {}
    values: dict[str, Any] = {"main_centre": user.centre.region_code if user.centre else "", "duration_minutes": 240}
    if request.method == "POST":
        values = _form_data()
        try:
            assert user.centre_id is not None
            project = projects.create_project(db(), actor=actor_label(), owner_centre_id=user.centre_id,
                                              data=values, now=now())
        except ValidationFailed as exc:
            errors = exc.fields
        else:
            flash(_("Project created."), "success")
            return redirect(url_for("projects.project_detail", project_id=project.id))
    return render_template("projects/form.html", project=None, values=values, errors=errors,
                           kinds=list(ProjectKind), centres=_centres()), (422 if errors else 200)


@bp.route("/projects/<int:project_id>")
@roles(*READERS)
def project_detail(project_id: int) -> str:
    """One project with its lots, bidders, award and draw requests."""
    project = _project(project_id)
    user = require_user()
    from expertpool.draws.models import DrawRequestRecord

    requests_ = list(db().execute(select(DrawRequestRecord).where(DrawRequestRecord.project_id == project.id)
                                  .order_by(DrawRequestRecord.id.desc())).scalars())
    return render_template("projects/detail.html", project=project, can_edit=user.role is UserRole.CENTRE_STAFF,
                           requests=requests_, errors={})


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
            projects.update_project(db(), actor=actor_label(), project_id=project.id, data=values, now=now())
        except ValidationFailed as exc:
            errors = exc.fields
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("projects.project_detail", project_id=project.id))
    return render_template("projects/form.html", project=project, values=values, errors=errors,
                           kinds=list(ProjectKind), centres=_centres()), (422 if errors else 200)


def _detail_action(project_id: int, action: Callable[[], Any], done: str) -> Any:
    """Run one change from the detail page; errors are shown on the page with the right status."""
    project = _project(project_id)
    try:
        action()
    except ValidationFailed as exc:
        db().rollback()
        return render_template("projects/detail.html", project=project, can_edit=True, requests=[],
                               errors=exc.fields, form=request.form), 422
    flash(done, "success")
    return redirect(url_for("projects.project_detail", project_id=project.id))


@bp.route("/projects/<int:project_id>/lots", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def lot_add(project_id: int) -> Any:
    """Add a lot."""
    return _detail_action(project_id, lambda: projects.add_lot(
        db(), actor=actor_label(), project_id=project_id, code=request.form.get("lot_code"),
        name=request.form.get("lot_name")), _("Lot added."))


@bp.route("/projects/<int:project_id>/lots/<int:lot_id>/delete", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def lot_remove(project_id: int, lot_id: int) -> Any:
    """Remove a lot and its bidders."""
    return _detail_action(project_id, lambda: projects.remove_lot(
        db(), actor=actor_label(), project_id=project_id, lot_id=lot_id), _("Lot removed."))


@bp.route("/projects/<int:project_id>/bidders", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def bidder_add(project_id: int) -> Any:
    """Add a bidder by credit code."""
    return _detail_action(project_id, lambda: projects.add_bidder(
        db(), actor=actor_label(), project_id=project_id, credit_code=request.form.get("credit_code"),
        name=request.form.get("bidder_name"), lot_code=request.form.get("lot") or None), _("Bidder added."))


@bp.route("/projects/<int:project_id>/bidders/<int:bidder_id>/delete", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def bidder_remove(project_id: int, bidder_id: int) -> Any:
    """Remove a bidder."""
    return _detail_action(project_id, lambda: projects.remove_bidder(
        db(), actor=actor_label(), project_id=project_id, bidder_id=bidder_id), _("Bidder removed."))


@bp.route("/projects/<int:project_id>/ready", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def project_ready(project_id: int) -> Any:
    """Declare the project ready for the draw."""
    return _detail_action(project_id, lambda: projects.mark_ready(
        db(), actor=actor_label(), project_id=project_id), _("The project is ready for the draw."))


@bp.route("/projects/<int:project_id>/award", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def project_award(project_id: int) -> Any:
    """Record the award: date and winner."""
    return _detail_action(project_id, lambda: projects.mark_awarded(
        db(), actor=actor_label(), project_id=project_id, awarded_on=request.form.get("awarded_on"),
        winner_code=request.form.get("winner"), now=now()), _("Award recorded."))


def _groups_from_form() -> list[dict[str, Any]]:
    groups = []
    for i in range(GROUP_ROWS):
        specs = (request.form.get(f"group{i}_specialties") or "").strip()
        if not specs and not request.form.get(f"group{i}_count"):
            continue
        groups.append({"specialties": specs, "count": request.form.get(f"group{i}_count", ""),
                       "backups": request.form.get(f"group{i}_backups") or "0",
                       "regions_in": request.form.get(f"group{i}_regions_in", "")})
    return groups


@bp.route("/projects/<int:project_id>/draw-requests/new", methods=["GET", "POST"])
@roles(UserRole.CENTRE_STAFF)
def draw_request_new(project_id: int) -> Any:
    """The draw request form; accepted only at a registered terminal of the staff member's centre."""
    project = _project(project_id)
    errors: dict[str, str] = {}
    terminal_error: AppError | None = None
    try:
        terminal = terminal_of_request()
    except AppError as exc:
        terminal, terminal_error = None, exc
    if request.method == "POST":
        if terminal is None:
            assert terminal_error is not None
            raise terminal_error
        data: dict[str, Any] = {k: request.form.get(k) for k in request.form}
        data["groups"] = _groups_from_form()
        try:
            req = draw_requests.create_draw_request(db(), actor=require_user(), terminal=terminal,
                                                    project_id=project.id, data=data,
                                                    rules=DrawRules.from_config(config()), now=now())
        except ValidationFailed as exc:
            errors = exc.fields
        else:
            flash(_("Draw request recorded."), "success")
            return redirect(url_for("projects.draw_request_detail", request_id=req.id))
    return render_template("draws/request_form.html", project=project, errors=errors, form=request.form,
                           terminal=terminal, terminal_error=terminal_error, rows=GROUP_ROWS,
                           frequency_cap=config().frequency_cap), (422 if errors else 200)


@bp.route("/draw-requests/<int:request_id>")
@roles(*READERS)
def draw_request_detail(request_id: int) -> str:
    """One draw request: groups and rules (never names)."""
    req = draw_requests.get_request(db(), request_id)
    require_centre(require_user(), req.project.owner_centre_id)
    return render_template("draws/request.html", req=req)


@bp.route("/terminal", methods=["GET", "POST"])
@roles(UserRole.CENTRE_STAFF)
def terminal_enrol() -> Any:
    """Make this browser a draw terminal by entering the terminal's credential once."""
    errors: dict[str, str] = {}
    current = None
    try:
        current = terminal_of_request()
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
            response.set_cookie(terminals.COOKIE, clear, max_age=365 * 24 * 3600, httponly=True,
                                samesite="Strict", secure=config().session_cookie_secure)
            return response
    return render_template("projects/terminal.html", current=current, errors=errors), (422 if errors else 200)
