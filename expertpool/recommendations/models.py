"""An organisation's recommendation of a person for the pool (推荐), until the nominee consents."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from expertpool.core.db import Base, UTCDateTime, utcnow
from expertpool.core.pii import EncryptedTable
from expertpool.organisations.models import Organisation


class Recommendation(Base):
    """One nomination: the person's name, ID number and mobile (encrypted), the specialties the
    organisation proposes, and the one-time consent link (only its SHA-256 is stored)."""

    __tablename__ = "recommendation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    recommended_by: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(50))
    id_number_enc: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    specialties: Mapped[str] = mapped_column(String(200))  # codes separated by spaces
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    expert_id: Mapped[int | None] = mapped_column(
        ForeignKey("expert.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organisation: Mapped[Organisation] = relationship()


PII_TABLES = (
    EncryptedTable(
        Recommendation, "recommendation", {"id_number_enc": "id_number", "phone_enc": "phone"}
    ),
)
"""Nominees' ID numbers and mobiles (for key rotation)."""
