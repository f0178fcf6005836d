"""Experts of the pool: the record, its specialties, history, avoidances, leave, evidence and review
trail.

Personal data (ID number, phone) is stored only encrypted (`*_enc`, see services/pii.py) with a
keyed blind index (`*_bidx`) for look-up (not unique: reviewers see records sharing an ID
number). The draw (#5) queries: `expert.status`,
`expert.home_region`, `expert.employer_code`, `expert_specialty.code` (prefix range),
`expert_employment.org_code` with `end_on` (look-back window), `expert_avoidance.org_code` and
`expert_leave` (`start_on`, `end_on`) overlapping the evaluation window; each has an index."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from expertpool.core.db import Base, UTCDateTime, enum_column, utcnow
from expertpool.core.pii import EncryptedTable


class ExpertStatus(enum.StrEnum):
    """Where an expert stands in the lifecycle (docs/domain.md "Experts and the pool")."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    RETURNED = "returned"
    IN_PUBLICITY = "in_publicity"  # approved, published (公示) before it becomes active
    ACTIVE = "active"
    REJECTED = "rejected"
    ON_LEAVE = "on_leave"
    SUSPENDED = "suspended"
    RETIRED = "retired"
    REMOVED = "removed"


class TitleLevel(enum.StrEnum):
    """Professional title levels; which qualify depends on the regime (the rules' qualification
    paths); the application accepts the senior levels and an equivalent professional level.
    """

    FULL_SENIOR = "full_senior"  # 正高级
    DEPUTY_SENIOR = "deputy_senior"  # 副高级
    EQUIVALENT = "equivalent"  # 同等专业水平, recognised by the reviewing department
    INTERMEDIATE = "intermediate"  # 中级 (refused)
    JUNIOR = "junior"  # 初级 (refused)


class AvoidanceKind(enum.StrEnum):
    """Why an organisation is declared: the expert's own tie, or a relative's employer."""

    DECLARED = "declared"
    RELATIVE = "relative"


class RelativeKind(enum.StrEnum):
    """A near relative (近亲属) an expert declares, matched by ID number at every draw."""

    SPOUSE = "spouse"
    PARENT = "parent"
    CHILD = "child"
    SIBLING = "sibling"
    OTHER = "other"  # grandparents, grandchildren, in-laws living together


class ChangeStatus(enum.StrEnum):
    """State of a pending change to an active expert's key facts."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Expert(Base):
    """One expert's record (an application until approved)."""

    __tablename__ = "expert"
    __table_args__ = (
        Index("ix_expert_status_region", "status", "home_region"),
        Index("ix_expert_region_status", "home_region", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id"), unique=True, default=None
    )
    name: Mapped[str] = mapped_column(String(50), default="", index=True)
    id_number_enc: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    # Not unique: a registration with an ID number another record holds is stored like any other
    # (the submitter is told nothing) and shown to reviewers, who reject it (`review.decide`
    # refuses to approve a second record of one person). A UNIQUE index would make every save an
    # oracle of who is in the pool.
    id_number_bidx: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    phone_bidx: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    email: Mapped[str] = mapped_column(String(254), default="")
    title: Mapped[str] = mapped_column(String(100), default="", index=True)
    title_level: Mapped[TitleLevel | None] = mapped_column(enum_column(TitleLevel), default=None)
    years_experience: Mapped[int | None] = mapped_column(Integer, default=None)
    birth_date: Mapped[date | None] = mapped_column(Date, default=None, index=True)
    home_region: Mapped[str | None] = mapped_column(String(6), default=None)
    employer_code: Mapped[str | None] = mapped_column(String(18), default=None, index=True)
    employer_name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[ExpertStatus] = mapped_column(
        enum_column(ExpertStatus), default=ExpertStatus.DRAFT
    )
    suspended_until: Mapped[date | None] = mapped_column(Date, default=None)
    # Set by the record feature when this year's credit falls below the draw threshold
    # (record/credit.py); the draw treats such an expert as not drawable ("low_credit").
    is_low_credit: Mapped[bool] = mapped_column(Boolean, default=False)
    # The last day of the current term (pool rules: `term_years` from approval or renewal); the
    # draw treats an expert whose term ended before the evaluation as undrawable until renewed.
    term_ends_on: Mapped[date | None] = mapped_column(Date, default=None, index=True)
    status_reason: Mapped[str] = mapped_column(String(500), default="")
    has_consented: Mapped[bool] = mapped_column(Boolean, default=False)
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    # Every ORM update carries `WHERE version = :v`; a lost race raises StaleDataError.
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    specialties: Mapped[list[ExpertSpecialty]] = relationship(
        back_populates="expert", cascade="all, delete-orphan", order_by="ExpertSpecialty.code"
    )
    employments: Mapped[list[ExpertEmployment]] = relationship(
        back_populates="expert", cascade="all, delete-orphan", order_by="ExpertEmployment.start_on"
    )
    avoidances: Mapped[list[ExpertAvoidance]] = relationship(
        back_populates="expert", cascade="all, delete-orphan", order_by="ExpertAvoidance.id"
    )
    leaves: Mapped[list[ExpertLeave]] = relationship(
        back_populates="expert", cascade="all, delete-orphan", order_by="ExpertLeave.start_on"
    )
    evidence: Mapped[list[EvidenceFile]] = relationship(
        back_populates="expert", cascade="all, delete-orphan", order_by="EvidenceFile.id"
    )
    relatives: Mapped[list[ExpertRelative]] = relationship(
        back_populates="expert", cascade="all, delete-orphan", order_by="ExpertRelative.id"
    )

    @property
    def specialty_codes(self) -> list[str]:
        """The specialty codes held, sorted."""
        return [s.code for s in self.specialties]

    @property
    def is_editable(self) -> bool:
        """Whether the applicant may still change the application directly."""
        return self.status in (ExpertStatus.DRAFT, ExpertStatus.RETURNED)

    @property
    def is_in_pool(self) -> bool:
        """Whether the expert belongs to the live pool (active, on leave or suspended)."""
        return self.status in (ExpertStatus.ACTIVE, ExpertStatus.ON_LEAVE, ExpertStatus.SUSPENDED)


class ExpertSpecialty(Base):
    """A specialty code (level 3 or 4) held by an expert; draws match by code prefix.

    `status` and `home_region` copy the expert's own columns so that staff search reads one index
    range (status, city, code prefix) instead of joining 100,000 experts. Database triggers
    (migration 0008) keep them equal to the expert row on every insert and update, whatever
    the path (ORM, bulk insert, raw SQL); the application never writes them. In Python they are
    deferred and may be stale once loaded: use them in queries, not as attributes.
    """

    __tablename__ = "expert_specialty"
    __table_args__ = (
        Index("ix_expert_specialty_code_expert", "code", "expert_id"),
        Index(
            "ix_expert_specialty_search_status_region", "status", "home_region", "code", "expert_id"
        ),
        Index("ix_expert_specialty_search_status", "status", "code", "home_region", "expert_id"),
        Index("ix_expert_specialty_search_region", "home_region", "code", "expert_id"),
    )

    expert_id: Mapped[int] = mapped_column(
        ForeignKey("expert.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(ForeignKey("specialty.code"), primary_key=True)
    status: Mapped[ExpertStatus | None] = mapped_column(
        enum_column(ExpertStatus),
        server_default=FetchedValue(),
        server_onupdate=FetchedValue(),
        deferred=True,
    )
    home_region: Mapped[str | None] = mapped_column(
        String(6), server_default=FetchedValue(), server_onupdate=FetchedValue(), deferred=True
    )

    expert: Mapped[Expert] = relationship(back_populates="specialties")


class ExpertEmployment(Base):
    """A past or current employment; `end_on` empty means ongoing."""

    __tablename__ = "expert_employment"
    __table_args__ = (Index("ix_expert_employment_org_end", "org_code", "end_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    org_code: Mapped[str] = mapped_column(String(18))
    org_name: Mapped[str] = mapped_column(String(200))
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date | None] = mapped_column(Date, default=None)

    expert: Mapped[Expert] = relationship(back_populates="employments")


class ExpertAvoidance(Base):
    """An organisation the expert declares a tie to (own or a relative's): never drawn for it."""

    __tablename__ = "expert_avoidance"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    org_code: Mapped[str] = mapped_column(String(18), index=True)
    org_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[AvoidanceKind] = mapped_column(enum_column(AvoidanceKind))

    expert: Mapped[Expert] = relationship(back_populates="avoidances")


class ExpertLeave(Base):
    """A period (inclusive dates) in which the expert is unavailable."""

    __tablename__ = "expert_leave"
    __table_args__ = (
        Index("ix_expert_leave_expert_start", "expert_id", "start_on"),
        Index("ix_expert_leave_window", "start_on", "end_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"))
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    expert: Mapped[Expert] = relationship(back_populates="leaves")


class ExpertRelative(Base):
    """A near relative the expert declares, by ID number only (encrypted, with a blind index).

    The draw matches the blind index against bidders' principals (the relative's bidder is then
    an avoided organisation) and against other experts (two related experts never both serve).
    """

    __tablename__ = "expert_relative"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    kind: Mapped[RelativeKind] = mapped_column(enum_column(RelativeKind))
    id_number_enc: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    id_number_bidx: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    expert: Mapped[Expert] = relationship(back_populates="relatives")


class EvidenceFile(Base):
    """An uploaded evidence file, stored outside the database under its SHA-256."""

    __tablename__ = "evidence_file"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    original_name: Mapped[str] = mapped_column(String(255))
    mime: Mapped[str] = mapped_column(String(50))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    expert: Mapped[Expert] = relationship(back_populates="evidence")


class ApplicationVersion(Base):
    """An immutable snapshot of one submitted version of an application (personal data masked)."""

    __tablename__ = "application_version"
    __table_args__ = (UniqueConstraint("expert_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[str] = mapped_column(Text)  # canonical JSON
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PendingChange(Base):
    """An active expert's change to specialties, employer or title, applied only once approved."""

    __tablename__ = "expert_pending_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON of the proposed values
    status: Mapped[ChangeStatus] = mapped_column(
        enum_column(ChangeStatus), default=ChangeStatus.PENDING, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    opinion: Mapped[str] = mapped_column(String(1000), default="")


class ReviewDecision(Base):
    """A reviewer's decision on an application or a pending change."""

    __tablename__ = "review_decision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    decision: Mapped[str] = mapped_column(String(20))  # approve | return | reject
    opinion: Mapped[str] = mapped_column(String(1000), default="")
    application_number: Mapped[int | None] = mapped_column(Integer, default=None)
    # The step of the review chain it was taken at (0 first; None before chains existed).
    step: Mapped[int | None] = mapped_column(Integer, default=None)
    pending_change_id: Mapped[int | None] = mapped_column(
        ForeignKey("expert_pending_change.id"), default=None
    )
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EntryState(Base):
    """Where an application stands on its way into the pool: its step of the review chain, the
    publicity period once approved, and the organisation that recommended the applicant.

    A table beside `expert` (rather than columns on it) so that the triggers of `expert` stay
    untouched; a record without a row is at step 0, never recommended, never published.
    """

    __tablename__ = "expert_entry"

    expert_id: Mapped[int] = mapped_column(
        ForeignKey("expert.id", ondelete="CASCADE"), primary_key=True
    )
    step: Mapped[int] = mapped_column(Integer, default=0)
    publicity_from: Mapped[date | None] = mapped_column(Date, default=None)
    publicity_until: Mapped[date | None] = mapped_column(Date, default=None, index=True)
    recommended_by: Mapped[str] = mapped_column(String(200), default="")


class ObjectionStatus(enum.StrEnum):
    """Where an objection to a published application stands."""

    OPEN = "open"
    UPHELD = "upheld"  # the application is rejected
    DISMISSED = "dismissed"


class PublicityObjection(Base):
    """Anyone's objection to an application in publicity, with a reason and a contact (encrypted);
    an open objection holds the activation until a reviewer resolves it."""

    __tablename__ = "publicity_objection"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    contact_enc: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    status: Mapped[ObjectionStatus] = mapped_column(
        enum_column(ObjectionStatus), default=ObjectionStatus.OPEN, index=True
    )
    resolution: Mapped[str] = mapped_column(String(1000), default="")
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MaintenanceRun(Base):
    """One day's upkeep of the pool: the row for a day is written once, so a day never runs
    twice.
    """

    __tablename__ = "maintenance_run"

    day: Mapped[date] = mapped_column(Date, primary_key=True)  # China Standard Time
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(100), default="maintenance")
    report: Mapped[str] = mapped_column(Text, default="{}")  # counts per change, canonical JSON


PII_TABLES = (
    EncryptedTable(Expert, "expert", {"id_number_enc": "id_number", "phone_enc": "phone"}),
    EncryptedTable(ExpertRelative, "expert_relative", {"id_number_enc": "id_number"}),
    EncryptedTable(PublicityObjection, "publicity_objection", {"contact_enc": "contact"}),
)
"""The experts' encrypted personal data (for key rotation)."""
