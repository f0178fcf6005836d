"""The outbox: messages queued in the caller's transaction, sealed, and the texts they carry."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

import notify
from expertpool.core.db import utcnow
from expertpool.core.errors import BrokenInvariant
from expertpool.notifications.context import (
    NotifyContext,
)
from expertpool.notifications.models import (
    InvitationRecord,
    OutboxChannel,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
)

log = logging.getLogger(__name__)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def queue_message(
    session: Session,
    ctx: NotifyContext,
    *,
    key: str,
    channel: OutboxChannel,
    kind: OutboxKind,
    to: str,
    body: str | None = None,
    message: notify.Message | None = None,
    invitation: InvitationRecord | None = None,
    not_before: datetime | None = None,
) -> OutboxMessage:
    """Add one outbox message (recipient and text sealed) in the caller's transaction.

    `message` is what to say as a kind with parameters: each provider's adapter renders it
    (the stored `body` of an SMS is its text as Twilio and the console send it).
    """
    if message is not None and body is None and channel is OutboxChannel.SMS:
        body = notify.render_text(message)
    existing = session.execute(
        select(OutboxMessage).where(OutboxMessage.idempotency_key == key)
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    row = OutboxMessage(
        idempotency_key=key,
        channel=channel,
        kind=kind,
        invitation_id=invitation.id if invitation else None,
        status=OutboxStatus.PENDING,
        next_attempt_at=not_before or utcnow(),
    )
    session.add(row)
    session.flush()
    row.to_encrypted = ctx.cipher.encrypt(to, table="outbox", row_id=row.id, column="to")
    if body is not None:
        row.body_encrypted = ctx.cipher.encrypt(body, table="outbox", row_id=row.id, column="body")
    if message is not None:
        row.message_encrypted = ctx.cipher.encrypt(
            message.to_json(), table="outbox", row_id=row.id, column="message"
        )
    session.flush()
    return row


def message_to(ctx: NotifyContext, message: OutboxMessage) -> str:
    """The recipient's number of a message."""
    if message.to_encrypted is None:
        raise BrokenInvariant()
    return ctx.cipher.decrypt(message.to_encrypted, table="outbox", row_id=message.id, column="to")


def message_of(ctx: NotifyContext, message: OutboxMessage) -> notify.Message | None:
    """The message as its kind and parameters (None for rows queued before kinds existed)."""
    if message.message_encrypted is None:
        return None
    return notify.Message.from_json(
        ctx.cipher.decrypt(
            message.message_encrypted, table="outbox", row_id=message.id, column="message"
        )
    )


def message_body(ctx: NotifyContext, message: OutboxMessage) -> str | None:
    """The text of an SMS (None for a call)."""
    if message.body_encrypted is None:
        return None
    return ctx.cipher.decrypt(
        message.body_encrypted, table="outbox", row_id=message.id, column="body"
    )


def invitee_name(ctx: NotifyContext, invitation: InvitationRecord) -> str:
    """The invited expert's name (for the voice prompt and the texts only)."""
    if invitation.name_encrypted is None:
        raise BrokenInvariant()
    return ctx.cipher.decrypt(
        invitation.name_encrypted, table="invitation", row_id=invitation.id, column="name"
    )


def invitee_phone(ctx: NotifyContext, invitation: InvitationRecord) -> str:
    """The invited expert's number."""
    if invitation.phone_encrypted is None:
        raise BrokenInvariant()
    return ctx.cipher.decrypt(
        invitation.phone_encrypted, table="invitation", row_id=invitation.id, column="phone"
    )


def invitation_content(
    ctx: NotifyContext, invitation: InvitationRecord, venue: str | None = None
) -> notify.Invitation:
    return notify.Invitation(
        invitee_name(ctx, invitation),
        invitation.starts_at,
        venue or invitation.venue,
        reply_by=invitation.deadline_at,
        reply_code=invitation.reply_code,
    )


def language_of(invitation: InvitationRecord) -> notify.Language:
    return "en" if invitation.language == "en" else "zh"
