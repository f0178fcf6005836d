"""Draw pages at the terminal: preview, prepare, witnesses, draw, abandon, opening, panel,
transcript; appointments.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

import draw
from expertpool.accounts.access import actor_label, public, require_user, roles
from expertpool.accounts.models import User, UserRole
from expertpool.accounts.throttle import form_username, throttled
from expertpool.core.errors import AppError, Forbidden, NotFound, ValidationFailed, must_exist
from expertpool.core.keys import KeyFileError
from expertpool.core.state import config, db, now, state
from expertpool.draws import contact_record, panels, remote, sealing
from expertpool.draws import protocol as draws
from expertpool.draws import requests as draw_requests
from expertpool.draws.models import Draw, DrawRequestRecord, DrawRequestStatus, DrawStatus
from expertpool.draws.rules import DrawRules
from expertpool.notifications.dispatcher import progress_counts
from expertpool.notifications.notifier import notification_services
from expertpool.projects import projects
from expertpool.projects import projects as project_service
from expertpool.projects.models import Project
from expertpool.projects.terminal_pages import terminal_from_request

bp = Blueprint("draws", __name__, template_folder="templates")
READERS = (UserRole.CENTRE_STAFF, UserRole.SUPERVISOR, UserRole.ADMIN)


@bp.app_template_global()
def draw_requests_of(project_id: int) -> list[DrawRequestRecord]:
    """A project's draw requests, newest first (shown on the project page)."""
    return draw_requests.requests_of_project(db(), project_id)


@bp.app_template_global()
def draw_of_request(request_id: int) -> Draw | None:
    """The draw made for a request, if any (the project page's story: status and H(commit),
    never who)."""
    return draws.draw_for_request(db(), request_id)


@bp.app_template_filter("group_label")
def group_label(group_key: str) -> str:
    """A draw group as shown: "secondary venue N" for the opaque remote groups (their venue is
    hidden until the opening), else its id."""
    if remote.is_remote_group(group_key):
        return str(_("Secondary venue %(n)s", n=group_key.removeprefix(remote.REMOTE_PREFIX)))
    return group_key


def _draw(draw_id: str) -> Draw:
    d = draws.get_draw(db(), draw_id)
    project = must_exist(db().get(Project, d.project_id))
    user = require_user()
    venues = {project.owner_centre_id, project.main_centre_id}
    venues |= {c.id for c in project.secondary_centres}
    if user.role is UserRole.CENTRE_STAFF and user.centre_id not in venues:
        # Staff of the project's venues (secondary ones included: after opening they verify the
        # experts seated at their venue) reach the draw; other centres are refused.
        project_service.require_reader(db(), user, project)
    return d


def _supervised_draw(draw_id: str) -> Draw:
    """A draw whose project the supervisor's department supervises (auditors' pages)."""
    d = draws.get_draw(db(), draw_id)
    project = must_exist(db().get(Project, d.project_id))
    user = require_user()
    if user.role is UserRole.SUPERVISOR:
        project_service.require_reader(db(), user, project)
    return d


def _require_auditor(draw_id: str) -> None:
    """The contact record is for the supervisors of the draw's project's department."""
    project = contact_record.project_of_draw(db(), draw_id)
    project_service.require_reader(db(), require_user(), project)


def may_read_progress(user: User, d: Draw, project: Project) -> bool:
    """Whether `user` may read how a draw's invitations stand (counts only, before opening).

    Only the staff of the centre that owns the draw's project and the supervisor who witnessed
    this draw: everyone else learns nothing, not even whether the draw exists.
    """
    if user.role is UserRole.CENTRE_STAFF:
        return user.centre_id is not None and user.centre_id == project.owner_centre_id
    if user.role is UserRole.SUPERVISOR:
        return d.supervisor_id is not None and d.supervisor_id == user.id
    return False


def _page(d: Draw, errors: dict[str, str] | None = None, status: int = 200) -> Any:
    user = require_user()
    project = must_exist(db().get(Project, d.project_id))
    shows_progress = may_read_progress(user, d, project)
    terminal = None
    try:
        terminal = terminal_from_request()
    except AppError:
        terminal = None
    is_operator = user.id == d.operator_id and terminal is not None and terminal.id == d.terminal_id
    is_host = user.role is UserRole.CENTRE_STAFF and user.centre_id == project.main_centre_id
    may_see = draws.may_see_counts(d, user)
    sealed_record = draws.visible_record(
        d, sealing.open_sealed(d, state().keys) if may_see else None
    )
    return render_template(
        "draws/draw.html",
        d=d,
        project=project,
        digest=draws.commit_digest(d),
        # The sealed record (with the commitment's counts) is the operator's and the witnessing
        # supervisor's alone until the close; the progress counts the owning centre's and the
        # witness's (docs/sealing.md).
        sealed=json.dumps(sealed_record, ensure_ascii=False, indent=1) if sealed_record else None,
        progress=draws.progress(d) if shows_progress else None,
        shows_progress=shows_progress,
        is_operator=is_operator,
        is_host=is_host,
        # The witnessing (or co-opening) supervisor is chosen from the project's supervisors.
        supervisors=draws.supervisors_of(db(), project) if is_operator or is_host else [],
        errors=errors or {},
        role=user.role,
    ), status


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
    project_service.require_reader(db(), require_user(), req.project)
    result = draws.preview(db(), request_id=request_id, config=config(), now=now())
    existing = draws.draw_for_request(db(), request_id)
    return render_template(
        "draws/preview.html",
        req=req,
        p=result,
        existing=existing,
        can_prepare=req.status is DrawRequestStatus.VALIDATED
        and existing is None
        and require_user().role is UserRole.CENTRE_STAFF,
    )


@bp.route("/draw-requests/<int:request_id>/prepare", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def prepare(request_id: int) -> Any:
    """Make the snapshot and the signed commitment at this terminal, then show its digest."""
    req = draw_requests.get_request(db(), request_id)
    project_service.require_reader(db(), require_user(), req.project)
    d = draws.prepare_draw(
        db(),
        actor=require_user(),
        terminal=terminal_from_request(),
        request_id=request_id,
        keys=state().keys,
        config=config(),
        now=now(),
        cpu_pool=state().cpu_pool,
    )
    flash(_("Commitment recorded. Note its fingerprint before entering any digits."), "success")
    return redirect(url_for("draws.draw_page", draw_id=d.draw_id))


@bp.route("/draws/<draw_id>")
@roles(*READERS)
def draw_page(draw_id: str) -> Any:
    """The terminal page of one draw: fingerprint, witnesses, sealed record, progress (never
    names).
    """
    return _page(_draw(draw_id))


@bp.route("/draws/<draw_id>/witness/operator", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def witness_operator(draw_id: str) -> Any:
    """The operator's witness digits."""
    d = _draw(draw_id)
    return _act(
        d,
        lambda: draws.witness_operator(
            db(),
            draw_id=draw_id,
            actor=require_user(),
            terminal=terminal_from_request(),
            digits=request.form.get("digits", ""),
            now=now(),
        ),
        _("The operator's digits are recorded."),
    )


@bp.route("/draws/<draw_id>/witness/supervisor", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
@throttled(form_username, scope="supervisor", failed=403)
def witness_supervisor(draw_id: str) -> Any:
    """The supervisor authenticates at this terminal and enters their witness digits."""
    d = _draw(draw_id)
    return _act(
        d,
        lambda: draws.witness_supervisor(
            db(),
            draw_id=draw_id,
            terminal=terminal_from_request(),
            username=request.form.get("username", ""),
            password=request.form.get("password", ""),
            digits=request.form.get("digits", ""),
            now=now(),
        ),
        _("The supervisor's digits are recorded."),
    )


@bp.route("/draws/<draw_id>/run", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def run(draw_id: str) -> Any:
    """Draw: rank, select, seal and invite."""
    d = _draw(draw_id)
    return _act(
        d,
        lambda: draws.run_draw(
            db(),
            draw_id=draw_id,
            actor=require_user(),
            terminal=terminal_from_request(),
            keys=state().keys,
            config=config(),
            now=now(),
            ctx=notification_services().ctx,
            cpu_pool=state().cpu_pool,
        ),
        _("The draw is done."),
    )


@bp.route("/draws/<draw_id>/abandon", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def abandon(draw_id: str) -> Any:
    """Abandon a commitment with a reason (it stays in the ledger)."""
    d = _draw(draw_id)
    return _act(
        d,
        lambda: draws.abandon_draw(
            db(),
            draw_id=draw_id,
            actor=require_user(),
            reason=request.form.get("reason", ""),
            now=now(),
        ),
        _("The commitment is abandoned."),
    )


@bp.route("/draws/<draw_id>/open", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
@throttled(form_username, scope="supervisor", failed=403)
def open_session(draw_id: str) -> Any:
    """Open the panel at the session start: the host plus a supervisor's password."""
    d = _draw(draw_id)
    return _act(
        d,
        lambda: draws.open_draw(
            db(),
            draw_id=draw_id,
            actor=require_user(),
            supervisor_username=request.form.get("username", ""),
            supervisor_password=request.form.get("password", ""),
            keys=state().keys,
            now=now(),
        ),
        _("The panel is open."),
    )


@bp.route("/draws/<draw_id>/progress")
@roles(UserRole.CENTRE_STAFF, UserRole.SUPERVISOR)
def invitation_progress(draw_id: str) -> str:
    """How many of one draw's invitations stand in each state: counts only, never who.

    For the owning centre's staff and the witnessing supervisor; for anyone else the answer is
    the one for a draw that does not exist (404), so the page tells nothing about other draws.
    """
    user = require_user()
    try:
        d = draws.get_draw(db(), draw_id)
    except NotFound:
        d = None
    project = db().get(Project, d.project_id) if d is not None else None
    if d is None or project is None or not may_read_progress(user, d, project):
        raise NotFound()
    return render_template("draws/progress.html", d=d, counts=progress_counts(db(), d.draw_id))


@bp.route("/draws/<draw_id>/panel")
@roles(UserRole.CENTRE_STAFF, UserRole.SUPERVISOR)
def panel(draw_id: str) -> str:
    """After opening: supervisors see the whole panel, a centre's host the experts seated at its
    venues.
    """
    d = _draw(draw_id)
    user = require_user()
    if user.role is UserRole.SUPERVISOR:
        d = _supervised_draw(draw_id)
    rows = panels.panel(db(), draw_id=d.draw_id, viewer=user, keys=state().keys)
    check = draws.opened_check(db(), d, state().keys) if user.role is UserRole.SUPERVISOR else None
    return render_template("draws/panel.html", d=d, rows=rows, check=check)


@bp.route("/draws/<draw_id>/transcript.json")
@roles(UserRole.SUPERVISOR, UserRole.ADMIN)
def transcript(draw_id: str) -> Response:
    """The draw-v1 transcript after opening (verifiable offline with `python -m draw verify`)."""
    d = _draw(draw_id)
    if d.status is not DrawStatus.OPENED:
        raise Forbidden(
            _("The transcript is released only after the session opens."), code="not_opened"
        )
    doc = draws.transcript(db(), draw_id=d.draw_id, actor=actor_label(), keys=state().keys)
    return Response(
        draw.canonical_json(doc),
        mimetype="application/json",
        headers={"Content-Disposition": f"attachment; filename={d.draw_id}.json"},
    )


# Draw requests (at a registered terminal of the owning centre) -----------------------------------

GROUP_ROWS = 4


def _groups_from_form() -> list[dict[str, Any]]:
    groups = []
    for i in range(GROUP_ROWS):
        specs = (request.form.get(f"group{i}_specialties") or "").strip()
        if not specs and not request.form.get(f"group{i}_count"):
            continue
        groups.append(
            {
                "specialties": specs,
                "count": request.form.get(f"group{i}_count", ""),
                "backups": request.form.get(f"group{i}_backups") or "0",
                "regions_in": request.form.get(f"group{i}_regions_in", ""),
                "remote": request.form.get(f"group{i}_remote") or None,
            }
        )
    return groups


@bp.route("/projects/<int:project_id>/draw-requests/new", methods=["GET", "POST"])
@roles(UserRole.CENTRE_STAFF)
def draw_request_new(project_id: int) -> Any:
    """The draw request form; accepted only at a registered terminal of the staff member's
    centre.
    """
    project = projects.get_project(db(), project_id)
    project_service.require_reader(db(), require_user(), project)
    errors: dict[str, str] = {}
    terminal_error: AppError | None = None
    try:
        terminal = terminal_from_request()
    except AppError as exc:
        terminal, terminal_error = None, exc
    if request.method == "POST":
        if terminal is None:
            raise terminal_error or Forbidden()
        data: dict[str, Any] = {k: request.form.get(k) for k in request.form}
        data["groups"] = _groups_from_form()
        try:
            req = draw_requests.create_draw_request(
                db(),
                actor=require_user(),
                terminal=terminal,
                project_id=project.id,
                data=data,
                rules=DrawRules.from_config(config()),
                now=now(),
                keys=state().keys,
            )
        except ValidationFailed as exc:
            errors = exc.fields
        else:
            flash(_("Draw request recorded."), "success")
            return redirect(url_for("draws.draw_request_detail", request_id=req.id))
    return render_template(
        "draws/request_form.html",
        project=project,
        errors=errors,
        form=request.form,
        terminal=terminal,
        terminal_error=terminal_error,
        rows=GROUP_ROWS,
        frequency_cap=config().frequency_cap,
    ), (422 if errors else 200)


@bp.route("/draw-requests/<int:request_id>")
@roles(*READERS)
def draw_request_detail(request_id: int) -> str:
    """One draw request: groups and rules (never names)."""
    req = draw_requests.get_request(db(), request_id)
    project_service.require_reader(db(), require_user(), req.project)
    return render_template("draws/request.html", req=req)


# The contact record, for auditors after the award -------------------------------------------------


@bp.route("/notifications/draws/<draw_id>/record")
@roles(UserRole.SUPERVISOR)
def contact_record_page(draw_id: str) -> str:
    """After the award: every invitation and attempt of a draw, named (each viewing is audited)."""
    _require_auditor(draw_id)
    record = contact_record.draw_contact_record(
        db(), draw_id, ctx=notification_services().ctx, actor=actor_label()
    )
    return render_template("draws/contact_record.html", record=record)


@bp.route("/keys")
@public
def draw_keys() -> Any:
    """The draw-signing public keys, current and retired, so anyone can verify a transcript."""
    try:
        keys = state().keys.draw_public_keys()
        current = state().keys.draw_signing_key()[0]
    except KeyFileError:
        keys, current = {}, None
    return render_template(
        "draws/keys.html",
        keys=sorted(keys.items()),
        current=current,
        report_certificates=report_certificates(),
    )


def report_certificates() -> list[dict[str, Any]]:
    """The report-signing certificates (current first), for the keys page."""
    try:
        certs = state().keys.report_certificates()
    except KeyFileError:
        return []
    return [
        {
            "subject": c.subject.rfc4514_string(),
            "issuer": c.issuer.rfc4514_string(),
            "is_self_signed": c.subject == c.issuer,
            "sha256": c.fingerprint(hashes.SHA256()).hex(),
            "not_before": c.not_valid_before_utc,
            "not_after": c.not_valid_after_utc,
            "pem": c.public_bytes(Encoding.PEM).decode("ascii"),
            "is_current": n == 0,
        }
        for n, c in enumerate(certs)
    ]


@bp.route("/keys/report-signing.pem")
@public
def report_signing_pem() -> Response:
    """The report-signing certificates as one PEM file (current first), for PDF readers and
    `expertpool reports verify`."""
    pem = "".join(c["pem"] for c in report_certificates())
    return Response(
        pem,
        mimetype="application/x-pem-file",
        headers={"Content-Disposition": 'attachment; filename="report-signing.pem"'},
    )
