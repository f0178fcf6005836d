"""Organisations (by unified social credit code), their names, contacts and representatives."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from expertpool.core.db import Base, UTCDateTime, utcnow
from expertpool.core.pii import EncryptedTable


class Organisation(Base):
    """A tenderer, an agency or an employer: one credit code, one or more names."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    is_tenderer: Mapped[bool] = mapped_column(Boolean, default=False)
    is_agency: Mapped[bool] = mapped_column(Boolean, default=False)
    is_employer: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    names: Mapped[list[OrganisationName]] = relationship(
        back_populates="organisation", order_by="OrganisationName.id", cascade="all, delete-orphan"
    )


class OrganisationName(Base):
    """Another name the organisation is known by (former names, short names)."""

    __tablename__ = "organisation_name"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))

    organisation: Mapped[Organisation] = relationship(back_populates="names")


class OrganisationContact(Base):
    """An account acting for an organisation (one organisation per account)."""

    __tablename__ = "organisation_contact"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)

    organisation: Mapped[Organisation] = relationship()


class TendererRepresentative(Base):
    """A person the tenderer sends to sit on the committee of one project (招标人代表).

    Named by the tenderer's (or its agency's) contact before the evaluation; the ID number and
    the mobile are encrypted like experts' data.
    """

    __tablename__ = "tenderer_representative"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    organisation_name: Mapped[str] = mapped_column(String(200))
    id_number_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    phone_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    named_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The login account made for them when the session opens (activated by an SMS code).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), default=None)


PII_TABLES = (
    EncryptedTable(
        TendererRepresentative,
        "tenderer_representative",
        {"id_number_encrypted": "id_number", "phone_encrypted": "phone"},
    ),
)
"""Representatives' ID numbers and mobiles (for key rotation)."""
