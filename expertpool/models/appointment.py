"""Special projects: experts appointed directly by the tenderer, with a written reason and an approval.

Such an appointment is not a draw and is never shown as one: it has no commitment, no
witnesses and no ranking; it is recorded, approved by a supervisor and logged as appointed.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from expertpool.db import Base, UTCDateTime


class AppointmentStatus(enum.StrEnum):
    """Where a direct appointment stands."""

    REQUESTED = "requested"  # recorded with its reason, waiting for a supervisor
    APPROVED = "approved"  # approved: the expert holds a seat (not drawn)
    REFUSED = "refused"


class Appointment(Base):
    """One expert appointed directly to a special project's committee (not drawn)."""

    __tablename__ = "appointment"
    __table_args__ = (UniqueConstraint("project_id", "expert_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"), index=True)
    status: Mapped[AppointmentStatus] = mapped_column(
        Enum(AppointmentStatus, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]),
        default=AppointmentStatus.REQUESTED)
    reason: Mapped[str] = mapped_column(Text)  # the tenderer's written reason
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    decision_note: Mapped[str] = mapped_column(String(500), default="")
    seat_booking_id: Mapped[int | None] = mapped_column(ForeignKey("seat_booking.id"), default=None)
