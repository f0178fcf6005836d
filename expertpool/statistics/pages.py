"""Statistics pages: charts with a table view and a spreadsheet export per figure, shortages and
signals. The pages show exactly what the JSON API answers (closed projects only, small cells
hidden), scoped to the reader.
"""

from __future__ import annotations

import io
from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from openpyxl import Workbook

from expertpool.accounts.access import require_user, roles
from expertpool.accounts.models import UserRole
from expertpool.core.errors import TransitionRefused, ValidationFailed
from expertpool.core.state import config, db, now, state
from expertpool.rooms.pages import PHASE_LABELS
from expertpool.statistics import complaints, figures, supervision
from expertpool.statistics.models import ComplainantKind

bp = Blueprint(
    "statistics",
    __name__,
    url_prefix="/statistics",
    template_folder="templates",
    static_folder="static",
)
R = UserRole


@bp.route("/")
@roles(R.SUPERVISOR, R.ADMIN, R.CENTRE_STAFF)
def index() -> Any:
    """Every figure the reader may see, each as a chart with its table."""
    user = require_user()
    today = now().date()
    keys = state().keys
    shown = [
        figures.figure(db(), user, key, today=today, keys=keys) for key in figures.figure_keys(user)
    ]
    return render_template(
        "statistics/index.html", figures=shown, rules=figures.rules(), role=user.role
    )


@bp.route("/<key>.xlsx")
@roles(R.SUPERVISOR, R.ADMIN, R.CENTRE_STAFF)
def export(key: str) -> Response:
    """One figure as a spreadsheet, hidden cells as "<5"."""
    fig = figures.figure(db(), require_user(), key, today=now().date(), keys=state().keys)
    t = fig.table
    book = Workbook(write_only=True)
    sheet = book.create_sheet(key[:31])
    sheet.append([fig.title])
    hidden = f"<{figures.rules()['suppress_below']}"
    sheet.append(["", *t.columns, "Σ"])
    for name, row, total in zip(t.rows, t.cells, t.row_totals, strict=True):
        sheet.append([name, *(hidden if v is None else v for v in row), _shown(total, hidden)])
    if t.column_totals is not None:
        sheet.append(["Σ", *(_shown(v, hidden) for v in t.column_totals), _shown(t.total, hidden)])
    out = io.BytesIO()
    book.save(out)
    return Response(
        out.getvalue(),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{key}.xlsx"'},
    )


def _shown(value: int | None, hidden: str) -> int | str:
    return hidden if value is None else value


@bp.route("/shortages")
@roles(R.SUPERVISOR, R.ADMIN)
def shortages() -> Any:
    """Specialty × city: drawable experts against the last twelve closed months of demand."""
    items = figures.shortages(db(), require_user(), today=now().date())
    return render_template("statistics/shortages.html", items=items, rules=figures.rules())


@bp.route("/signals")
@roles(R.SUPERVISOR)
def signals() -> Any:
    """Every signal of the supervisor's closed projects: pairs far above chance, scores favouring
    one bidder organisation, centres' unusual rates, terminals used out of hours."""
    found = figures.all_signals(db(), require_user(), state().keys)
    return render_template(
        "statistics/signals.html", found=found, rules=figures.rules(), kinds=figures.RATE_LABELS
    )


@bp.route("/complaints", methods=["GET", "POST"])
@roles(R.SUPERVISOR)
def complaint_list() -> Any:
    """The complaints of the supervisor's department's projects, and the form to record one."""
    user = require_user()
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            c = complaints.record_complaint(
                db(),
                user,
                project_code=request.form.get("project_code", ""),
                complainant_kind=request.form.get("complainant_kind", ""),
                complainant_name=request.form.get("complainant_name", ""),
                received_on=request.form.get("received_on", ""),
                summary=request.form.get("summary", ""),
                now=now(),
            )
        except ValidationFailed as exc:
            db().rollback()
            errors = exc.fields
        else:
            flash(_("The complaint is recorded."), "success")
            return redirect(url_for("statistics.complaint_detail", complaint_id=c.id))
    return render_template(
        "statistics/complaints.html",
        complaints=complaints.visible_complaints(db(), user),
        errors=errors,
        form=request.form,
        kinds=list(ComplainantKind),
        labels=complaints.LABELS,
    ), (422 if errors else 200)


@bp.route("/complaints/<int:complaint_id>", methods=["GET", "POST"])
@roles(R.SUPERVISOR)
def complaint_detail(complaint_id: int) -> Any:
    """One complaint and its next step."""
    user = require_user()
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            complaints.advance_complaint(
                db(), user, complaint_id, decision=request.form.get("decision", ""), now=now()
            )
        except (ValidationFailed, TransitionRefused) as exc:
            db().rollback()
            errors = exc.fields if isinstance(exc, ValidationFailed) else {"status": exc.message}
        else:
            flash(_("The complaint moved on."), "success")
            return redirect(url_for("statistics.complaint_detail", complaint_id=complaint_id))
    complaint = complaints.get_complaint(db(), user, complaint_id)
    return render_template(
        "statistics/complaint.html", complaint=complaint, errors=errors, labels=complaints.LABELS
    ), (422 if errors else 200)


@bp.route("/complaints/<int:complaint_id>/attachments", methods=["POST"])
@roles(R.SUPERVISOR)
def complaint_attach(complaint_id: int) -> Any:
    """Attach a document to a complaint (PDF, JPEG or PNG), kept encrypted."""
    user = require_user()
    upload = request.files.get("attachment")
    try:
        complaints.add_attachment(
            db(),
            user,
            complaint_id,
            files=state().files,
            filename=(upload.filename or "") if upload is not None else "",
            data=upload.read() if upload is not None else b"",
            max_bytes=config().evidence_max_bytes,
        )
    except (ValidationFailed, TransitionRefused) as exc:
        db().rollback()
        errors = exc.fields if isinstance(exc, ValidationFailed) else {"attachment": exc.message}
        complaint = complaints.get_complaint(db(), user, complaint_id)
        return render_template(
            "statistics/complaint.html",
            complaint=complaint,
            errors=errors,
            labels=complaints.LABELS,
        ), (422 if isinstance(exc, ValidationFailed) else 409)
    flash(_("The document is attached."), "success")
    return redirect(url_for("statistics.complaint_detail", complaint_id=complaint_id))


@bp.route("/complaints/<int:complaint_id>/attachments/<int:attachment_id>")
@roles(R.SUPERVISOR)
def complaint_attachment(complaint_id: int, attachment_id: int) -> Any:
    """Download a complaint's attachment (supervisors of the project's department)."""
    row = complaints.attachment(db(), require_user(), complaint_id, attachment_id)
    data = state().files.get(row.sha256)
    return send_file(
        io.BytesIO(data), mimetype=row.mime, download_name=row.original_name, as_attachment=True
    )


@bp.route("/sessions")
@roles(R.SUPERVISOR)
def supervised_sessions() -> Any:
    """The sessions of projects the supervisor's department supervises: every supervisor of the
    department sees each session's status; the supervisor assigned to a session follows it."""
    user = require_user()
    return render_template(
        "statistics/sessions.html",
        sessions=supervision.supervised_sessions(db(), user, state().keys),
        phases=PHASE_LABELS,
    )


@bp.route("/sessions/<room_id>")
@roles(R.SUPERVISOR)
def follow_session(room_id: str) -> Any:
    """Follow, read-only, a session the supervisor is assigned to: what the room's supervisor
    view shows (members by alias with names once opened, check-in, scores' progress, flags)."""
    user = require_user()
    row, snap = supervision.follow(db(), user, room_id, state().keys)
    return render_template("statistics/follow.html", row=row, snap=snap, phases=PHASE_LABELS)
