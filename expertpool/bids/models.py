"""Bid documents of a project's lot and the record of each reading in the room."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from expertpool.core.db import Base, UTCDateTime, enum_column, utcnow
from expertpool.projects.models import Bidder, Lot


class DocumentKind(enum.StrEnum):
    """What a document is: one of a bidder's bid files, or the lot's tender document (招标文件,
    with its scoring method)."""

    COMMERCIAL = "commercial"
    TECHNICAL = "technical"
    PRICE = "price"
    TENDER = "tender"

    @property
    def is_bid(self) -> bool:
        """A bidder's file (the tender document belongs to the lot)."""
        return self is not DocumentKind.TENDER


class BidDocument(Base):
    """One PDF of a lot: its bytes are in the encrypted file store under `sha256`.

    A bidder has at most one file of each kind and a lot one tender document: a new upload
    replaces the old row (the service keeps this under the project's lock).
    """

    __tablename__ = "bid_document"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    lot_id: Mapped[int | None] = mapped_column(
        ForeignKey("lot.id", ondelete="CASCADE"), default=None
    )
    bidder_id: Mapped[int | None] = mapped_column(
        ForeignKey("bidder.id", ondelete="CASCADE"), default=None
    )
    kind: Mapped[DocumentKind] = mapped_column(enum_column(DocumentKind))
    original_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    pages: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    lot: Mapped[Lot | None] = relationship()
    bidder: Mapped[Bidder | None] = relationship()


class DocumentReading(Base):
    """One opening of a document in a room. The reader is named as the room names them: a
    committee member by alias, a host or supervisor by username, so before the close the row ties
    no expert to the project (docs/sealing.md)."""

    __tablename__ = "bid_document_reading"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("evaluation_session.id"), index=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("bid_document.id", ondelete="CASCADE"), index=True
    )
    reader: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    served_sha256: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
