"""Pages for bid documents: the project's documents (staff upload them before the opening) and
reading them in the room (the list, the stamped PDF; the viewer is part of the room page)."""

from __future__ import annotations

import mimetypes
from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from expertpool.accounts.access import login_required, require_user, roles
from expertpool.accounts.models import UserRole
from expertpool.bids import documents, reading
from expertpool.bids.models import DocumentKind
from expertpool.bids.pdf import too_large_message
from expertpool.core.errors import AppError, ValidationFailed
from expertpool.core.state import config, db, now, state
from expertpool.projects import projects
from expertpool.projects.models import Project
from expertpool.rooms import sessions as rooms

bp = Blueprint(
    "bids",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/bids/static",
)
READERS = (UserRole.CENTRE_STAFF, UserRole.SUPERVISOR, UserRole.ADMIN)
# PDF.js ships ES modules: browsers load them only with a JavaScript type, whatever the host says.
mimetypes.add_type("text/javascript", ".mjs")


def _project(project_id: int) -> Project:
    project = projects.get_project(db(), project_id)
    projects.require_reader(db(), require_user(), project)
    return project


def _render(project: Project, errors: dict[str, str], status: int = 200) -> Any:
    user = require_user()
    locked = project.status not in documents.UPLOAD_STATUSES
    return render_template(
        "bids/project.html",
        project=project,
        docs=documents.documents_of(db(), project.id),
        kinds=list(DocumentKind),
        kind_labels=documents.KIND_LABELS,
        can_edit=user.role is UserRole.CENTRE_STAFF and not locked,
        max_mb=config().bid_max_bytes // (1024 * 1024),
        max_pages=config().bid_max_pages,
        errors=errors,
        form=request.form if errors else {},
    ), status


@bp.route("/projects/<int:project_id>/documents")
@roles(*READERS)
def project_documents(project_id: int) -> Any:
    """The project's bid documents and tender documents (names, sizes, pages, digests)."""
    if request.args.get("refused") == "too_large":
        return _render(_project(project_id), {"file": too_large_message(config().bid_max_bytes)})
    return _render(_project(project_id), {})


@bp.route("/projects/<int:project_id>/documents", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def document_upload(project_id: int) -> Any:
    """Upload one PDF for a bidder (or the lot's tender document); a refused file saves nothing
    and the form says why."""
    project = _project(project_id)
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise ValidationFailed(fields={"file": _("Choose a PDF file.")})
        documents.add_document(
            db(),
            config=config(),
            files=state().files,
            actor=require_user(),
            project_id=project.id,
            kind=request.form.get("kind"),
            bidder_id=request.form.get("bidder"),
            lot_id=request.form.get("lot"),
            filename=upload.filename,
            data=upload.read(),
        )
    except ValidationFailed as exc:
        db().rollback()
        return _render(project, exc.fields or {"file": exc.message}, 422)
    except AppError as exc:
        db().rollback()
        return _render(project, {"file": exc.message}, exc.http_status)
    flash(_("The document was checked and stored."), "success")
    return redirect(url_for("bids.project_documents", project_id=project.id))


@bp.errorhandler(413)
def _too_large(_err: Exception) -> Any:
    """A body over the request limit is refused before the login is even read: back to the
    upload form, which shows the field error (never a bare 413 page); nothing was saved."""
    args = request.view_args or {}
    if request.endpoint == "bids.document_upload" and "project_id" in args:
        return redirect(
            url_for("bids.project_documents", project_id=args["project_id"], refused="too_large"),
            code=303,
        )
    raise ValidationFailed(fields={"file": too_large_message(config().bid_max_bytes)})


@bp.route("/projects/<int:project_id>/documents/<int:document_id>/delete", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def document_remove(project_id: int, document_id: int) -> Any:
    """Take a document off the lot before its opening."""
    project = _project(project_id)
    try:
        documents.remove_document(
            db(), actor=require_user(), project_id=project.id, document_id=document_id
        )
    except AppError as exc:
        db().rollback()
        return _render(project, {"file": exc.message}, exc.http_status)
    flash(_("The document was removed."), "success")
    return redirect(url_for("bids.project_documents", project_id=project.id))


# In the room ------------------------------------------------------------------------------------


@bp.route("/rooms/<room_id>/documents")
@login_required
def room_documents(room_id: str) -> Any:
    """The session's documents for its reader (JSON for the room page); 403 with the reason when
    the user may not read them (yet)."""
    row = rooms.get_session(db(), room_id)
    reader = reading.reader_of(row, require_user(), state().keys)
    out = [
        {
            "id": d.id,
            "kind": d.kind.value,
            "kind_label": str(documents.KIND_LABELS[d.kind]),
            "bidder": d.bidder.name if d.bidder else "",
            "bidder_code": d.bidder.credit_code if d.bidder else "",
            "pages": d.pages,
            "url": url_for("bids.room_document", room_id=row.room_id, document_id=d.id),
        }
        for d in reading.room_documents(db(), row, reader)
    ]
    return jsonify({"reader": reader.label, "documents": out})


@bp.route("/rooms/<room_id>/documents/<int:document_id>.pdf")
@login_required
def room_document(room_id: str, document_id: int) -> Response:
    """One document, stamped with the reader and the time; each opening is recorded."""
    row = rooms.get_session(db(), room_id)
    reader = reading.reader_of(row, require_user(), state().keys)
    doc, data = reading.serve(
        db(), row=row, reader=reader, document_id=document_id, files=state().files, now=now()
    )
    return Response(
        data,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="document-{doc.id}.pdf"',
            "Cache-Control": "no-store",
        },
    )
