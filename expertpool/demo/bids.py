"""Demo helper: generated bid PDFs (commercial, technical, price per bidder) and the tender
document with its scoring method, uploaded for a project by its centre's staff before opening."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.accounts.models import User
from expertpool.bids import documents
from expertpool.bids.models import BidDocument, DocumentKind
from expertpool.bids.samples import bid_lines, sample_pdfs
from expertpool.core.files import FileStore
from expertpool.demo.context import DemoContext
from expertpool.projects.models import Project

KIND_TITLES = {
    DocumentKind.COMMERCIAL: "商务标",
    DocumentKind.TECHNICAL: "技术标",
    DocumentKind.PRICE: "报价文件",
}


def file_store(ctx: DemoContext) -> FileStore:
    """The application's encrypted file store (the same folder and keys `create_app` uses)."""
    return FileStore(ctx.config.evidence_path, ctx.keys)


def upload_documents(session: Session, ctx: DemoContext, project: Project, staff: User) -> int:
    """Upload a tender document and three files per bidder (once); returns how many were made."""
    if session.execute(select(BidDocument.id).where(BidDocument.project_id == project.id)).first():
        return 0
    targets: list[tuple[DocumentKind, int | None]] = [(DocumentKind.TENDER, None)]
    specs: list[tuple[str, list[str], int]] = [
        (f"{project.name} 招标文件", bid_lines("", "tender"), 3)
    ]
    for bidder in project.bidders:
        for kind, title in KIND_TITLES.items():
            targets.append((kind, bidder.id))
            pages = 3 if kind is DocumentKind.TECHNICAL else 2
            specs.append((f"{bidder.name} {title}", bid_lines(bidder.name, kind.value), pages))
    files = file_store(ctx)
    for (kind, bidder_id), data in zip(targets, sample_pdfs(specs), strict=True):
        documents.add_document(
            session,
            config=ctx.config,
            files=files,
            actor=staff,
            project_id=project.id,
            kind=kind.value,
            bidder_id=bidder_id,
            lot_id=project.lots[0].id if project.lots and bidder_id is None else None,
            filename=f"{kind.value}-{bidder_id or 'lot'}.pdf",
            data=data,
        )
    return len(targets)
