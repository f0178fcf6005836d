"""Draw requests with their specialty groups, and the hash-chained draw ledger."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from expertpool.core.db import Base, UTCDateTime, enum_column, utcnow
from expertpool.projects.models import Lot, Project, Terminal


class DrawRequestStatus(enum.StrEnum):
    """Where a request stands in the draw protocol (draw-v1)."""

    VALIDATED = "validated"  # checked and stored; no commitment yet
    COMMITTED = "committed"  # snapshot and signed commitment made, waiting for witnesses
    SEALED = "sealed"  # drawn; the sealed record is in the ledger
    ABANDONED = "abandoned"
    FAILED = "failed"


class DrawRequestRecord(Base):
    """A validated request for a panel: groups, region rules, avoidance and caps.

    It holds only what the requester decided; the candidate snapshot, commitment and result
    belong to the draw protocol and its ledger.
    """

    __tablename__ = "draw_request"
    __table_args__ = (
        CheckConstraint("expert_count >= 1", name="expert_count_positive"),
        CheckConstraint("committee_size >= expert_count", name="committee_holds_experts"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lot.id"), default=None)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("draw_request.id"), default=None
    )  # 补抽
    status: Mapped[DrawRequestStatus] = mapped_column(
        enum_column(DrawRequestStatus), default=DrawRequestStatus.VALIDATED
    )
    is_offsite: Mapped[bool] = mapped_column(Boolean, default=False)
    distinct_employers: Mapped[bool] = mapped_column(Boolean, default=False)
    max_recent_draws: Mapped[int | None] = mapped_column(Integer, default=None)  # None: no cap
    frequency_window_days: Mapped[int] = mapped_column(Integer)
    expert_count: Mapped[int] = mapped_column(Integer)
    committee_size: Mapped[int] = mapped_column(Integer)
    evaluation_start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    evaluation_end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminal.id"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The secondary venues picked at random for the remote groups (`draws/remote.py`), sealed
    # under the sealing key until the opening; None: the request has no remote group.
    remote_enc: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)

    project: Mapped[Project] = relationship()
    lot: Mapped[Lot | None] = relationship()
    terminal: Mapped[Terminal] = relationship()
    groups: Mapped[list[DrawGroup]] = relationship(
        back_populates="request", order_by="DrawGroup.position", cascade="all, delete-orphan"
    )


class DrawGroup(Base):
    """One group of seats of a request: specialty prefixes, regions, primaries and backups."""

    __tablename__ = "draw_group"
    __table_args__ = (
        UniqueConstraint("request_id", "group_key"),
        UniqueConstraint("request_id", "position"),
        CheckConstraint("count >= 1", name="count_positive"),
        CheckConstraint("backups >= 0", name="backups_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("draw_request.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    group_key: Mapped[str] = mapped_column(String(32))  # the group id of draw-v1 ("g1", "g2", ...)
    specialties: Mapped[list[str]] = mapped_column(JSON)
    regions_in: Mapped[list[str]] = mapped_column(JSON)
    regions_out: Mapped[list[str]] = mapped_column(JSON)
    count: Mapped[int] = mapped_column(Integer)
    backups: Mapped[int] = mapped_column(Integer)

    request: Mapped[DrawRequestRecord] = relationship(back_populates="groups")

    def as_engine_group(self) -> dict[str, Any]:
        """This group in the draw-v1 request shape (§3)."""
        return {
            "id": self.group_key,
            "specialties": list(self.specialties),
            "regions_in": list(self.regions_in),
            "regions_out": list(self.regions_out),
            "count": self.count,
            "backups": self.backups,
        }


class LedgerKind(enum.StrEnum):
    """What a draw-ledger entry records."""

    COMMIT = "commit"
    SEALED = "sealed"
    ABANDONED = "abandoned"
    FAILED = "failed"
    OPENED = "opened"
    REFUSED = "refused"  # a prepare refused (insufficient pool); its numbers sealed
    REPORT = "report"  # a session's signed report: its PDF's SHA-256 (`reports/archive.py`)
    PICK = "pick"  # a request's secondary venues picked at random, sealed (`draws/remote.py`)


class DrawLedgerEntry(Base):
    """One append-only entry of the draw ledger, chained to the previous one by SHA-256.

    `payload` is canonical JSON exactly as signed (e.g. the draw-v1 commit or sealed record).
    """

    __tablename__ = "draw_ledger_entry"
    __table_args__ = (UniqueConstraint("draw_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    draw_id: Mapped[str] = mapped_column(String(64), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("draw_request.id"), default=None)
    kind: Mapped[LedgerKind] = mapped_column(enum_column(LedgerKind))
    payload: Mapped[str] = mapped_column(Text)
    signature: Mapped[str | None] = mapped_column(String(200), default=None)  # base64 Ed25519
    key_id: Mapped[str | None] = mapped_column(String(32), default=None)
    terminal_id: Mapped[int | None] = mapped_column(ForeignKey("terminal.id"), default=None)
    operator: Mapped[str] = mapped_column(String(100))
    supervisor: Mapped[str | None] = mapped_column(String(100), default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class DrawLedgerHead(Base):
    """The single row holding the ledger's head; locked to serialise appends."""

    __tablename__ = "draw_ledger_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


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
    status: Mapped[DrawStatus] = mapped_column(
        enum_column(DrawStatus), default=DrawStatus.COMMITTED
    )
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminal.id"))
    operator_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), default=None)
    supervisor_authenticated_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), default=None
    )
    operator_digits: Mapped[str | None] = mapped_column(String(64), default=None)
    operator_witnessed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    supervisor_digits: Mapped[str | None] = mapped_column(String(64), default=None)
    supervisor_witnessed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # The draw-v1 request's public part in clear (groups and rules; never `excluded_experts`,
    # which names the experts already invited for the project); the whole canonical request is
    # sealed under the draw's key in `request_enc` (`sealing.open_request`).
    request_json: Mapped[str] = mapped_column(Text)
    request_enc: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    # The candidate snapshot (draws/snapshot.py `dump_snapshot`), sealed under the draw's key: its
    # availability and recent-draw columns reflect other draws' bookings and invitations.
    snapshot: Mapped[bytes] = mapped_column(LargeBinary)
    # H(commit) in clear; the commitment itself (with its eligible counts) sealed under the draw's
    # key, shown only to the draw's operator and witnessing supervisor before the close.
    commit_digest: Mapped[str] = mapped_column(String(64))
    commit_enc: Mapped[bytes] = mapped_column(LargeBinary)
    commit_signature: Mapped[str] = mapped_column(String(200))
    key_id: Mapped[str] = mapped_column(String(32))
    public_key: Mapped[str] = mapped_column(String(64))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)  # per-draw key under the sealing key
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    result_enc: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    sealed_enc: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)  # the sealed record
    # The draws (and projects) whose bookings or invitations shaped this draw's snapshot, sealed:
    # its transcript is released only once all of them are closed. None: made before it was kept.
    shaped_enc: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    # The typed reasons of the conflicts draw-v1 does not name (draws/conflicts.py), by expert id,
    # sealed: the snapshot shows only draw-v1's generic reasons. None: made before they were kept.
    conflicts_enc: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    sealed_signature: Mapped[str | None] = mapped_column(String(200), default=None)
    reason: Mapped[str] = mapped_column(String(1000), default="")  # why abandoned or failed
    prepared_at: Mapped[datetime] = mapped_column(UTCDateTime())
    drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), default=None)
    opened_supervisor_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id"), default=None
    )

    request: Mapped[DrawRequestRecord] = relationship()
    invitees: Mapped[list[DrawInvitee]] = relationship(
        back_populates="draw", order_by="DrawInvitee.id", cascade="all, delete-orphan"
    )

    @property
    def witnesses(self) -> list[str]:
        """The witness entries in order: the operator's, then the supervisor's."""
        return [d for d in (self.operator_digits, self.supervisor_digits) if d]


class DrawInvitee(Base):
    """An expert invited for one group of a draw, in invitation order; at most once per draw."""

    __tablename__ = "draw_invitee"
    __table_args__ = (UniqueConstraint("draw_pk", "expert_token"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draw_pk: Mapped[int] = mapped_column(ForeignKey("draw.id", ondelete="CASCADE"), index=True)
    group_key: Mapped[str] = mapped_column(String(32))
    # The expert's keyed token (core/tokens.py), never the expert id: the row must not name who
    # was drawn to a reader of the database without the key files.
    expert_token: Mapped[str] = mapped_column(String(32), index=True)
    is_primary: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(Integer)  # rank within the group's primaries or backups
    status: Mapped[InviteeStatus] = mapped_column(
        enum_column(InviteeStatus), default=InviteeStatus.INVITED
    )
    reason: Mapped[str] = mapped_column(String(500), default="")
    skipped: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list
    )  # backups passed over (§9)
    seat_booking_id: Mapped[int | None] = mapped_column(ForeignKey("seat_booking.id"), default=None)
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    draw: Mapped[Draw] = relationship(back_populates="invitees")
