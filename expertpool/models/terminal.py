"""Draw terminals, venues with numbered seats, and seat bookings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from expertpool.db import Base, UTCDateTime, utcnow
from expertpool.models.user import Centre


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


class Venue(Base):
    """An evaluation venue of a centre, with numbered seats (工位)."""

    __tablename__ = "venue"
    __table_args__ = (UniqueConstraint("centre_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centre.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    centre: Mapped[Centre] = relationship()
    seats: Mapped[list[Seat]] = relationship(back_populates="venue", order_by="Seat.number",
                                             cascade="all, delete-orphan")


class Seat(Base):
    """One numbered seat of a venue."""

    __tablename__ = "seat"
    __table_args__ = (UniqueConstraint("venue_id", "number"), CheckConstraint("number >= 1", name="number_positive"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    venue_id: Mapped[int] = mapped_column(ForeignKey("venue.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)

    venue: Mapped[Venue] = relationship(back_populates="seats")


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
    # The foreign key to the expert table arrives with the expert records (#3).
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"), index=True, default=None)
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
