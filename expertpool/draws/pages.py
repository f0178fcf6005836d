"""Draw pages at the terminal: preview, prepare, witnesses, draw, abandon, opening, panel, transcript; appointments."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

import draw
from expertpool.accounts.access import actor_label, require_centre, require_user, roles
from expertpool.accounts.models import UserRole
from expertpool.core.errors import AppError, Forbidden, NotFound
from expertpool.core.state import config, db, state
from expertpool.draws import panels
from expertpool.draws import protocol as draws
from expertpool.draws import requests as draw_requests
from expertpool.draws.models import Draw, DrawRequestStatus, DrawStatus
from expertpool.projects import appointments as appointments_service
from expertpool.projects.models import Project
from expertpool.projects.pages import now, terminal_of_request

bp = Blueprint("draws", __name__, template_folder="templates")
READERS = (UserRole.CENTRE_STAFF, UserRole.SUPERVISOR, UserRole.ADMIN)


def _draw(draw_id: str) -> Draw:
    d = draws.get_draw(db(), draw_id)
    project = db().get(Project, d.project_id)
    assert project is not None
    user = require_user()
    if user.role is UserRole.CENTRE_STAFF and user.centre_id not in (project.owner_centre_id, project.main_centre_id):
        require_centre(user, project.owner_centre_id)
    return d


def _page(d: Draw, errors: dict[str, str] | None = None, status: int = 200) -> Any:
    user = require_user()
    project = db().get(Project, d.project_id)
    assert project is not None
    terminal = None
    try:
        terminal = terminal_of_request()
    except AppError:
        terminal = None
    is_operator = user.id == d.operator_id and terminal is not None and terminal.id == d.terminal_id
    is_host = user.role is UserRole.CENTRE_STAFF and user.centre_id == project.main_centre_id
    return render_template("draws/draw.html", d=d, project=project, digest=draws.commit_digest(d),
                           sealed=json.dumps(json.loads(d.sealed_json), ensure_ascii=False, indent=1)
                           if d.sealed_json else None,
                           progress=draws.progress(d), is_operator=is_operator, is_host=is_host,
                           errors=errors or {}, role=user.role), status


def _act(d: Draw, action: Any, done: str) -> Any:
    """Run one protocol step from the terminal page; a refused step is shown on the page."""
    try:
        action()
    except AppError as exc:
        db().rollback()
        fresh = draws.get_draw(db(), d.draw_id)
        return _page(fresh, exc.fields or {"form": exc.message}, exc.http_status)
    flash(done, "success")
    return redirect(url_for("draws.draw_page", draw_id=d.draw_id))


@bp.route("/draws")
@roles(*READERS)
def draw_list() -> str:
    """Draws with their status (never names)."""
    user = require_user()
    centre_id = user.centre_id if user.role is UserRole.CENTRE_STAFF else None
    return render_template("draws/list.html", draws=draws.list_draws(db(), centre_id=centre_id))


@bp.route("/draw-requests/<int:request_id>/preview")
@roles(*READERS)
def preview(request_id: int) -> str:
    """Eligible experts per group and exclusions per reason, as numbers only."""
    req = draw_requests.get_request(db(), request_id)
    require_centre(require_user(), req.project.owner_centre_id)
    result = draws.preview(db(), request_id=request_id, config=config(), now=now())
    existing = draws.draw_for_request(db(), request_id)
    return render_template("draws/preview.html", req=req, p=result, existing=existing,
                           can_prepare=req.status is DrawRequestStatus.VALIDATED and existing is None
                           and require_user().role is UserRole.CENTRE_STAFF)


@bp.route("/draw-requests/<int:request_id>/prepare", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def prepare(request_id: int) -> Any:
    """Make the snapshot and the signed commitment at this terminal, then show its digest."""
    req = draw_requests.get_request(db(), request_id)
    require_centre(require_user(), req.project.owner_centre_id)
    d = draws.prepare_draw(db(), actor=require_user(), terminal=terminal_of_request(), request_id=request_id,
                           keys=state().keys, config=config(), now=now())
    flash(_("Commitment recorded. Note its fingerprint before entering any digits."), "success")
    return redirect(url_for("draws.draw_page", draw_id=d.draw_id))


@bp.route("/draws/<draw_id>")
@roles(*READERS)
def draw_page(draw_id: str) -> Any:
    """The terminal page of one draw: fingerprint, witnesses, sealed record, progress (never names)."""
    return _page(_draw(draw_id))


@bp.route("/draws/<draw_id>/witness/operator", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def witness_operator(draw_id: str) -> Any:
    """The operator's witness digits."""
    d = _draw(draw_id)
    return _act(d, lambda: draws.witness_operator(db(), draw_id=draw_id, actor=require_user(),
                                                  terminal=terminal_of_request(),
                                                  digits=request.form.get("digits", ""), now=now()),
                _("The operator's digits are recorded."))


@bp.route("/draws/<draw_id>/witness/supervisor", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def witness_supervisor(draw_id: str) -> Any:
    """The supervisor authenticates at this terminal and enters their witness digits."""
    d = _draw(draw_id)
    return _act(d, lambda: draws.witness_supervisor(db(), draw_id=draw_id, terminal=terminal_of_request(),
                                                    username=request.form.get("username", ""),
                                                    password=request.form.get("password", ""),
                                                    digits=request.form.get("digits", ""), now=now()),
                _("The supervisor's digits are recorded."))


@bp.route("/draws/<draw_id>/run", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def run(draw_id: str) -> Any:
    """Draw: rank, select, seal and invite."""
    d = _draw(draw_id)
    return _act(d, lambda: draws.run_draw(db(), draw_id=draw_id, actor=require_user(),
                                          terminal=terminal_of_request(), keys=state().keys, config=config(),
                                          now=now()), _("The draw is done."))


@bp.route("/draws/<draw_id>/abandon", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def abandon(draw_id: str) -> Any:
    """Abandon a commitment with a reason (it stays in the ledger)."""
    d = _draw(draw_id)
    return _act(d, lambda: draws.abandon_draw(db(), draw_id=draw_id, actor=require_user(),
                                              reason=request.form.get("reason", ""), now=now()),
                _("The commitment is abandoned."))


@bp.route("/draws/<draw_id>/open", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def open_session(draw_id: str) -> Any:
    """Open the panel at the session start: the host plus a supervisor's password."""
    d = _draw(draw_id)
    return _act(d, lambda: draws.open_draw(db(), draw_id=draw_id, actor=require_user(),
                                           supervisor_username=request.form.get("username", ""),
                                           supervisor_password=request.form.get("password", ""),
                                           keys=state().keys, now=now()), _("The panel is open."))


@bp.route("/draws/<draw_id>/panel")
@roles(UserRole.CENTRE_STAFF, UserRole.SUPERVISOR)
def panel(draw_id: str) -> str:
    """After opening: supervisors see the whole panel, a centre's host the experts seated at its venues."""
    d = _draw(draw_id)
    rows = panels.panel(db(), draw_id=d.draw_id, viewer=require_user())
    return render_template("draws/panel.html", d=d, rows=rows)


@bp.route("/draws/<draw_id>/transcript.json")
@roles(UserRole.SUPERVISOR, UserRole.ADMIN)
def transcript(draw_id: str) -> Response:
    """The draw-v1 transcript after opening (verifiable offline with `python -m draw verify`)."""
    d = _draw(draw_id)
    if d.status is not DrawStatus.OPENED:
        raise Forbidden(_("The transcript is released only after the session opens."), code="not_opened")
    doc = draws.transcript(db(), draw_id=d.draw_id, actor=actor_label(), keys=state().keys)
    return Response(draw.canonical_json(doc), mimetype="application/json",
                    headers={"Content-Disposition": f"attachment; filename={d.draw_id}.json"})


# Special projects: direct appointment (not drawn) ------------------------------------------------

@bp.route("/projects/<int:project_id>/appointments", methods=["GET", "POST"])
@roles(UserRole.CENTRE_STAFF, UserRole.SUPERVISOR)
def appointments(project_id: int) -> Any:
    """A special project's directly appointed experts: staff record them with a reason, supervisors decide."""
    project = db().get(Project, project_id)
    if project is None:
        raise NotFound()
    user = require_user()
    require_centre(user, project.owner_centre_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            expert_id = int(request.form.get("expert_id", "") or "0")
        except ValueError:
            expert_id = 0
        try:
            appointments_service.request_appointment(db(), actor=user, project_id=project.id, expert_id=expert_id,
                                                     reason=request.form.get("reason", ""), now=now())
        except AppError as exc:
            db().rollback()
            errors = exc.fields or {"form": exc.message}
        else:
            flash(_("The appointment is recorded and waits for a supervisor's approval."), "success")
            return redirect(url_for("draws.appointments", project_id=project.id))
    rows = appointments_service.appointments_for(db(), project.id)
    return render_template("projects/appointments.html", project=project, rows=rows, errors=errors, form=request.form,
                           role=user.role), (422 if errors else 200)


@bp.route("/appointments/<int:appointment_id>/decide", methods=["POST"])
@roles(UserRole.SUPERVISOR)
def appointment_decide(appointment_id: int) -> Any:
    """A supervisor approves or refuses a direct appointment."""
    row = appointments_service.decide(db(), actor=require_user(), appointment_id=appointment_id,
                                      approve=request.form.get("decision") == "approve",
                                      note=request.form.get("note", ""), now=now())
    flash(_("Decision recorded."), "success")
    return redirect(url_for("draws.appointments", project_id=row.project_id))
