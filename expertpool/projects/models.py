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
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from expertpool.accounts.models import Centre
from expertpool.core.db import Base, UTCDateTime, enum_column, utcnow
from expertpool.core.pii import EncryptedTable
from expertpool.departments.models import Department
from expertpool.regimes.models import LegalRegime, ProcurementMethod


class ProjectKind(enum.StrEnum):
    """What is being procured."""

    WORKS = "works"
    GOODS = "goods"
    SERVICES = "services"


class ProjectStatus(enum.StrEnum):
    """Where a project stands; details and bidders are editable only before `drawn`.

    A project ends awarded, failed (流标/废标) or cancelled: each is the close for sealing.
    Postponement is not a status: the project keeps its phase and its panel.
    """

    DRAFT = "draft"
    READY = "ready"
    DRAWN = "drawn"
    OPENED = "opened"
    AWARDED = "awarded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_editable(self) -> bool:
        """Whether details, lots and bidders may still change."""
        return self in (ProjectStatus.DRAFT, ProjectStatus.READY)

    @property
    def is_closed(self) -> bool:
        """Whether the project has ended (the close: panels may be read by those allowed)."""
        return self in CLOSED_STATUSES


CLOSED_STATUSES = frozenset({ProjectStatus.AWARDED, ProjectStatus.FAILED, ProjectStatus.CANCELLED})


class FailureKind(enum.StrEnum):
    """Why a tender failed."""

    TOO_FEW_BIDS = "too_few_bids"  # 流标: too few bids to evaluate
    ALL_REJECTED = "all_rejected"  # 废标: every bid rejected, or the evaluation abandoned


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
    kind: Mapped[ProjectKind] = mapped_column(enum_column(ProjectKind))
    regime: Mapped[LegalRegime] = mapped_column(enum_column(LegalRegime, length=40))
    method: Mapped[ProcurementMethod] = mapped_column(enum_column(ProcurementMethod, length=40))
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
    # The supervising department (None for projects made before departments were recorded).
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id"), default=None, index=True
    )
    is_offsite: Mapped[bool] = mapped_column(Boolean, default=False)  # 异地评标
    # A special project (实施条例 Art. 47) may appoint experts directly: a written reason and a
    # supervisor's approval, both on record.
    is_special: Mapped[bool] = mapped_column(Boolean, default=False)
    special_reason: Mapped[str] = mapped_column(Text, default="")
    special_approved_by: Mapped[str | None] = mapped_column(String(100), default=None)
    special_approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # The rule version in force when the project was made ready (pinned; None while a draft).
    rule_version: Mapped[int | None] = mapped_column(Integer, default=None)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    status: Mapped[ProjectStatus] = mapped_column(
        enum_column(ProjectStatus), default=ProjectStatus.DRAFT
    )
    awarded_on: Mapped[date | None] = mapped_column(Date, default=None)
    winner_code: Mapped[str | None] = mapped_column(String(18), default=None)
    winner_name: Mapped[str | None] = mapped_column(String(200), default=None)
    failure_kind: Mapped[FailureKind | None] = mapped_column(enum_column(FailureKind), default=None)
    outcome_reason: Mapped[str] = mapped_column(Text, default="")
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    postponements: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    owner_centre: Mapped[Centre] = relationship(foreign_keys=[owner_centre_id])
    department: Mapped[Department | None] = relationship()
    main_centre: Mapped[Centre] = relationship(foreign_keys=[main_centre_id])
    lots: Mapped[list[Lot]] = relationship(
        back_populates="project", order_by="Lot.code", cascade="all, delete-orphan"
    )
    bidders: Mapped[list[Bidder]] = relationship(
        back_populates="project", order_by="Bidder.id", cascade="all, delete-orphan"
    )
    secondary_venues: Mapped[list[SecondaryVenue]] = relationship(
        back_populates="project", order_by="SecondaryVenue.id", cascade="all, delete-orphan"
    )

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
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))

    project: Mapped[Project] = relationship(back_populates="lots")


class Bidder(Base):
    """An organisation bidding for the project (or one lot), by unified social credit code."""

    __tablename__ = "bidder"
    __table_args__ = (UniqueConstraint("project_id", "lot_id", "credit_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    lot_id: Mapped[int | None] = mapped_column(
        ForeignKey("lot.id", ondelete="CASCADE"), default=None
    )
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    name: Mapped[str] = mapped_column(String(200))
    is_small_enterprise: Mapped[bool] = mapped_column(Boolean, default=False)  # 中小微企业声明
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    project: Mapped[Project] = relationship(back_populates="bidders")
    lot: Mapped[Lot | None] = relationship()


class SecondaryVenue(Base):
    """A centre hosting remote experts of a project (副场)."""

    __tablename__ = "project_secondary_venue"
    __table_args__ = (UniqueConstraint("project_id", "centre_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    centre_id: Mapped[int] = mapped_column(ForeignKey("centre.id"))

    project: Mapped[Project] = relationship(back_populates="secondary_venues")
    centre: Mapped[Centre] = relationship()


class Terminal(Base):
    """A registered draw terminal of a centre; only the SHA-256 of its credential is stored."""

    __tablename__ = "terminal"
    __table_args__ = (UniqueConstraint("centre_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centre.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    centre: Mapped[Centre] = relationship()


class VenueRecord(Base):
    """An evaluation venue of a centre, with numbered seats (工位)."""

    __tablename__ = "venue"
    __table_args__ = (UniqueConstraint("centre_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centre.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    centre: Mapped[Centre] = relationship()
    seats: Mapped[list[Seat]] = relationship(
        back_populates="venue", order_by="Seat.number", cascade="all, delete-orphan"
    )


class Seat(Base):
    """One numbered seat of a venue."""

    __tablename__ = "seat"
    __table_args__ = (
        UniqueConstraint("venue_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    venue_id: Mapped[int] = mapped_column(ForeignKey("venue.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)

    venue: Mapped[VenueRecord] = relationship(back_populates="seats")


class SeatBooking(Base):
    """A seat held for an expert over a half-open window [starts_at, ends_at).

    Neither a seat nor an expert may hold two live bookings with overlapping windows. The
    service locks rows first; the migration adds the last line of defence (an exclusion
    constraint on PostgreSQL, triggers on SQLite).
    """

    __tablename__ = "seat_booking"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="window_not_empty"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seat_id: Mapped[int] = mapped_column(ForeignKey("seat.id"), index=True)
    # The expert's keyed token (core/tokens.py): overlapping bookings of one expert are refused by
    # the database on it, yet the row does not say whose seat it is without the key files.
    expert_token: Mapped[str] = mapped_column(String(32), index=True)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("project.id"), index=True, default=None
    )
    draw_id: Mapped[str | None] = mapped_column(String(64), default=None)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    seat: Mapped[Seat] = relationship()

    @property
    def is_live(self) -> bool:
        """Whether the booking still holds its seat."""
        return self.released_at is None


class AppointmentStatus(enum.StrEnum):
    """Where a direct appointment stands."""

    REQUESTED = "requested"  # recorded with its reason, waiting for a supervisor
    APPROVED = "approved"  # approved: the expert holds a seat (not drawn)
    REFUSED = "refused"


class Appointment(Base):
    """One expert appointed directly to a special project's committee (not drawn)."""

    __tablename__ = "appointment"
    __table_args__ = (UniqueConstraint("project_id", "expert_token"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    # The appointed expert by keyed token (core/tokens.py) and by their id encrypted under the
    # personal-data key, bound to this row: the staff and supervisors of the project read who it
    # is; a reader of the database without the key files cannot link the expert to the project.
    expert_token: Mapped[str] = mapped_column(String(32), index=True)
    expert_ref: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[AppointmentStatus] = mapped_column(
        Enum(
            AppointmentStatus,
            native_enum=False,
            length=20,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=AppointmentStatus.REQUESTED,
    )
    reason: Mapped[str] = mapped_column(Text)  # the tenderer's written reason
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    decision_note: Mapped[str] = mapped_column(String(500), default="")
    seat_booking_id: Mapped[int | None] = mapped_column(ForeignKey("seat_booking.id"), default=None)


class PersonRole(enum.StrEnum):
    """Why a person is recorded on a project for the conflict rules (回避)."""

    LEGAL_REPRESENTATIVE = "legal_representative"  # a bidder's principal officers
    DIRECTOR = "director"
    MANAGER = "manager"
    PLANNING = "planning"  # worked on the project's planning (前期策划、可研)
    DESIGN = "design"  # worked on the project's design


PRINCIPAL_ROLES = (PersonRole.LEGAL_REPRESENTATIVE, PersonRole.DIRECTOR, PersonRole.MANAGER)
PREPARATION_ROLES = (PersonRole.PLANNING, PersonRole.DESIGN)


class ProjectPerson(Base):
    """A person tied to a project by ID number only: a bidder's principal officer, or someone
    who worked on the project's planning or design. Matched at each draw and at check-in.
    """

    __tablename__ = "project_person"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    bidder_id: Mapped[int | None] = mapped_column(
        ForeignKey("bidder.id", ondelete="CASCADE"), default=None
    )
    role: Mapped[PersonRole] = mapped_column(enum_column(PersonRole, length=30))
    id_number_enc: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    id_number_bidx: Mapped[str] = mapped_column(String(64), index=True)
    recorded_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    bidder: Mapped[Bidder | None] = relationship()


PII_TABLES = (
    EncryptedTable(Appointment, "appointment", {"expert_ref": "expert_ref"}),
    EncryptedTable(ProjectPerson, "project_person", {"id_number_enc": "id_number"}),
)
"""Direct appointments' expert references (for key rotation)."""
