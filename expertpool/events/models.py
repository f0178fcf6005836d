"""Outbound event subscriptions of trading systems and the outbox of their deliveries.

A subscription is a URL registered by a centre's trading system for one token scope; its
signing secret is stored encrypted (bound to row and column) because the server signs with it.
Each delivery row is written in the transaction of the state change that causes the event, with
its body frozen there: retries and a crash re-send exactly the same bytes under the same event id.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from expertpool.core.db import Base, UTCDateTime, enum_column, utcnow
from expertpool.core.pii import EncryptedTable


class DeliveryStatus(enum.StrEnum):
    """Where one event delivery stands."""

    PENDING = "pending"  # waiting for its turn (next_attempt_at)
    SENDING = "sending"  # claimed by a worker (locked_by, locked_at)
    DELIVERED = "delivered"  # the receiver answered 2xx
    FAILED = "failed"  # out of attempts, or the subscription was removed


class EventSubscription(Base):
    """A trading system's URL for the events of one scope, for its centre's projects."""

    __tablename__ = "event_subscription"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centre.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    client: Mapped[str] = mapped_column(String(100), default="")
    scope: Mapped[str] = mapped_column(String(40))
    url: Mapped[str] = mapped_column(String(500))
    secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class EventDelivery(Base):
    """One event to POST to one subscription, written with the change that caused it."""

    __tablename__ = "event_delivery"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id", name="uq_event_delivery_event"),
        Index("ix_event_delivery_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("event_subscription.id"), index=True)
    event_id: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)  # the exact bytes POSTed (UTF-8), frozen at emit time
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(100), default=None)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(String(200), default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    subscription: Mapped[EventSubscription] = relationship()


PII_TABLES = (
    EncryptedTable(EventSubscription, "event_subscription", {"secret_encrypted": "secret"}),
)
"""The subscribers' signing secrets (for key rotation)."""
