"""The signed report as a download, for the readers the visibility table allows, and the
template global other pages use to offer it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from expertpool.accounts.access import login_required, require_user
from expertpool.core.state import db, state
from expertpool.reports import archive
from expertpool.rooms.sessions import get_session, sessions_for_project

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.route("/<room_id>.pdf")
@login_required
def signed_pdf(room_id: str) -> Response:
    """The signed, named report PDF (every reading audited)."""
    row, pdf = archive.read_report(
        db(), room_id=room_id, user=require_user(), is_machine=False, keys=state().keys, via="page"
    )
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="report-{row.room_id}.pdf"'},
    )


@bp.app_template_global()
def signed_report_of(room_id: str) -> dict[str, Any] | None:
    """The session's signed report for this viewer (hash and when), or None when there is none
    or the viewer may not read it."""
    session = db()
    report = archive.report_of(session, room_id)
    if report is None:
        return None
    allowed = archive.may_read(
        session, require_user(), get_session(session, room_id), is_machine=False, keys=state().keys
    )
    if not allowed:
        return None
    return {"room_id": room_id, "sha256": report.pdf_sha256, "signed_at": report.signed_at}


@bp.app_template_global()
def signed_reports_of_project(project_id: int) -> list[dict[str, Any]]:
    """The signed reports of a project's sessions this viewer may read (the tenderer's contact
    from sign-off; see `archive.may_read`)."""
    session = db()
    user = require_user()
    out = []
    for row in sessions_for_project(session, project_id):
        report = archive.report_of(session, row.room_id)
        if report is not None and archive.may_read(
            session, user, row, is_machine=False, keys=state().keys
        ):
            out.append(
                {
                    "room_id": row.room_id,
                    "title": row.title,
                    "sha256": report.pdf_sha256,
                    "signed_at": report.signed_at,
                }
            )
    return out
