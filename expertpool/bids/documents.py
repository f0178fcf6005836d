"""Bid documents of a lot: uploading them before the opening, listing them, removing them.

The bytes are kept by the encrypted file store (`core.files`: AES-GCM under the personal-data
keys, filed under their SHA-256); the database keeps one `BidDocument` row per document. Nothing
here serves the bytes: only the room does, to its members (`bids.reading`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.accounts.models import User
from expertpool.bids import pdf
from expertpool.bids.models import BidDocument, DocumentKind
from expertpool.core import audit
from expertpool.core.config import Config
from expertpool.core.errors import Conflict, NotFound, ValidationFailed
from expertpool.core.files import FileStore
from expertpool.core.texts import _l
from expertpool.projects import projects
from expertpool.projects.models import Bidder, Lot, Project, ProjectStatus
from expertpool.rooms.opening import session_of_lot
from expertpool.rooms.sessions import sessions_for_project

UPLOAD_STATUSES = frozenset({ProjectStatus.DRAFT, ProjectStatus.READY, ProjectStatus.DRAWN})
"""A lot's documents change only before its opening (and never once the project has ended)."""

KIND_LABELS = {
    DocumentKind.COMMERCIAL: _l("Commercial bid"),
    DocumentKind.TECHNICAL: _l("Technical bid"),
    DocumentKind.PRICE: _l("Price bid"),
    DocumentKind.TENDER: _l("Tender document and scoring method"),
}


def lot_label(lot: Lot | None) -> str:
    """How the room names a lot (`rooms.opening`: its code, "1" for a project without lots)."""
    return lot.code if lot else "1"


def _require_open_for_upload(session: Session, project: Project, lot: Lot | None) -> None:
    opened = session_of_lot(session, project.id, lot_label(lot)) is not None or (
        not project.lots and bool(sessions_for_project(session, project.id))
    )
    if project.status not in UPLOAD_STATUSES or opened:
        raise Conflict(
            str(_l("The lot has been opened: its documents can no longer change.")),
            code="documents_locked",
        )


def parse_target(
    session: Session, project: Project, *, kind: Any, bidder_id: Any, lot_id: Any
) -> tuple[DocumentKind, Bidder | None, Lot | None]:
    """The kind, bidder and lot an upload is for; field errors when they do not fit the project."""
    try:
        parsed = DocumentKind(str(kind or ""))
    except ValueError:
        raise ValidationFailed(fields={"kind": str(_l("Choose what the file is."))}) from None
    if parsed.is_bid:
        bidder = session.get(Bidder, _int(bidder_id)) if _int(bidder_id) else None
        if bidder is None or bidder.project_id != project.id:
            raise ValidationFailed(fields={"bidder": str(_l("Choose a bidder of this project."))})
        return parsed, bidder, bidder.lot
    lot = session.get(Lot, _int(lot_id)) if _int(lot_id) else None
    if lot is not None and lot.project_id != project.id:
        raise ValidationFailed(fields={"lot": str(_l("Choose a lot of this project."))})
    if lot is None and project.lots:
        raise ValidationFailed(fields={"lot": str(_l("Choose a lot of this project."))})
    return parsed, None, lot


def _int(value: Any) -> int:
    try:
        n = int(str(value or "").strip())
    except ValueError:
        return 0
    return n if 0 < n < 2**31 else 0


def add_document(
    session: Session,
    *,
    config: Config,
    files: FileStore,
    actor: User,
    project_id: int,
    kind: Any,
    bidder_id: Any = None,
    lot_id: Any = None,
    filename: str,
    data: bytes,
) -> BidDocument:
    """Check and keep one PDF for a bidder (or the lot's tender document), replacing the one of
    the same kind; commits. A refused upload writes nothing, not even the file."""
    project = projects.get_project(session, project_id)
    projects.require_reader(session, actor, project)
    parsed, bidder, lot = parse_target(
        session, project, kind=kind, bidder_id=bidder_id, lot_id=lot_id
    )
    _require_open_for_upload(session, project, lot)
    pages = pdf.check_pdf(
        filename, data, max_bytes=config.bid_max_bytes, max_pages=config.bid_max_pages
    )
    digest = files.put(data)
    name = Path(filename or "document.pdf").name[:255] or "document.pdf"
    old = session.execute(
        select(BidDocument).where(
            BidDocument.project_id == project.id,
            BidDocument.kind == parsed,
            BidDocument.bidder_id.is_(None)
            if bidder is None
            else BidDocument.bidder_id == bidder.id,
            BidDocument.lot_id.is_(None) if lot is None else BidDocument.lot_id == lot.id,
        )
    ).scalar_one_or_none()
    before = {"sha256": old.sha256, "name": old.original_name} if old else None
    if old is not None:
        session.delete(old)
        session.flush()
    row = BidDocument(
        project_id=project.id,
        lot_id=lot.id if lot else None,
        bidder_id=bidder.id if bidder else None,
        kind=parsed,
        original_name=name,
        sha256=digest,
        size=len(data),
        pages=pages,
        uploaded_by=actor.username,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor.username,
        action="bid_document.upload",
        object_type="project",
        object_id=project.id,
        before=before,
        after={
            "document": row.id,
            "kind": parsed.value,
            "bidder": bidder.credit_code if bidder else None,
            "lot": lot.code if lot else None,
            "sha256": digest,
            "name": name,
            "size": len(data),
            "pages": pages,
        },
    )
    session.commit()
    return row


def remove_document(session: Session, *, actor: User, project_id: int, document_id: int) -> None:
    """Take a document off the lot before its opening (the bytes stay in the store); commits."""
    project = projects.get_project(session, project_id)
    projects.require_reader(session, actor, project)
    row = session.get(BidDocument, document_id)
    if row is None or row.project_id != project.id:
        raise NotFound()
    _require_open_for_upload(session, project, row.lot)
    audit.record(
        session,
        actor=actor.username,
        action="bid_document.remove",
        object_type="project",
        object_id=project.id,
        before={"document": row.id, "kind": row.kind.value, "sha256": row.sha256},
    )
    session.delete(row)
    session.commit()


def documents_of(session: Session, project_id: int) -> list[BidDocument]:
    """A project's documents: tender documents first, then by bidder and kind."""
    rows = session.execute(
        select(BidDocument).where(BidDocument.project_id == project_id).order_by(BidDocument.id)
    ).scalars()
    order = list(DocumentKind)
    return sorted(
        rows,
        key=lambda d: (d.kind.is_bid, d.lot_id or 0, d.bidder_id or 0, order.index(d.kind)),
    )


def documents_of_lot(session: Session, project_id: int, label: str) -> list[BidDocument]:
    """The documents a lot's room shows: the lot's own and the project's without a lot."""
    lot = session.execute(
        select(Lot).where(Lot.project_id == project_id, Lot.code == label)
    ).scalar_one_or_none()
    return [
        d
        for d in documents_of(session, project_id)
        if d.lot_id is None or (lot is not None and d.lot_id == lot.id)
    ]


def document_view(d: BidDocument) -> dict[str, Any]:
    """What staff and the API see of a document (never its bytes)."""
    return {
        "id": d.id,
        "kind": d.kind.value,
        "lot": d.lot.code if d.lot else None,
        "bidder_code": d.bidder.credit_code if d.bidder else None,
        "bidder_name": d.bidder.name if d.bidder else None,
        "name": d.original_name,
        "size": d.size,
        "pages": d.pages,
        "sha256": d.sha256,
        "uploaded_by": d.uploaded_by,
        "uploaded_at": d.uploaded_at.isoformat(),
    }
