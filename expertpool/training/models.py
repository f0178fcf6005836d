"""Courses, the hours each expert completed, and the years an expert lapsed."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from expertpool.core.db import Base, UTCDateTime, utcnow


class TrainingCourse(Base):
    """A continuing-education course with its class hours."""

    __tablename__ = "training_course"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    hours: Mapped[int] = mapped_column(Integer)
    held_on: Mapped[date] = mapped_column(Date)
    provider: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TrainingRecord(Base):
    """Hours an expert completed: recorded with a certificate by the expert, or imported."""

    __tablename__ = "training_record"
    __table_args__ = (UniqueConstraint("expert_id", "course_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("training_course.id"), index=True)
    hours: Mapped[int] = mapped_column(Integer)
    completed_on: Mapped[date] = mapped_column(Date, index=True)
    source: Mapped[str] = mapped_column(String(10))  # expert | import
    # The certificate file (stored like evidence, outside the database, under its SHA-256).
    certificate_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    certificate_name: Mapped[str] = mapped_column(String(255), default="")
    recorded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TrainingLapse(Base):
    """A training year the expert did not complete, and what followed (suspended or removed)."""

    __tablename__ = "training_lapse"

    expert_id: Mapped[int] = mapped_column(
        ForeignKey("expert.id", ondelete="CASCADE"), primary_key=True
    )
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    hours: Mapped[int] = mapped_column(Integer)
    required: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(10))  # suspended | removed | none
    decided_on: Mapped[date] = mapped_column(Date)
