"""Projects to be evaluated: lots (标段), bidders, secondary venues and the award."""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from expertpool.db import Base, UTCDateTime, utcnow
from expertpool.models.user import Centre


class ProjectKind(enum.StrEnum):
    """What is being procured."""

    WORKS = "works"
    GOODS = "goods"
    SERVICES = "services"


class ProjectStatus(enum.StrEnum):
    """Where a project stands; details and bidders are editable only before `drawn`."""

    DRAFT = "draft"
    READY = "ready"
    DRAWN = "drawn"
    OPENED = "opened"
    AWARDED = "awarded"

    @property
    def is_editable(self) -> bool:
        """Whether details, lots and bidders may still change."""
        return self in (ProjectStatus.DRAFT, ProjectStatus.READY)


def _enum(cls: type[enum.Enum], length: int = 20) -> Enum:
    return Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class Project(Base):
    """A tender needing an evaluation committee; owned by one trading centre."""

    __tablename__ = "project"
    __table_args__ = (
        CheckConstraint("budget_fen >= 0", name="budget_not_negative"),
        CheckConstraint("tenderer_representatives >= 0", name="representatives_not_negative"),
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[ProjectKind] = mapped_column(_enum(ProjectKind))
    budget_fen: Mapped[int] = mapped_column(BigInteger)  # CNY in fen (1/100 yuan): never a float
    is_complex: Mapped[bool] = mapped_column(Boolean, default=False)
    tenderer_code: Mapped[str] = mapped_column(String(18))
    tenderer_name: Mapped[str] = mapped_column(String(200))
    agency_code: Mapped[str] = mapped_column(String(18))
    agency_name: Mapped[str] = mapped_column(String(200))
    tenderer_representatives: Mapped[int] = mapped_column(Integer, default=0)
    evaluation_start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_minutes: Mapped[int] = mapped_column(Integer)
    owner_centre_id: Mapped[int] = mapped_column(ForeignKey("centre.id"), index=True)
    main_centre_id: Mapped[int] = mapped_column(ForeignKey("centre.id"))
    is_remote: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[ProjectStatus] = mapped_column(_enum(ProjectStatus), default=ProjectStatus.DRAFT)
    awarded_on: Mapped[date | None] = mapped_column(Date, default=None)
    winner_code: Mapped[str | None] = mapped_column(String(18), default=None)
    winner_name: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    owner_centre: Mapped[Centre] = relationship(foreign_keys=[owner_centre_id])
    main_centre: Mapped[Centre] = relationship(foreign_keys=[main_centre_id])
    lots: Mapped[list[Lot]] = relationship(back_populates="project", order_by="Lot.code",
                                           cascade="all, delete-orphan")
    bidders: Mapped[list[Bidder]] = relationship(back_populates="project", order_by="Bidder.id",
                                                 cascade="all, delete-orphan")
    secondary_venues: Mapped[list[SecondaryVenue]] = relationship(
        back_populates="project", order_by="SecondaryVenue.id", cascade="all, delete-orphan")

    @property
    def budget_cny(self) -> Decimal:
        """The budget in yuan, exact."""
        return Decimal(self.budget_fen) / 100

    @property
    def evaluation_end_at(self) -> datetime:
        """When the evaluation is expected to end (start plus expected duration)."""
        return self.evaluation_start_at + timedelta(minutes=self.duration_minutes)

    @property
    def secondary_centres(self) -> list[Centre]:
        """The centres hosting remote experts, in the order they were added."""
        return [sv.centre for sv in self.secondary_venues]


class Lot(Base):
    """A lot (标段) of a project; the draw may be for one lot."""

    __tablename__ = "lot"
    __table_args__ = (UniqueConstraint("project_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))

    project: Mapped[Project] = relationship(back_populates="lots")


class Bidder(Base):
    """An organisation bidding for the project (or one lot), by unified social credit code."""

    __tablename__ = "bidder"
    __table_args__ = (UniqueConstraint("project_id", "lot_id", "credit_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lot.id", ondelete="CASCADE"), default=None)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    project: Mapped[Project] = relationship(back_populates="bidders")
    lot: Mapped[Lot | None] = relationship()


class SecondaryVenue(Base):
    """A centre hosting remote experts of a project (副场)."""

    __tablename__ = "project_secondary_venue"
    __table_args__ = (UniqueConstraint("project_id", "centre_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centre.id"))

    project: Mapped[Project] = relationship(back_populates="secondary_venues")
    centre: Mapped[Centre] = relationship()
