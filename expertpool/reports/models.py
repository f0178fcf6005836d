"""The archived evaluation report of a session: the signed PDF (sealed at rest) and its hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from expertpool.core.db import Base, UTCDateTime, utcnow


class EvaluationReport(Base):
    """The signed, named report of one session, built when the committee signed off.

    The PDF names the members, so until the project's close it must not be readable without the
    key files: it is stored AES-GCM sealed (`reports/archive.py`), bound to the room id. Its
    SHA-256 is also in the draw ledger (kind `report`), so a changed archive is found.
    """

    __tablename__ = "evaluation_report"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("evaluation_session.id"), unique=True)
    room_id: Mapped[str] = mapped_column(String(40), unique=True)
    project_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)
    pdf_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    final_report_digest: Mapped[str] = mapped_column(String(64))
    signer: Mapped[str] = mapped_column(String(40))
    certificate_sha256: Mapped[str] = mapped_column(String(64))
    ledger_seq: Mapped[int | None] = mapped_column(Integer, default=None)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
