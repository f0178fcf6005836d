"""Venues with numbered seats, and seat bookings that never overlap for a seat or an expert."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from expertpool.accounts.models import Centre
from expertpool.core import audit
from expertpool.core.db import utcnow
from expertpool.core.errors import Conflict, NotFound, ValidationFailed
from expertpool.core.texts import _l
from expertpool.projects.models import Seat, SeatBooking, VenueRecord

MAX_SEATS = 500
# Namespace of the PostgreSQL advisory locks taken per expert (by 28 bits of the expert's token).
EXPERT_LOCK_CLASS = 5_003


def venue_view(v: VenueRecord) -> dict[str, object]:
    """A venue as JSON."""
    return {
        "id": v.id,
        "centre": v.centre.region_code,
        "name": v.name,
        "address": v.address,
        "seats": [s.number for s in v.seats],
    }


def create_venue(
    session: Session,
    *,
    actor: str,
    centre_code: str,
    name: str,
    address: str = "",
    seats: object = 0,
) -> VenueRecord:
    """Create a venue of a centre with seats numbered 1..`seats`; commits."""
    fields: dict[str, str] = {}
    centre = session.execute(
        select(Centre).where(Centre.region_code == (centre_code or "").strip())
    ).scalar_one_or_none()
    if centre is None:
        fields["centre"] = str(_l("Unknown centre."))
    clean = (name or "").strip()
    if not clean or len(clean) > 100:
        fields["name"] = str(_l("Required (at most 100 characters)."))
    if len((address or "").strip()) > 200:
        fields["address"] = str(_l("At most 200 characters."))
    count = (
        int(seats)
        if isinstance(seats, int) and not isinstance(seats, bool)
        else (int(seats) if isinstance(seats, str) and seats.strip().isdigit() else -1)
    )
    if not 1 <= count <= MAX_SEATS:
        fields["seats"] = str(_l("A number of seats from 1 to %(n)d.", n=MAX_SEATS))
    if fields:
        raise ValidationFailed(fields=fields)
    venue = VenueRecord(
        centre=centre,
        name=clean,
        address=(address or "").strip(),
        seats=[Seat(number=n) for n in range(1, count + 1)],
    )
    session.add(venue)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise ValidationFailed(
            fields={"name": str(_l("This centre already has a venue with this name."))}
        ) from None
    audit.record(
        session,
        actor=actor,
        action="venue.create",
        object_type="venue",
        object_id=venue.id,
        after={"centre": centre.region_code if centre else None, "name": clean, "seats": count},
    )
    session.commit()
    return venue


def get_venue(session: Session, venue_id: int) -> VenueRecord:
    """A venue by id, or `NotFound`."""
    venue = session.get(VenueRecord, venue_id)
    if venue is None:
        raise NotFound()
    return venue


def list_venues(session: Session, *, centre_id: int | None = None) -> list[VenueRecord]:
    """Venues by centre and name."""
    stmt = select(VenueRecord).join(Centre).order_by(Centre.region_code, VenueRecord.name)
    if centre_id is not None:
        stmt = stmt.where(VenueRecord.centre_id == centre_id)
    return list(session.execute(stmt).scalars())


@dataclass(frozen=True)
class BookingWish:
    """One seat to hold for one expert (by token, `core/tokens.py`) over [starts_at, ends_at)."""

    seat_id: int
    expert_token: str
    starts_at: datetime
    ends_at: datetime


def _overlapping(
    session: Session,
    column: InstrumentedAttribute[int] | InstrumentedAttribute[str],
    value: int | str,
    starts_at: datetime,
    ends_at: datetime,
) -> int:
    return session.execute(
        select(func.count())
        .select_from(SeatBooking)
        .where(
            column == value,
            SeatBooking.released_at.is_(None),
            SeatBooking.starts_at < ends_at,
            SeatBooking.ends_at > starts_at,
        )
    ).scalar_one()


def is_expert_booked(
    session: Session, expert_token: str, starts_at: datetime, ends_at: datetime
) -> bool:
    """Whether the expert (by token) holds a live booking overlapping [starts_at, ends_at)."""
    return _overlapping(session, SeatBooking.expert_token, expert_token, starts_at, ends_at) > 0


def book_seats(
    session: Session,
    wishes: Sequence[BookingWish],
    *,
    project_id: int | None = None,
    draw_id: str | None = None,
) -> list[SeatBooking]:
    """Hold seats for experts inside the caller's transaction (flushes, never commits).

    Seats, then experts, are locked in ascending id order (row locks and advisory locks on
    PostgreSQL; SQLite transactions already begin IMMEDIATE), overlaps are refused with
    `Conflict` (`seat_taken` or `expert_booked`), and the database constraint added by the
    migration stays the last line of defence.
    """
    fields: dict[str, str] = {}
    for i, w in enumerate(wishes):
        if w.starts_at.tzinfo is None or w.ends_at.tzinfo is None or w.ends_at <= w.starts_at:
            fields[f"bookings[{i}]"] = str(
                _l("A window is two aware times, the end after the start.")
            )
    if fields:
        raise ValidationFailed(fields=fields)
    seat_ids = sorted({w.seat_id for w in wishes})
    seats = {
        s.id: s
        for s in session.execute(
            select(Seat).where(Seat.id.in_(seat_ids)).order_by(Seat.id).with_for_update()
        ).scalars()
    }
    missing = [s for s in seat_ids if s not in seats]
    if missing:
        raise NotFound(str(_l("No such seat: %(ids)s", ids=", ".join(map(str, missing)))))
    if session.get_bind().dialect.name == "postgresql":
        for token in sorted({w.expert_token for w in wishes}):
            # 28 bits of the token: a collision only serialises two experts' bookings a little.
            session.execute(
                text("SELECT pg_advisory_xact_lock(:c, :e)"),
                {"c": EXPERT_LOCK_CLASS, "e": int(token[:7], 16)},
            )
    made: list[SeatBooking] = []
    for i, w in enumerate(wishes):
        for other in wishes[:i]:
            if other.starts_at < w.ends_at and w.starts_at < other.ends_at:
                if other.seat_id == w.seat_id:
                    raise Conflict(
                        str(_l("This seat is already booked at that time.")), code="seat_taken"
                    )
                if other.expert_token == w.expert_token:
                    raise Conflict(
                        str(_l("This expert is already booked at that time.")), code="expert_booked"
                    )
        if _overlapping(session, SeatBooking.seat_id, w.seat_id, w.starts_at, w.ends_at):
            raise Conflict(str(_l("This seat is already booked at that time.")), code="seat_taken")
        if _overlapping(session, SeatBooking.expert_token, w.expert_token, w.starts_at, w.ends_at):
            raise Conflict(
                str(_l("This expert is already booked at that time.")), code="expert_booked"
            )
        made.append(
            SeatBooking(
                seat_id=w.seat_id,
                expert_token=w.expert_token,
                starts_at=w.starts_at,
                ends_at=w.ends_at,
                project_id=project_id,
                draw_id=draw_id,
            )
        )
    try:
        with session.begin_nested():
            session.add_all(made)
            session.flush()
    except IntegrityError as exc:
        code = "expert_booked" if "expert_token" in str(exc.orig) else "seat_taken"
        raise Conflict(
            str(_l("The booking collides with another one made meanwhile.")), code=code
        ) from None
    return made


def release_booking(session: Session, booking_id: int) -> SeatBooking:
    """Free a booking inside the caller's transaction (kept as history, never deleted)."""
    booking = session.get(SeatBooking, booking_id)
    if booking is None:
        raise NotFound()
    if booking.released_at is None:
        booking.released_at = utcnow()
        session.flush()
    return booking


def free_seats(
    session: Session, venue_id: int, starts_at: datetime, ends_at: datetime
) -> list[Seat]:
    """Seats of a venue with no live booking overlapping [starts_at, ends_at)."""
    busy = select(SeatBooking.seat_id).where(
        SeatBooking.released_at.is_(None),
        SeatBooking.starts_at < ends_at,
        SeatBooking.ends_at > starts_at,
    )
    return list(
        session.execute(
            select(Seat)
            .where(Seat.venue_id == venue_id, Seat.id.not_in(busy))
            .order_by(Seat.number)
        ).scalars()
    )
