"""One run of the draw-v1 protocol per draw id: commitment, witnesses, sealed result, invitees.

The secret and the result are stored only encrypted (`*_enc`) under a per-draw key that is
itself wrapped by the sealing key (see services/sealing.py); nothing here is readable by staff.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Enum,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from expertpool.db import Base, UTCDateTime
from expertpool.models.draw import DrawRequest


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class DrawStatus(enum.StrEnum):
    """Where one draw stands: a commitment serves exactly one draw."""

    COMMITTED = "committed"  # commitment signed and shown; waiting for the witnesses
    SEALED = "sealed"  # drawn; the signed sealed record is in the ledger
    ABANDONED = "abandoned"
    FAILED = "failed"
    OPENED = "opened"  # the session opened; the panel may be read by those entitled


class InviteeStatus(enum.StrEnum):
    """Where one invited expert stands."""

    INVITED = "invited"  # invitation open
    ACCEPTED = "accepted"  # holds a seat
    DECLINED = "declined"
    NO_RESPONSE = "no_response"
    WITHDRAWN = "withdrawn"  # declined after accepting
    REMOVED = "removed"  # taken off the panel (e.g. related to another member)
    UNAVAILABLE = "unavailable"  # found booked or on leave meanwhile

    @property
    def is_holding(self) -> bool:
        """Whether the expert holds a seat or an open invitation (§9 `holding`)."""
        return self in (InviteeStatus.INVITED, InviteeStatus.ACCEPTED)


class Draw(Base):
    """One draw (one draw id): the protocol's stored state between prepare, draw and opening."""

    __tablename__ = "draw"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draw_id: Mapped[str] = mapped_column(String(64), unique=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("draw_request.id"), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    status: Mapped[DrawStatus] = mapped_column(_enum(DrawStatus), default=DrawStatus.COMMITTED)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminal.id"))
    operator_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), default=None)
    supervisor_authenticated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    operator_digits: Mapped[str | None] = mapped_column(String(64), default=None)
    operator_witnessed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    supervisor_digits: Mapped[str | None] = mapped_column(String(64), default=None)
    supervisor_witnessed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    request_json: Mapped[str] = mapped_column(Text)  # the draw-v1 request, canonical JSON
    snapshot: Mapped[bytes] = mapped_column(LargeBinary)  # zlib(JSON candidate rows): draw_snapshot.dump_snapshot
    commit_json: Mapped[str] = mapped_column(Text)
    commit_signature: Mapped[str] = mapped_column(String(200))
    key_id: Mapped[str] = mapped_column(String(32))
    public_key: Mapped[str] = mapped_column(String(64))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)  # per-draw key under the sealing key
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    result_enc: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    sealed_json: Mapped[str | None] = mapped_column(Text, default=None)
    sealed_signature: Mapped[str | None] = mapped_column(String(200), default=None)
    reason: Mapped[str] = mapped_column(String(1000), default="")  # why abandoned or failed
    prepared_at: Mapped[datetime] = mapped_column(UTCDateTime())
    drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), default=None)
    opened_supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), default=None)

    request: Mapped[DrawRequest] = relationship()
    invitees: Mapped[list[DrawInvitee]] = relationship(back_populates="draw", order_by="DrawInvitee.id",
                                                       cascade="all, delete-orphan")

    @property
    def witnesses(self) -> list[str]:
        """The witness entries in order: the operator's, then the supervisor's."""
        return [d for d in (self.operator_digits, self.supervisor_digits) if d]


class DrawInvitee(Base):
    """An expert invited for one group of a draw, in invitation order; at most once per draw."""

    __tablename__ = "draw_invitee"
    __table_args__ = (UniqueConstraint("draw_pk", "expert_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draw_pk: Mapped[int] = mapped_column(ForeignKey("draw.id", ondelete="CASCADE"), index=True)
    group_key: Mapped[str] = mapped_column(String(32))
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"), index=True)
    is_primary: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(Integer)  # rank within the group's primaries or backups
    status: Mapped[InviteeStatus] = mapped_column(_enum(InviteeStatus), default=InviteeStatus.INVITED)
    reason: Mapped[str] = mapped_column(String(500), default="")
    skipped: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # backups passed over (§9)
    seat_booking_id: Mapped[int | None] = mapped_column(ForeignKey("seat_booking.id"), default=None)
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    draw: Mapped[Draw] = relationship(back_populates="invitees")
