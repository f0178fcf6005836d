"""The expert's record: ratings after each session, facts the system saw, credit events,
objections and sanctions.

Ratings are written from the room's close, often before the project's close: until the session
is posted (`assessment.post_session`, after the project's close) a rating names the member only
by the room's opaque participant id and keeps its comment sealed under the sealing key, so no
row links an expert to the project for a reader of the database without the key files. Posting
fills in the account and the clear comment, and writes the facts and the credit events, which
name the expert (the closed column allows it).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from expertpool.core.db import Base, UTCDateTime, enum_column, utcnow


class RaterRole(enum.StrEnum):
    """Who rated: a venue's host, the main venue's host (remote members by alias), the
    tenderer's contact."""

    HOST = "host"
    MAIN_HOST = "main_host"
    TENDERER = "tenderer"


class FactKind(enum.StrEnum):
    """What the system records by itself about a member of a session."""

    ABSENT = "absent"
    LATE_CHECK_IN = "late_check_in"
    LEFT_EARLY = "left_early"
    WITHDREW_WITHOUT_CAUSE = "withdrew_without_cause"
    DEVIATION_EXPLANATION_REFUSED = "deviation_explanation_refused"
    COMPLAINT_UPHELD = "complaint_upheld"


class ObjectionStatus(enum.StrEnum):
    """An expert's objection waits for a reviewer of the right department."""

    PENDING = "pending"
    UPHELD = "upheld"
    REJECTED = "rejected"


class SanctionKind(enum.StrEnum):
    """The sanctions, from the lightest to the permanent bar (实施条例 Arts. 71–72)."""

    WARNING = "warning"
    SUSPENSION = "suspension"
    REMOVAL = "removal"
    BAR = "bar"


class SanctionStatus(enum.StrEnum):
    """A sanction is proposed (by a threshold or a person) and decided by a reviewer."""

    PROPOSED = "proposed"
    DECIDED = "decided"
    REJECTED = "rejected"


class Rating(Base):
    """One rater's marks (1–5) for one member of one session."""

    __tablename__ = "record_rating"
    __table_args__ = (UniqueConstraint("session_id", "participant_id", "rater"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("evaluation_session.id"), index=True)
    participant_id: Mapped[str] = mapped_column(String(40))
    rater: Mapped[str] = mapped_column(String(100))
    rater_role: Mapped[RaterRole] = mapped_column(enum_column(RaterRole))
    punctuality: Mapped[int] = mapped_column(Integer)
    competence: Mapped[int] = mapped_column(Integer)
    fairness: Mapped[int] = mapped_column(Integer)
    discipline: Mapped[int] = mapped_column(Integer)
    # Sealed under the sealing key, bound to the room and the member (rooms/sealing.py).
    comment_sealed: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Filled in at posting, after the project's close.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id"), default=None, index=True
    )
    comment: Mapped[str] = mapped_column(Text, default="")
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    @property
    def average(self) -> float:
        """The mean of the four marks."""
        return (self.punctuality + self.competence + self.fairness + self.discipline) / 4


class FactWaiver(Base):
    """A session supervisor sets a system fact aside before posting (a withdrawal with cause,
    a late check-in the venue caused), with the reason; names the member by participant id."""

    __tablename__ = "record_fact_waiver"
    __table_args__ = (UniqueConstraint("session_id", "participant_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("evaluation_session.id"), index=True)
    participant_id: Mapped[str] = mapped_column(String(40))
    kind: Mapped[FactKind] = mapped_column(enum_column(FactKind, 40))
    reason: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Posting(Base):
    """A session's assessment posted to the experts' records (after the project's close)."""

    __tablename__ = "record_posting"

    session_id: Mapped[int] = mapped_column(ForeignKey("evaluation_session.id"), primary_key=True)
    project_id: Mapped[int | None] = mapped_column(Integer, default=None)
    rules_version: Mapped[int] = mapped_column(Integer)
    posted_by: Mapped[str] = mapped_column(String(100))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Fact(Base):
    """A fact the system recorded about an expert (written at posting, or by a supervisor)."""

    __tablename__ = "record_fact"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"), index=True)
    kind: Mapped[FactKind] = mapped_column(enum_column(FactKind, 40))
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("evaluation_session.id"), default=None, index=True
    )
    project_id: Mapped[int | None] = mapped_column(Integer, default=None)
    detail: Mapped[str] = mapped_column(Text, default="")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    waived_reason: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CreditEvent(Base):
    """Points added to or taken from an expert's credit by one rule of one version."""

    __tablename__ = "record_credit_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"), index=True)
    rule: Mapped[str] = mapped_column(String(40))
    points: Mapped[int] = mapped_column(Integer)
    rules_version: Mapped[int] = mapped_column(Integer)
    occurred_on: Mapped[date] = mapped_column(Date, index=True)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("evaluation_session.id"), default=None, index=True
    )
    project_id: Mapped[int | None] = mapped_column(Integer, default=None)
    rating_id: Mapped[int | None] = mapped_column(ForeignKey("record_rating.id"), default=None)
    fact_id: Mapped[int | None] = mapped_column(ForeignKey("record_fact.id"), default=None)
    reverses_id: Mapped[int | None] = mapped_column(
        ForeignKey("record_credit_event.id"), default=None
    )
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Objection(Base):
    """An expert's one objection to a posted session's ratings and facts."""

    __tablename__ = "record_objection"
    __table_args__ = (UniqueConstraint("expert_id", "session_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("evaluation_session.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[ObjectionStatus] = mapped_column(
        enum_column(ObjectionStatus), default=ObjectionStatus.PENDING
    )
    decision: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str | None] = mapped_column(String(100), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Sanction(Base):
    """A sanction proposed by a credit threshold or a person and decided by a reviewer."""

    __tablename__ = "record_sanction"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"), index=True)
    kind: Mapped[SanctionKind] = mapped_column(enum_column(SanctionKind))
    status: Mapped[SanctionStatus] = mapped_column(
        enum_column(SanctionStatus), default=SanctionStatus.PROPOSED
    )
    reason: Mapped[str] = mapped_column(Text)
    by_threshold: Mapped[bool] = mapped_column(Boolean, default=False)
    proposed_by: Mapped[str] = mapped_column(String(100))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ends_on: Mapped[date | None] = mapped_column(Date, default=None)
    evidence_digest: Mapped[str] = mapped_column(String(64), default="")
    evidence_name: Mapped[str] = mapped_column(String(200), default="")
    decision: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str | None] = mapped_column(String(100), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
