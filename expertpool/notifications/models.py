"""Invitations of drawn experts, the transactional outbox of SMS and calls, and every contact
attempt.

Personal data is stored encrypted (AES-GCM bound to row and column, see
`services/pii.py`): the recipient number and the text of each message, the expert's name and
number on the invitation. A blind index of the number lets inbound SMS find their invitation."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from expertpool.core.db import Base, UTCDateTime, enum_column, utcnow
from expertpool.core.pii import EncryptedTable


class InvitationState(enum.StrEnum):
    """Where an invitation stands; it only ever moves forward."""

    QUEUED = "queued"
    CALLING = "calling"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    NO_RESPONSE = "no_response"
    UNREACHABLE = "unreachable"
    WITHDRAWN = "withdrawn"
    NOT_NEEDED = "not_needed"  # accepted, but the seat could no longer be held: released

    @property
    def is_open(self) -> bool:
        """Whether the expert has not answered yet."""
        return self in (InvitationState.QUEUED, InvitationState.CALLING)


#: The moves an invitation may make (anything else is refused).
INVITATION_MOVES: dict[InvitationState, frozenset[InvitationState]] = {
    InvitationState.QUEUED: frozenset(
        {
            InvitationState.CALLING,
            InvitationState.ACCEPTED,
            InvitationState.DECLINED,
            InvitationState.NO_RESPONSE,
            InvitationState.UNREACHABLE,
            InvitationState.NOT_NEEDED,
        }
    ),
    InvitationState.CALLING: frozenset(
        {
            InvitationState.ACCEPTED,
            InvitationState.DECLINED,
            InvitationState.NO_RESPONSE,
            InvitationState.UNREACHABLE,
            InvitationState.NOT_NEEDED,
        }
    ),
    InvitationState.ACCEPTED: frozenset({InvitationState.WITHDRAWN}),
    InvitationState.DECLINED: frozenset(),
    InvitationState.NO_RESPONSE: frozenset(),
    InvitationState.UNREACHABLE: frozenset(),
    InvitationState.WITHDRAWN: frozenset(),
    InvitationState.NOT_NEEDED: frozenset(),
}


class OutboxChannel(enum.StrEnum):
    """How an outbox message travels."""

    SMS = "sms"
    VOICE = "voice"


class OutboxKind(enum.StrEnum):
    """What an outbox message is for."""

    INVITATION_SMS = "invitation_sms"
    INVITATION_CALL = "invitation_call"
    CONFIRMATION_SMS = "confirmation_sms"
    HELP_SMS = "help_sms"
    OUTCOME_SMS = "outcome_sms"  # the evaluation was called off or postponed
    RELEASE_SMS = "release_sms"  # accepted too late: the place is no longer needed
    ACCOUNT_CODE_SMS = "account_code_sms"  # an expert's one-time code to set a password
    POOL_REMINDER_SMS = "pool_reminder_sms"  # the daily upkeep: a term's renewal window opened
    RECOMMENDATION_SMS = "recommendation_sms"  # a nominee's one-time consent link


class OutboxStatus(enum.StrEnum):
    """Where a message stands in the outbox."""

    PENDING = "pending"  # waiting for its turn (next_attempt_at)
    SENDING = "sending"  # claimed by a worker (locked_by, locked_at)
    SENT = "sent"  # the provider accepted it (provider_sid)
    UNKNOWN = "unknown"  # the request may have gone out: reconcile before anything else
    FAILED = "failed"  # refused for good, or out of attempts
    CANCELLED = "cancelled"  # no longer needed (the invitation was answered)


class InvitationRecord(Base):
    """One drawn expert invited to one evaluation session, in rank order."""

    __tablename__ = "invitation"
    __table_args__ = (Index("ix_invitation_draw_group", "draw_id", "group_id", "rank"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draw_id: Mapped[str] = mapped_column(String(64))
    group_id: Mapped[str] = mapped_column(String(64), default="")
    # The invited expert's keyed token (core/tokens.py), never the expert id.
    expert_token: Mapped[str] = mapped_column(String(32), index=True)
    rank: Mapped[int] = mapped_column(Integer)
    state: Mapped[InvitationState] = mapped_column(
        enum_column(InvitationState), default=InvitationState.QUEUED
    )
    language: Mapped[str] = mapped_column(String(8), default="zh")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    venue: Mapped[str] = mapped_column(String(200))
    name_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    phone_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    phone_index: Mapped[str] = mapped_column(String(64), index=True)
    # Opaque code the SMS asks for with the answer ("1 KQ27"): unique among the open invitations
    # of one phone, so a reply says which invitation it answers. Never the project's name.
    reply_code: Mapped[str | None] = mapped_column(String(8), default=None)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime())
    call_attempts: Mapped[int] = mapped_column(Integer, default=0)
    link_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    link_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    answered_via: Mapped[str | None] = mapped_column(String(20), default=None)  # voice | sms | link
    withdrawal_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # Placeholders for the seat assignment made on acceptance (the draw feature fills them).
    seat_venue: Mapped[str | None] = mapped_column(String(200), default=None)
    seat_label: Mapped[str | None] = mapped_column(String(50), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    attempts: Mapped[list[ContactAttempt]] = relationship(
        back_populates="invitation", order_by="ContactAttempt.id"
    )


class OutboxMessage(Base):
    """One SMS or call to send, written in the same transaction as the change that causes it."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    channel: Mapped[OutboxChannel] = mapped_column(enum_column(OutboxChannel, 10))
    kind: Mapped[OutboxKind] = mapped_column(enum_column(OutboxKind, 30))
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitation.id"), index=True, default=None
    )
    to_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    body_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)  # SMS text
    # The message as its kind and parameters (JSON), which each provider's adapter renders:
    # Twilio and the console send `body` (the same text); a domestic provider a template.
    message_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    status: Mapped[OutboxStatus] = mapped_column(
        enum_column(OutboxStatus), default=OutboxStatus.PENDING
    )
    provider: Mapped[str | None] = mapped_column(String(20), default=None)
    provider_sid: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(String(200), default=None)
    locked_by: Mapped[str | None] = mapped_column(String(100), default=None)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    sending_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    invitation: Mapped[InvitationRecord | None] = relationship()


class ContactAttempt(Base):
    """One message or call the provider accepted, with every status it went through."""

    __tablename__ = "contact_attempt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitation.id"), index=True, default=None
    )
    outbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_message.id"), index=True, default=None
    )
    channel: Mapped[OutboxChannel] = mapped_column(enum_column(OutboxChannel, 10))
    provider: Mapped[str] = mapped_column(String(20))
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str | None] = mapped_column(String(20), default=None)  # provider words, advanced
    status_history: Mapped[str] = mapped_column(Text, default="[]")  # JSON [[at, status], ...]
    answered_by: Mapped[str | None] = mapped_column(String(30), default=None)
    digits: Mapped[str] = mapped_column(String(50), default="")
    error_code: Mapped[int | None] = mapped_column(Integer, default=None)
    is_final: Mapped[bool] = mapped_column(default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    invitation: Mapped[InvitationRecord | None] = relationship(back_populates="attempts")


PII_TABLES = (
    EncryptedTable(
        OutboxMessage,
        "outbox",
        {"to_encrypted": "to", "body_encrypted": "body", "message_encrypted": "message"},
    ),
    EncryptedTable(
        InvitationRecord, "invitation", {"name_encrypted": "name", "phone_encrypted": "phone"}
    ),
)
"""Recipients, texts, names and numbers of the outbox and invitations (for key rotation)."""
