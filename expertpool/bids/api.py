"""The JSON API for bid documents (under /api/v1): a trading system uploads a lot's PDFs before
the opening and lists what it sent. The bytes are never served here, only in the room."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _
from pydantic import Field

from expertpool.accounts.access import require_user, roles
from expertpool.accounts.idempotency import idempotent
from expertpool.accounts.models import UserRole
from expertpool.bids import documents
from expertpool.core.api import (
    PREFIX,
    IdempotencyHeaders,
    Out,
    PageMeta,
    PageQuery,
    operation,
    page_of,
    query,
)
from expertpool.core.errors import ValidationFailed
from expertpool.core.state import config, db, state
from expertpool.projects import projects
from expertpool.projects.pages import READERS

bp = Blueprint("bids_api", __name__, url_prefix=PREFIX)
DOCUMENTS = ["bid documents"]


class DocumentOut(Out):
    id: int
    kind: str = Field(description="commercial, technical, price or tender.")
    lot: str | None
    bidder_code: str | None
    bidder_name: str | None
    name: str
    size: int
    pages: int
    sha256: str = Field(description="SHA-256 of the stored file, in hex.")
    uploaded_by: str
    uploaded_at: str


class DocumentPage(PageMeta):
    items: list[DocumentOut]


@bp.route("/projects/<int:project_id>/documents", methods=["GET"])
@roles(*READERS)
@operation(tags=DOCUMENTS, scope="projects:read", query=PageQuery, HTTP_200=DocumentPage)
def document_list(project_id: int) -> Any:
    """The project's bid and tender documents (never their bytes)."""
    project = projects.get_project(db(), project_id)
    projects.require_reader(db(), require_user(), project)
    rows = documents.documents_of(db(), project.id)
    return jsonify(page_of(rows, query(PageQuery), documents.document_view))


@bp.route("/projects/<int:project_id>/documents", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
@idempotent
@operation(tags=DOCUMENTS, scope="projects:write", headers=IdempotencyHeaders, HTTP_201=DocumentOut)
def document_upload(project_id: int) -> Any:
    """Upload one PDF before the lot's opening (multipart/form-data): `file`, `kind`
    (commercial, technical, price or tender), `bidder` (the bidder's id, for a bid file) or `lot`
    (the lot's id, for the tender document of a project with lots). It replaces the file of the
    same kind; refused with field errors when it is not a readable PDF, too large or too long."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed(fields={"file": _("Choose a PDF file.")})
    row = documents.add_document(
        db(),
        config=config(),
        files=state().files,
        actor=require_user(),
        project_id=project_id,
        kind=request.form.get("kind"),
        bidder_id=request.form.get("bidder"),
        lot_id=request.form.get("lot"),
        filename=upload.filename,
        data=upload.read(),
    )
    return jsonify(documents.document_view(row)), 201
