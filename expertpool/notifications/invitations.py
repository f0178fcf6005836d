"""Invitations of drawn experts: queueing an invitation and the forward-only state machine.

The draw feature calls `enqueue_invitation` inside its own transaction; what happens on
acceptance or replacement comes with the `NotifyContext` as its `InvitationCallbacks`, which
`create_app` builds from the draw feature. Nothing here commits: callers own the transaction.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import notify
from expertpool.core import audit
from expertpool.core.db import utcnow
from expertpool.core.errors import NotFound, TransitionRefused, ValidationFailed
from expertpool.core.pii import normalise_phone
from expertpool.core.tokens import ExpertTokens
from expertpool.notifications.context import (
    ACTOR,
    LINK_PATH,
    STUCK_CALL,
    NotifyContext,
)
from expertpool.notifications.models import (
    INVITATION_MOVES,
    ContactAttempt,
    InvitationRecord,
    InvitationState,
    OutboxChannel,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
)
from expertpool.notifications.outbox import (
    hash_token,
    invitation_content,
    invitee_phone,
    language_of,
    queue_message,
)

log = logging.getLogger(__name__)


def enqueue_invitation(
    session: Session,
    *,
    draw_id: str,
    group_id: str,
    expert_id: int,
    rank: int,
    phone: str,
    expert_name: str,
    starts_at: datetime,
    venue: str,
    language: str = "zh",
    actor: str = ACTOR,
    now: datetime | None = None,
    ctx: NotifyContext,
) -> InvitationRecord:
    """Invite one expert: the invitation, its SMS and its first call, in the CALLER's transaction.

    Does not commit. `phone` is E.164; `venue` is the session's venue as the expert should hear
    it (never a bidder). The deadline is `Config.response_deadline_minutes` after `now`.
    """
    now = now or utcnow()
    if starts_at.tzinfo is None:
        raise ValidationFailed(fields={"starts_at": "must be timezone-aware"})
    if not phone.strip():
        raise ValidationFailed(fields={"phone": "required"})
    token = secrets.token_urlsafe(24)
    phone_index = ctx.cipher.blind_index(normalise_phone(phone), "phone")
    invitation = InvitationRecord(
        draw_id=draw_id,
        group_id=group_id,
        expert_token=ExpertTokens(ctx.keys).token(expert_id),
        rank=rank,
        state=InvitationState.QUEUED,
        language="en" if language == "en" else "zh",
        starts_at=starts_at,
        venue=venue,
        phone_index=phone_index,
        reply_code=_free_reply_code(session, phone_index),
        deadline_at=now + timedelta(minutes=ctx.config.response_deadline_minutes),
        link_token_hash=hash_token(token),
        created_at=now,
        updated_at=now,
    )
    session.add(invitation)
    session.flush()
    invitation.name_encrypted = ctx.cipher.encrypt(
        expert_name, table="invitation", row_id=invitation.id, column="name"
    )
    invitation.phone_encrypted = ctx.cipher.encrypt(
        phone, table="invitation", row_id=invitation.id, column="phone"
    )
    content = invitation_content(ctx, invitation)
    queue_message(
        session,
        ctx,
        key=f"inv:{invitation.id}:sms",
        channel=OutboxChannel.SMS,
        kind=OutboxKind.INVITATION_SMS,
        to=phone,
        message=notify.Message.about(
            notify.MessageKind.INVITATION,
            content,
            language=language_of(invitation),
            link=ctx.url(LINK_PATH + token),
        ),
        invitation=invitation,
        not_before=now,
    )
    queue_message(
        session,
        ctx,
        key=f"inv:{invitation.id}:call:1",
        channel=OutboxChannel.VOICE,
        kind=OutboxKind.INVITATION_CALL,
        to=phone,
        message=notify.Message.about(
            notify.MessageKind.INVITATION_CALL, content, language=language_of(invitation)
        ),
        invitation=invitation,
        not_before=now,
    )
    audit.record(
        session,
        actor=actor,
        action="invitation.queued",
        object_type="invitation",
        object_id=invitation.id,
        after={
            "draw_id": draw_id,
            "group_id": group_id,
            "rank": rank,
            "expert": ExpertTokens(ctx.keys).pseudonym(draw_id, expert_id),
        },
    )
    return invitation


def cancel_pending(session: Session, invitation: InvitationRecord) -> None:
    for message in session.execute(
        select(OutboxMessage).where(
            OutboxMessage.invitation_id == invitation.id,
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.kind.in_(
                [OutboxKind.INVITATION_SMS, OutboxKind.INVITATION_CALL, OutboxKind.HELP_SMS]
            ),
        )
    ).scalars():
        message.status = OutboxStatus.CANCELLED


def _free_reply_code(session: Session, phone_index: str) -> str:
    """A random reply code that none of this phone's open invitations uses."""
    taken = set(
        session.execute(
            select(InvitationRecord.reply_code).where(
                InvitationRecord.phone_index == phone_index,
                InvitationRecord.state.in_([InvitationState.QUEUED, InvitationState.CALLING]),
            )
        ).scalars()
    )
    while True:
        code = notify.new_reply_code()
        if code not in taken:
            return code


def move(
    session: Session,
    invitation: InvitationRecord,
    target: InvitationState,
    *,
    now: datetime,
    ctx: NotifyContext,
    actor: str = ACTOR,
    via: str | None = None,
    reason: str | None = None,
) -> bool:
    """Move an invitation forward and run the effects; False when it is already there or beyond.

    Effects: acceptance assigns the seat and queues the confirmation SMS, or, when no seat can be
    held, ends `not_needed` and tells the expert so; a decline, silence,
    an unreachable number or a withdrawal cancels pending messages and asks for a replacement.
    """
    old = invitation.state
    if old is target or target not in INVITATION_MOVES[old]:
        return False
    is_acceptance = target is InvitationState.ACCEPTED
    seating = ctx.callbacks.seat(session, invitation, ctx) if is_acceptance else None
    if seating is not None and not seating.is_held:
        # One truth per invitation: no confirmation without a seat held in this transaction.
        target = InvitationState.NOT_NEEDED
    invitation.state = target
    invitation.updated_at = now
    if target is not InvitationState.CALLING and old.is_open:
        invitation.answered_at = now
        invitation.answered_via = via
    if target is InvitationState.WITHDRAWN:
        invitation.withdrawal_reason = reason
    audit.record(
        session,
        actor=actor,
        action=f"invitation.{target.value}",
        object_type="invitation",
        object_id=invitation.id,
        before={"state": old.value},
        after={"state": target.value, "via": via, **({"reason": reason} if reason else {})},
    )
    if target is InvitationState.ACCEPTED:
        cancel_pending(session, invitation)
        venue = (seating.venue if seating else None) or invitation.seat_venue or invitation.venue
        invitation.seat_venue = venue
        queue_message(
            session,
            ctx,
            key=f"inv:{invitation.id}:confirmation",
            channel=OutboxChannel.SMS,
            kind=OutboxKind.CONFIRMATION_SMS,
            to=invitee_phone(ctx, invitation),
            message=notify.Message.about(
                notify.MessageKind.CONFIRMATION,
                invitation_content(ctx, invitation, venue),
                language=language_of(invitation),
                contact=ctx.config.centre_contact_phone,
            ),
            invitation=invitation,
            not_before=now,
        )
    elif target is InvitationState.NOT_NEEDED:
        # The seat went meanwhile (the expert took another one, or the venue is full): the
        # inviting feature has already called the next backup; the expert is told.
        cancel_pending(session, invitation)
        queue_message(
            session,
            ctx,
            key=f"inv:{invitation.id}:release",
            channel=OutboxChannel.SMS,
            kind=OutboxKind.RELEASE_SMS,
            to=invitee_phone(ctx, invitation),
            message=notify.Message.about(
                notify.MessageKind.RELEASE,
                invitation_content(ctx, invitation, invitation.venue),
                language=language_of(invitation),
                contact=ctx.config.centre_contact_phone,
            ),
            invitation=invitation,
            not_before=now,
        )
    elif target is not InvitationState.CALLING:
        cancel_pending(session, invitation)
        ctx.callbacks.replace(session, invitation, target.value, ctx)
    session.flush()
    return True


def withdraw(
    session: Session,
    invitation_id: int,
    *,
    reason: str,
    actor: str,
    now: datetime | None = None,
    ctx: NotifyContext,
) -> InvitationRecord:
    """An accepted expert withdraws before the session, with a reason; a replacement follows."""
    invitation = session.get(InvitationRecord, invitation_id, with_for_update=True)
    if invitation is None:
        raise NotFound()
    if not reason.strip():
        raise ValidationFailed(fields={"reason": "required"})
    if not move(
        session,
        invitation,
        InvitationState.WITHDRAWN,
        now=now or utcnow(),
        ctx=ctx,
        actor=actor,
        via="withdrawal",
        reason=reason.strip(),
    ):
        raise TransitionRefused(code="invitation_not_accepted")
    return invitation


def expire_overdue(session: Session, *, now: datetime, ctx: NotifyContext) -> int:
    """Mark open invitations past their deadline `no_response` (unless a call is still live)."""
    stmt = (
        select(InvitationRecord)
        .where(
            InvitationRecord.state.in_([InvitationState.QUEUED, InvitationState.CALLING]),
            InvitationRecord.deadline_at <= now,
        )
        .order_by(InvitationRecord.id)
        .limit(100)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    count = 0
    for invitation in session.execute(stmt).scalars():
        live = session.execute(
            select(func.count())
            .select_from(ContactAttempt)
            .where(
                ContactAttempt.invitation_id == invitation.id,
                ContactAttempt.channel == OutboxChannel.VOICE,
                ContactAttempt.is_final.is_(False),
                ContactAttempt.at > now - STUCK_CALL,
            )
        ).scalar_one()
        if live:
            continue
        if move(session, invitation, InvitationState.NO_RESPONSE, now=now, ctx=ctx, via="deadline"):
            count += 1
    return count
