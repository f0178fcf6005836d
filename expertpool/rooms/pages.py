"""Remote evaluation pages: session list, creating a session, the room page, the report."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from evaluation_room.errors import IllegalTransition, NotAllowed, RoomError
from evaluation_room.scoring import Category, ItemKind, ScoreForm, formula_names, formula_params
from expertpool.accounts.access import actor_label, login_required, require_user, roles
from expertpool.accounts.models import User, UserRole
from expertpool.accounts.throttle import form_username, throttled
from expertpool.core.errors import AppError, Forbidden, NotFound
from expertpool.core.forms import parse_id
from expertpool.core.state import config, db, now, state
from expertpool.core.texts import _l
from expertpool.projects import projects as project_service
from expertpool.projects.models import Project
from expertpool.regimes import rulebook
from expertpool.regimes.rules import RuleSet
from expertpool.rooms import methods, opening
from expertpool.rooms import report as room_report
from expertpool.rooms import sessions as rooms
from expertpool.rooms.socketio import room_handlers

bp = Blueprint(
    "rooms", __name__, url_prefix="/rooms", template_folder="templates", static_folder="static"
)


@bp.route("/")
@login_required
def index() -> str:
    """Sessions the user takes part in (every session for supervisors and administrators)."""
    user = require_user()
    mine = rooms.sessions_of(db(), user, state().keys)
    everything = (
        [r for r in rooms.all_sessions(db()) if _supervised(user, r)]
        if user.role in (UserRole.SUPERVISOR, UserRole.ADMIN)
        else []
    )
    return render_template("rooms/index.html", mine=mine, everything=everything)


@bp.app_template_global()
def sessions_of_project(project_id: int) -> list[dict[str, Any]]:
    """The project's sessions for its page's story: phase and when, and whether the viewer takes
    part (only participants open the room); nothing about members."""
    user = require_user()
    out = []
    for row in rooms.sessions_for_project(db(), project_id):
        out.append(
            {
                "room_id": row.room_id,
                "title": row.title,
                "phase": row.phase,
                "created_at": row.created_at,
                "may_enter": rooms.participant_of(row, user, state().keys) is not None,
                "has_report": row.phase in ("signing", "archived"),
            }
        )
    return out


@bp.route("/open/<int:project_id>", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
@throttled(form_username, scope="supervisor", failed=403)
def open_lot(project_id: int) -> Any:
    """The opening act: the main venue's host and a supervisor open every sealed draw of the lot,
    which creates the lot's session from the accepted experts and approved appointments."""
    form = request.form
    lot = form.get("lot_id", "")
    running = {r.room_id for r in rooms.sessions_for_project(db(), project_id)}
    try:
        row = opening.open_lot(
            db(),
            project_id=project_id,
            lot_id=parse_id(lot, "lot_id") if lot else None,
            actor=require_user(),
            supervisor_username=form.get("username", ""),
            supervisor_password=form.get("password", ""),
            keys=state().keys,
            settings=rooms.room_settings(config()),
            now=now(),
        )
    except AppError as exc:
        db().rollback()
        # The refusal answers its own status with the message on the page (never a 200).
        return render_template("error.html", error=exc), exc.http_status
    if row.room_id in running:
        flash(
            _(
                "The supplementary draw was opened: seat the experts who accepted in the vacated "
                "seats from the host console."
            ),
            "success",
        )
    else:
        flash(_("The session is open: every sealed draw of the lot was opened."), "success")
    return redirect(url_for("rooms.room", room_id=row.room_id))


@bp.route("/<room_id>")
@login_required
def room(room_id: str) -> str:
    """The live room: the expert's scoring page, a host's console or the supervisor's view."""
    user = require_user()
    row = rooms.get_session(db(), room_id)
    pid = rooms.participant_of(row, user, state().keys)
    if pid is None:
        raise NotFound()
    snap = rooms.room_of(row, state().keys).snapshot(pid)
    config = {
        "room_id": row.room_id,
        "role": snap["viewer"]["role"],
        "t": js_texts(),
        "report_url": url_for("rooms.report", room_id=row.room_id),
        "method_url": url_for("rooms.method", room_id=row.room_id),
        "bidders_url": url_for("rooms.bidders", room_id=row.room_id),
    }
    return render_template("rooms/room.html", row=row, role=snap["viewer"]["role"], config=config)


@bp.route("/<room_id>/report")
@login_required
def report(room_id: str) -> str:
    """The report as HTML (from the start of signing)."""
    row = _visible(room_id)
    data = room_report.final_report(row, state().keys)
    return render_template(
        "rooms/report.html", row=row, report=data, sections=room_report.sections(data)
    )


@bp.route("/<room_id>/report.pdf")
@login_required
def report_pdf(room_id: str) -> Response:
    """The report as a PDF (export recorded in the audit trail)."""
    row = _visible(room_id)
    data = room_report.export_pdf(db(), row, actor=actor_label(), keys=state().keys)
    return Response(
        data,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="report-{row.room_id}.pdf"'},
    )


def _visible(room_id: str) -> Any:
    user = require_user()
    row = rooms.get_session(db(), room_id)
    if rooms.participant_of(row, user, state().keys) is None and not (
        user.role is UserRole.ADMIN or _supervised(user, row)
    ):
        raise NotFound()
    return row


def _supervised(user: User, row: Any) -> bool:
    """Administrators, and supervisors of the session's project's department (any supervisor
    for a session made without a project)."""
    if user.role is UserRole.ADMIN:
        return True
    if user.role is not UserRole.SUPERVISOR:
        return False
    if row.project_id is None:
        return True
    project = db().get(Project, row.project_id)
    return project is not None and project_service.supervises(db(), user, project)


# --- the scoring-method editor ---------------------------------------------------------------

CATEGORY_LABELS = {
    "qualification": _l("Qualification (资格审查)"),
    "compliance": _l("Compliance (符合性审查)"),
    "technical": _l("Technical"),
    "commercial": _l("Commercial"),
    "price": _l("Price"),
}
KIND_LABELS = {
    "pass_fail": _l("Pass/fail"),
    "subjective": _l("Points scored by each member (range)"),
    "objective": _l("Computed by a formula"),
}
FORMULA_LABELS = {
    "lowest_price": _l("Lowest price (benchmark ÷ bid × points)"),
    "works_deviation_rate": _l("Works: deviation from the mean of the bids"),
}
PARAM_LABELS = {
    "coefficient": _l("Benchmark coefficient"),
    "e_above": _l("Points off per 1 % above"),
    "e_below": _l("Points off per 1 % below"),
    "points": _l("Points"),
}
PROCURED_LABELS = {"goods": _l("Goods"), "services": _l("Services"), "works": _l("Works")}


def _editor(
    *,
    rows: list[dict[str, str]],
    errors: dict[str, str],
    form: ScoreForm | None,
    rules: RuleSet | None,
    kind: str,
    status: int = 200,
    **extra: Any,
) -> Any:
    """Render the method editor (the rows as posted, their errors and the totals)."""
    summary = methods.summarise(form, rules, kind) if form is not None else None
    formulas = [(f, FORMULA_LABELS.get(f, f), formula_params(f)) for f in formula_names()]
    page = render_template(
        "rooms/method.html",
        rows=rows or [{}],
        errors=errors,
        summary=summary,
        categories=[(c.value, CATEGORY_LABELS[c.value]) for c in Category],
        kinds=[(k.value, KIND_LABELS[k.value]) for k in ItemKind],
        formulas=formulas,
        param_labels=PARAM_LABELS,
        procured=PROCURED_LABELS,
        templates=methods.templates_of(db(), require_user().centre_id),
        **extra,
    )
    return page, status


def _posted_rows(prefix: str) -> list[dict[str, str]]:
    rows = methods._rows(request.form, prefix)
    if request.form.get("action") == "add_row":
        rows.append({})
    return rows


def _main_host_snapshot(row: Any) -> dict[str, Any]:
    """The room as its main venue's host sees it; others may not edit the method."""
    pid = rooms.participant_of(row, require_user(), state().keys)
    if pid is None:
        raise NotFound()
    snap = rooms.room_of(row, state().keys).snapshot(pid)
    is_main = any(
        v["is_main"] and v["venue_id"] == snap["viewer"]["venue_id"] for v in snap.get("venues", [])
    )
    if snap["viewer"]["role"] != "host" or not is_main:
        raise Forbidden(_("Only the main venue's host edits the scoring method and the bidders."))
    return snap


def _session_rules(row: Any) -> tuple[RuleSet | None, str]:
    if row.project_id is None:
        return None, "goods"
    project = db().get(Project, row.project_id)
    if project is None:
        return None, "goods"
    return project_service.project_rules(db(), project), project.kind.value


def _template_rules(regime: str) -> RuleSet | None:
    chosen = rulebook.methods_of(regime)
    return rulebook.rules_for(db(), regime, chosen[0]) if chosen else None


def _room_refusal(exc: RoomError) -> dict[str, str]:
    if isinstance(exc, NotAllowed):
        raise Forbidden(_("Only the main venue's host edits the scoring method and the bidders."))
    if isinstance(exc, IllegalTransition):
        return {
            "items": _(
                "The method and the bidders can no longer change: the review or scoring "
                "has started."
            )
        }
    return {"items": _("The session refused the method: %(why)s", why=exc.message)}


@bp.route("/<room_id>/method", methods=["GET", "POST"])
@roles(UserRole.CENTRE_STAFF)
def method(room_id: str) -> Any:
    """The session's scoring method, built from item rows (or a centre template) by the main
    venue's host; saved into the room, or as a new template of the centre."""
    row = rooms.get_session(db(), room_id)
    snap = _main_host_snapshot(row)
    rules, kind = _session_rules(row)
    current = snap.get("form")
    form_obj = rooms.decode_form(current) if current else None
    ctx: dict[str, Any] = {"mode": "session", "row": row, "phase": snap["phase"]}
    if request.method == "GET":
        return _editor(
            rows=methods.item_rows(form_obj),
            errors={},
            form=form_obj,
            rules=rules,
            kind=kind,
            **ctx,
        )
    action = request.form.get("action", "check")
    if action == "load_template":
        try:
            tpl = methods.get_template(
                db(),
                require_user().centre_id,
                parse_id(request.form.get("template_id"), "template_id"),
            )
        except (NotFound, AppError):
            return _editor(
                rows=_posted_rows("items"),
                errors={"template_id": _("Choose a template of your centre.")},
                form=None,
                rules=rules,
                kind=kind,
                status=422,
                **ctx,
            )
        loaded = methods.template_form(tpl)
        return _editor(
            rows=methods.item_rows(loaded),
            errors={},
            form=loaded,
            rules=rules,
            kind=kind,
            loaded=tpl.name,
            **ctx,
        )
    rows = _posted_rows("items")
    parsed, errors = methods.parse_items(request.form)
    if parsed is not None:
        errors.update(methods.rule_errors(parsed, rules, kind))
    if action in ("check", "add_row") or errors:
        status = 422 if errors and action in ("save", "save_template") else 200
        return _editor(
            rows=rows, errors=errors, form=parsed, rules=rules, kind=kind, status=status, **ctx
        )
    assert parsed is not None
    if action == "save_template":
        try:
            methods.save_template(
                db(),
                centre_id=require_user().centre_id,
                name=request.form.get("template_name", ""),
                regime=rules.regime if rules else "government_procurement",
                kind=kind,
                form=parsed,
                actor=actor_label(),
            )
        except AppError as exc:
            db().rollback()
            return _editor(
                rows=rows,
                errors=dict(exc.fields or {}),
                form=parsed,
                rules=rules,
                kind=kind,
                status=422,
                **ctx,
            )
        flash(_("Saved as a template of your centre."), "success")
        return _editor(rows=rows, errors={}, form=parsed, rules=rules, kind=kind, **ctx)
    user_id = str(require_user().id)
    try:
        room_handlers(current_app).act_as(
            user_id, row.room_id, lambda r, pid: r.set_form(pid, parsed)
        )
    except RoomError as exc:
        return _editor(
            rows=rows,
            errors=_room_refusal(exc),
            form=parsed,
            rules=rules,
            kind=kind,
            status=422,
            **ctx,
        )
    flash(_("The scoring method is set for this session."), "success")
    return redirect(url_for("rooms.room", room_id=row.room_id))


@bp.route("/<room_id>/bidders", methods=["GET", "POST"])
@roles(UserRole.CENTRE_STAFF)
def bidders(room_id: str) -> Any:
    """The session's opened bids as rows (code, name, price, small enterprise, and the
    purchaser's qualification checks), entered by the main venue's host."""
    row = rooms.get_session(db(), room_id)
    snap = _main_host_snapshot(row)
    current = snap.get("form")
    checks = methods.purchaser_checks(rooms.decode_form(current) if current else None)
    if request.method == "GET":
        rows = methods.bidder_rows(snap.get("bids"))
        return render_template(
            "rooms/bidders.html", row=row, rows=rows or [{}], checks=checks, errors={}
        )
    rows = _posted_rows("bidders")
    bids, errors = methods.parse_bidders(request.form, checks)
    if bids is not None and request.form.get("action") == "save":
        try:
            room_handlers(current_app).act_as(
                str(require_user().id), row.room_id, lambda r, pid: r.set_bids(pid, bids)
            )
        except RoomError as exc:
            errors = _room_refusal(exc)
        else:
            flash(_("The bidders are set for this session."), "success")
            return redirect(url_for("rooms.room", room_id=row.room_id))
    status = 422 if errors else 200
    return render_template(
        "rooms/bidders.html", row=row, rows=rows or [{}], checks=checks, errors=errors
    ), status


@bp.route("/methods")
@roles(UserRole.CENTRE_STAFF)
def templates() -> str:
    """The scoring-method templates of the user's centre."""
    rows = methods.templates_of(db(), require_user().centre_id)
    return render_template("rooms/templates.html", templates=rows, procured=PROCURED_LABELS)


@bp.route("/methods/new", methods=["GET", "POST"])
@bp.route("/methods/<int:template_id>", methods=["GET", "POST"])
@roles(UserRole.CENTRE_STAFF)
def template(template_id: int | None = None) -> Any:
    """Create or edit a template of the user's centre with the method editor."""
    user = require_user()
    tpl = methods.get_template(db(), user.centre_id, template_id) if template_id else None
    regime = request.form.get("regime") or (tpl.regime if tpl else "government_procurement")
    kind = request.form.get("kind") or (tpl.kind if tpl else "goods")
    ctx: dict[str, Any] = {
        "mode": "template",
        "tpl": tpl,
        "regime": regime,
        "regimes": methods.REGIMES,
        "template_name": request.form.get("template_name", tpl.name if tpl else ""),
    }
    rules = _template_rules(regime) if regime in methods.REGIMES else None
    if kind not in methods.KINDS:
        kind = "goods"
    if request.method == "GET":
        form_obj = methods.template_form(tpl) if tpl else None
        return _editor(
            rows=methods.item_rows(form_obj),
            errors={},
            form=form_obj,
            rules=rules,
            kind=kind,
            **ctx,
        )
    action = request.form.get("action", "check")
    rows = _posted_rows("items")
    parsed, errors = methods.parse_items(request.form)
    if parsed is not None:
        errors.update(methods.rule_errors(parsed, rules, kind))
    if action != "save" or errors:
        status = 422 if errors and action == "save" else 200
        return _editor(
            rows=rows, errors=errors, form=parsed, rules=rules, kind=kind, status=status, **ctx
        )
    assert parsed is not None
    try:
        saved = methods.save_template(
            db(),
            centre_id=user.centre_id,
            name=request.form.get("template_name", ""),
            regime=regime,
            kind=kind,
            form=parsed,
            actor=actor_label(),
            template_id=tpl.id if tpl else None,
        )
    except AppError as exc:
        db().rollback()
        return _editor(
            rows=rows,
            errors=dict(exc.fields or {}),
            form=parsed,
            rules=rules,
            kind=kind,
            status=422,
            **ctx,
        )
    flash(_("The template is saved."), "success")
    return redirect(url_for("rooms.template", template_id=saved.id))


PHASE_LABELS = {
    "scheduled": _l("Scheduled"),
    "opened": _l("Opened"),
    "check_in": _l("Check-in"),
    "leader_election": _l("Leader election"),
    "review": _l("Review before scoring"),
    "scoring": _l("Scoring"),
    "deviation_review": _l("Deviation review"),
    "finalised": _l("Finalised"),
    "signing": _l("Signing"),
    "archived": _l("Archived"),
    "paused": _l("Paused"),
}
ROOM_ROLE_LABELS = {
    "expert": _l("Expert"),
    "representative": _l("Tenderer's representative"),
    "host": _l("Host"),
    "supervisor": _l("Supervisor"),
}
JS_TEXTS = {
    "connected": _l("Connected"),
    "disconnected": _l("Disconnected: reconnecting…"),
    "members": _l("Committee"),
    "alias": _l("Alias"),
    "name": _l("Name"),
    "venue": _l("Venue"),
    "seat": _l("Seat"),
    "status": _l("Status"),
    "checked_in": _l("Checked in"),
    "submitted": _l("Submitted"),
    "signed": _l("Signed"),
    "leader": _l("Leader"),
    "yes": _l("Yes"),
    "no": _l("No"),
    "replaced": _l("Replaced"),
    "removed": _l("Removed from the panel"),
    "issue_code": _l("Send code"),
    "confirm": _l("Confirm identity"),
    "seat_backup": _l("Seat the backup who accepted"),
    "backup_accepted": _l("The backup called for this seat accepted."),
    "verify_in_person": _l("Codes failed: check the ID card in person"),
    "no_signal_verify": _l("No signal: check the ID card in person"),
    "confirm_id_card": _l(
        "Confirm that you have checked this person's ID card against the name shown. Your check "
        "is recorded with your name and the time."
    ),
    "replace": _l("Replace"),
    "removal_pending": _l("Removal proposed, waiting for the supervisor"),
    "approve_removal": _l("Approve the removal"),
    "reject_removal": _l("Reject the removal"),
    "confirm_removal": _l(
        "Approve taking this member off the committee? Their scores and votes become void and "
        "the next backup of their group is called."
    ),
    "reason": _l("Reason"),
    "refusal": _l("Record refusal"),
    "check_in": _l("Check-in"),
    "request_code": _l("Send me a check-in code"),
    "enter_code": _l("Enter the code"),
    "code_sent": _l("A code was sent to your mobile."),
    "waiting_host": _l("Code accepted: the host at your venue will confirm you."),
    "you_checked_in": _l("You are checked in."),
    "election": _l("Leader election"),
    "vote": _l("Vote"),
    "voted": _l("You have voted."),
    "sheet": _l("Score sheet"),
    "bidder": _l("Bidder"),
    "objective": _l("Objective (computed)"),
    "save_draft": _l("Save draft"),
    "submit": _l("Submit my scores"),
    "sheet_submitted": _l("Your sheet is submitted."),
    "flags": _l("Deviation flags"),
    "score": _l("Score"),
    "mean": _l("Mean"),
    "deviation": _l("Deviation %"),
    "explanation": _l("Explanation"),
    "explain": _l("Explain"),
    "new_value": _l("New value"),
    "note": _l("Note"),
    "revise": _l("Revise"),
    "results": _l("Results"),
    "rank": _l("Rank"),
    "total": _l("Total"),
    "candidates": _l("Candidates"),
    "amend": _l("Amend a score"),
    "item": _l("Item"),
    "sign": _l("Sign the report"),
    "agree": _l("Agree"),
    "dissent": _l("Dissent"),
    "reasons": _l("Reasons"),
    "report": _l("Report"),
    "digest": _l("Digest"),
    "host_console": _l("Host console"),
    "bids": _l("Bids"),
    "form": _l("Scoring method"),
    "edit_method": _l("Edit the scoring method"),
    "edit_bidders": _l("Edit the bidders"),
    "failed_checks": _l("Failed the purchaser's qualification review"),
    "pass_fail": _l("Pass/fail"),
    "cat_qualification": _l("Qualification"),
    "cat_compliance": _l("Compliance"),
    "cat_technical": _l("Technical"),
    "cat_commercial": _l("Commercial"),
    "cat_price": _l("Price"),
    "review": _l("Review before scoring"),
    "stage_qualification": _l("Qualification review (资格审查)"),
    "stage_compliance": _l("Compliance review (符合性审查)"),
    "pass": _l("Pass"),
    "fail": _l("Fail"),
    "conclusion": _l("Conclusion"),
    "fail_reason": _l("Reason (required for a fail)"),
    "submit_review": _l("Submit my review"),
    "review_submitted": _l(
        "Your review is submitted: the conclusion follows when every member has submitted."
    ),
    "criteria": _l("Scoring criteria (评分标准)"),
    "low_reason": _l("Reason for a low score"),
    "low_reason_help": _l("A score below this share of the item's maximum needs a short reason"),
    "low_reasons": _l("Reasons given for low scores"),
    "excluded": _l("Excluded from scoring"),
    "open": _l("Open the session"),
    "start_check_in": _l("Start check-in"),
    "start_election": _l("Start the election"),
    "start_review": _l("Start the review"),
    "start_scoring": _l("Start scoring"),
    "finalise": _l("Finalise"),
    "start_signing": _l("Start signing"),
    "archive": _l("Archive"),
    "pause": _l("Pause"),
    "resume": _l("Resume"),
    "paused": _l("Paused"),
    "chat": _l("Chat"),
    "send": _l("Send"),
    "phase": _l("Phase"),
    "observer": _l("Observer view (read-only)"),
    "signatures": _l("Signatures"),
    "verdict": _l("Verdict"),
    "my_role": _l("My part"),
    "venue_hosts": _l("Hosts"),
    "price": _l("Price"),
    "passed": _l("Qualified"),
    "arithmetic_error": _l("Arithmetic error"),
    "out_of_range": _l("Out of range"),
    "objective_disagreement": _l("Objective item disagreement"),
    "abnormal_score": _l("Abnormal score"),
    "no_replacement": _l("No replacement is available now"),
}
ERROR_TEXTS = {
    "unauthenticated": _l("Your login has ended: log in again."),
    "not_on_panel": _l("You are not a participant of this session."),
    "member_replaced": _l("You were replaced and can no longer act in this session."),
    "not_allowed": _l("You may not do this."),
    "room_paused": _l("The session is paused."),
    "illegal_transition": _l("This cannot be done in the current phase."),
    "scoring_closed": _l("Scoring is closed."),
    "already_submitted": _l("Already submitted."),
    "invalid_score": _l("A score is out of range, off the step or missing."),
    "invalid_input": _l("Some input is missing or invalid."),
    "scores_hidden": _l("Scores are shown once every member has submitted."),
    "not_checked_in": _l("Check-in is not complete."),
    "check_in_code_invalid": _l("Wrong check-in code."),
    "check_in_code_expired": _l("The check-in code has expired: ask for a new one."),
    "too_many_attempts": _l("Too many attempts: the host must verify you in person."),
    "reauthentication_failed": _l("Password not confirmed."),
    "digest_mismatch": _l("The report changed: reload before signing."),
    "stale_sequence": _l("The session changed meanwhile: check and try again."),
    "stale_state": _l("The session was busy: please send again."),
    "stale_request": _l(
        "A newer change of yours was already saved; this older one was not applied."
    ),
    "code_not_delivered": _l("The check-in code could not be sent."),
    "not_acknowledged": _l("Not confirmed by the server (connection lost?): check and send again."),
    "internal_error": _l("An unexpected error occurred; it has been logged."),
}


@bp.app_template_filter("room_phase")
def room_phase(value: str) -> str:
    """The translated name of a room phase."""
    label = PHASE_LABELS.get(value)
    return str(label) if label is not None else value


@bp.app_template_filter("room_role")
def room_role(value: str) -> str:
    """The translated name of a room role."""
    label = ROOM_ROLE_LABELS.get(value)
    return str(label) if label is not None else value


def js_texts() -> dict[str, str]:
    """The room page's texts in the current language, for its script."""
    texts = {k: str(v) for k, v in JS_TEXTS.items()}
    texts.update({f"phase_{k}": str(v) for k, v in PHASE_LABELS.items()})
    texts.update({f"role_{k}": str(v) for k, v in ROOM_ROLE_LABELS.items()})
    texts.update({f"err_{k}": str(v) for k, v in ERROR_TEXTS.items()})
    return texts
