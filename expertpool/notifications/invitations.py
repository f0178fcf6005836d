"""Invitations of drawn experts: queueing, the forward-only state machine, and provider callbacks.

The draw feature calls `enqueue_invitation` inside its own transaction; what happens on
acceptance or replacement comes with the `NotifyContext` as its `InvitationCallbacks`, which
`create_app` builds from the draw feature. Webhook routes and the console simulation hand parsed events to the
`handle_*` functions. Nothing here commits: callers own the transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import notify
from expertpool.core import audit
from expertpool.core.config import Config
from expertpool.core.db import utcnow
from expertpool.core.errors import BrokenInvariant, NotFound, TransitionRefused, ValidationFailed
from expertpool.core.keys import KeyStore
from expertpool.core.pii import PiiCipher, normalise_phone
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

log = logging.getLogger(__name__)

VOICE_PATH = "/webhooks/twilio/voice"
GATHER_PATH = "/webhooks/twilio/gather"
CALL_STATUS_PATH = "/webhooks/twilio/call-status"
SMS_INBOUND_PATH = "/webhooks/twilio/sms"
SMS_STATUS_PATH = "/webhooks/twilio/sms-status"
LINK_PATH = "/i/"
#: A call still live this long after the deadline no longer holds the invitation open.
STUCK_CALL = timedelta(minutes=15)
ACTOR = "notify"
#: Unclear replies get a help SMS, at most this many per invitation (no endless exchange).
MAX_HELP_SMS = 3

ReplacementReason = Literal["declined", "no_response", "unreachable", "withdrawn"]


class ReplacementHandler(Protocol):
    """Called in the caller's transaction when an invitee must be replaced; must not commit."""

    def __call__(self, session: Session, invitation: InvitationRecord, reason: str,
                 ctx: NotifyContext) -> None: ...


class SeatAssigner(Protocol):
    """Called in the caller's transaction on acceptance; must not commit.

    Returns the venue for the confirmation (None keeps the invitation's venue) and may fill
    `seat_venue` / `seat_label`.
    """

    def __call__(self, session: Session, invitation: InvitationRecord,
                 ctx: NotifyContext) -> str | None: ...


@dataclass(frozen=True)
class InvitationCallbacks:
    """What the feature that invites (the draw) does when an invitee accepts or must be replaced."""

    replace: ReplacementHandler
    seat: SeatAssigner


@dataclass(frozen=True)
class NotifyContext:
    """What the notification services need besides a session: settings, keys and callbacks.

    Built once by `create_app` and handed to every caller; nothing looks it up at run time.
    """

    config: Config
    keys: KeyStore
    callbacks: InvitationCallbacks

    @property
    def cipher(self) -> PiiCipher:
        """The personal-data cipher over this context's keys."""
        return PiiCipher.from_keys(self.keys)

    def url(self, path: str, **query: object) -> str:
        """The public URL of one of our webhook paths (what the provider calls and signs)."""
        suffix = "&".join(f"{k}={v}" for k, v in query.items())
        return notify.webhook_url(self.config.public_base_url, path + (f"?{suffix}" if suffix else ""))


# ---------------------------------------------------------------------------------------------
# Queueing
# ---------------------------------------------------------------------------------------------


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def queue_message(session: Session, ctx: NotifyContext, *, key: str, channel: OutboxChannel,
                  kind: OutboxKind, to: str, body: str | None = None,
                  invitation: InvitationRecord | None = None, not_before: datetime | None = None) -> OutboxMessage:
    """Add one outbox message (recipient and text sealed) in the caller's transaction."""
    existing = session.execute(
        select(OutboxMessage).where(OutboxMessage.idempotency_key == key)
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    message = OutboxMessage(idempotency_key=key, channel=channel, kind=kind,
                            invitation_id=invitation.id if invitation else None,
                            status=OutboxStatus.PENDING, next_attempt_at=not_before or utcnow())
    session.add(message)
    session.flush()
    message.to_encrypted = ctx.cipher.encrypt(to, table="outbox", row_id=message.id, column="to")
    if body is not None:
        message.body_encrypted = ctx.cipher.encrypt(body, table="outbox", row_id=message.id, column="body")
    session.flush()
    return message


def message_to(ctx: NotifyContext, message: OutboxMessage) -> str:
    """The recipient's number of a message."""
    if message.to_encrypted is None:
        raise BrokenInvariant()
    return ctx.cipher.decrypt(message.to_encrypted, table="outbox", row_id=message.id, column="to")


def message_body(ctx: NotifyContext, message: OutboxMessage) -> str | None:
    """The text of an SMS (None for a call)."""
    if message.body_encrypted is None:
        return None
    return ctx.cipher.decrypt(message.body_encrypted, table="outbox", row_id=message.id, column="body")


def invitee_name(ctx: NotifyContext, invitation: InvitationRecord) -> str:
    """The invited expert's name (for the voice prompt and the texts only)."""
    if invitation.name_encrypted is None:
        raise BrokenInvariant()
    return ctx.cipher.decrypt(invitation.name_encrypted, table="invitation", row_id=invitation.id, column="name")


def invitee_phone(ctx: NotifyContext, invitation: InvitationRecord) -> str:
    """The invited expert's number."""
    if invitation.phone_encrypted is None:
        raise BrokenInvariant()
    return ctx.cipher.decrypt(invitation.phone_encrypted, table="invitation", row_id=invitation.id, column="phone")


def _content(ctx: NotifyContext, invitation: InvitationRecord, venue: str | None = None) -> notify.Invitation:
    return notify.Invitation(invitee_name(ctx, invitation), invitation.starts_at,
                             venue or invitation.venue, reply_by=invitation.deadline_at)


def _language(invitation: InvitationRecord) -> notify.Language:
    return "en" if invitation.language == "en" else "zh"


def enqueue_invitation(session: Session, *, draw_id: str, group_id: str, expert_id: int, rank: int,
                       phone: str, expert_name: str, starts_at: datetime, venue: str,
                       language: str = "zh", actor: str = ACTOR, now: datetime | None = None,
                       ctx: NotifyContext) -> InvitationRecord:
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
    invitation = InvitationRecord(
        draw_id=draw_id, group_id=group_id, expert_id=expert_id, rank=rank,
        state=InvitationState.QUEUED, language="en" if language == "en" else "zh",
        starts_at=starts_at, venue=venue, phone_index=ctx.cipher.blind_index(normalise_phone(phone), "phone"),
        deadline_at=now + timedelta(minutes=ctx.config.response_deadline_minutes),
        link_token_hash=_hash_token(token), created_at=now, updated_at=now,
    )
    session.add(invitation)
    session.flush()
    invitation.name_encrypted = ctx.cipher.encrypt(expert_name, table="invitation", row_id=invitation.id, column="name")
    invitation.phone_encrypted = ctx.cipher.encrypt(phone, table="invitation", row_id=invitation.id, column="phone")
    text = notify.invitation_sms(_content(ctx, invitation), link=ctx.url(LINK_PATH + token),
                                 language=_language(invitation))
    queue_message(session, ctx, key=f"inv:{invitation.id}:sms", channel=OutboxChannel.SMS,
                  kind=OutboxKind.INVITATION_SMS, to=phone, body=text, invitation=invitation,
                  not_before=now)
    queue_message(session, ctx, key=f"inv:{invitation.id}:call:1", channel=OutboxChannel.VOICE,
                  kind=OutboxKind.INVITATION_CALL, to=phone, invitation=invitation, not_before=now)
    audit.record(session, actor=actor, action="invitation.queued", object_type="invitation",
                 object_id=invitation.id,
                 after={"draw_id": draw_id, "group_id": group_id, "rank": rank, "expert_id": expert_id})
    return invitation


# ---------------------------------------------------------------------------------------------
# The state machine
# ---------------------------------------------------------------------------------------------


def _cancel_pending(session: Session, invitation: InvitationRecord) -> None:
    for message in session.execute(
        select(OutboxMessage).where(OutboxMessage.invitation_id == invitation.id,
                                    OutboxMessage.status == OutboxStatus.PENDING,
                                    OutboxMessage.kind.in_([OutboxKind.INVITATION_SMS,
                                                            OutboxKind.INVITATION_CALL,
                                                            OutboxKind.HELP_SMS]))
    ).scalars():
        message.status = OutboxStatus.CANCELLED


def move(session: Session, invitation: InvitationRecord, target: InvitationState, *, now: datetime,
         ctx: NotifyContext, actor: str = ACTOR, via: str | None = None,
         reason: str | None = None) -> bool:
    """Move an invitation forward and run the effects; False when it is already there or beyond.

    Effects: acceptance assigns the seat and queues the confirmation SMS; a decline, silence,
    an unreachable number or a withdrawal cancels pending messages and asks for a replacement.
    """
    old = invitation.state
    if old is target or target not in INVITATION_MOVES[old]:
        return False
    invitation.state = target
    invitation.updated_at = now
    if target is not InvitationState.CALLING and old.is_open:
        invitation.answered_at = now
        invitation.answered_via = via
    if target is InvitationState.WITHDRAWN:
        invitation.withdrawal_reason = reason
    audit.record(session, actor=actor, action=f"invitation.{target.value}", object_type="invitation",
                 object_id=invitation.id, before={"state": old.value},
                 after={"state": target.value, "via": via, **({"reason": reason} if reason else {})})
    if target is InvitationState.ACCEPTED:
        _cancel_pending(session, invitation)
        venue = ctx.callbacks.seat(session, invitation, ctx) or invitation.seat_venue or invitation.venue
        invitation.seat_venue = venue
        text = notify.confirmation_sms(_content(ctx, invitation, venue),
                                       contact=ctx.config.centre_contact_phone,
                                       language=_language(invitation))
        queue_message(session, ctx, key=f"inv:{invitation.id}:confirmation",
                      channel=OutboxChannel.SMS, kind=OutboxKind.CONFIRMATION_SMS,
                      to=invitee_phone(ctx, invitation), body=text, invitation=invitation,
                      not_before=now)
    elif target is not InvitationState.CALLING:
        _cancel_pending(session, invitation)
        ctx.callbacks.replace(session, invitation, target.value, ctx)
    session.flush()
    return True


def withdraw(session: Session, invitation_id: int, *, reason: str, actor: str,
             now: datetime | None = None, ctx: NotifyContext) -> InvitationRecord:
    """An accepted expert withdraws before the session, with a reason; a replacement follows."""
    invitation = session.get(InvitationRecord, invitation_id, with_for_update=True)
    if invitation is None:
        raise NotFound()
    if not reason.strip():
        raise ValidationFailed(fields={"reason": "required"})
    if not move(session, invitation, InvitationState.WITHDRAWN, now=now or utcnow(), ctx=ctx,
                actor=actor, via="withdrawal", reason=reason.strip()):
        raise TransitionRefused(code="invitation_not_accepted")
    return invitation


def expire_overdue(session: Session, *, now: datetime, ctx: NotifyContext) -> int:
    """Mark open invitations past their deadline `no_response` (unless a call is still live)."""
    stmt = (select(InvitationRecord)
            .where(InvitationRecord.state.in_([InvitationState.QUEUED, InvitationState.CALLING]),
                   InvitationRecord.deadline_at <= now)
            .order_by(InvitationRecord.id).limit(100))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    count = 0
    for invitation in session.execute(stmt).scalars():
        live = session.execute(
            select(func.count()).select_from(ContactAttempt).where(
                ContactAttempt.invitation_id == invitation.id,
                ContactAttempt.channel == OutboxChannel.VOICE,
                ContactAttempt.is_final.is_(False),
                ContactAttempt.at > now - STUCK_CALL)
        ).scalar_one()
        if live:
            continue
        if move(session, invitation, InvitationState.NO_RESPONSE, now=now, ctx=ctx, via="deadline"):
            count += 1
    return count


# ---------------------------------------------------------------------------------------------
# Contact attempts and callbacks
# ---------------------------------------------------------------------------------------------


def _note_status(attempt: ContactAttempt, status: str | None, now: datetime) -> None:
    """Record one reported status: kept in the history once, the stored one only moves forward."""
    if not status:
        return
    history: list[list[str]] = json.loads(attempt.status_history or "[]")
    if not any(entry[1] == status for entry in history):
        history.append([now.isoformat(), status])
        attempt.status_history = json.dumps(history)
    attempt.status = notify.advance(attempt.status, status) or attempt.status
    finals = notify.FINAL_CALL_STATUSES if attempt.channel is OutboxChannel.VOICE else notify.FINAL_MESSAGE_STATUSES
    if status in finals:
        attempt.is_final = True
    attempt.updated_at = now


def record_attempt(session: Session, *, sid: str, provider: str, channel: OutboxChannel,
                   now: datetime, outbox_id: int | None = None, invitation_id: int | None = None,
                   status: str | None = None) -> ContactAttempt:
    """The attempt with this SID, created on first sight (callbacks may precede the dispatcher)."""
    attempt = session.execute(
        select(ContactAttempt).where(ContactAttempt.sid == sid).with_for_update()
    ).scalar_one_or_none()
    if attempt is None:
        attempt = ContactAttempt(sid=sid, provider=provider, channel=channel, at=now, updated_at=now,
                                 outbox_id=outbox_id, invitation_id=invitation_id,
                                 status_history="[]", digits="", is_final=False)
        session.add(attempt)
    if attempt.outbox_id is None and outbox_id is not None:
        attempt.outbox_id = outbox_id
    if attempt.invitation_id is None and invitation_id is not None:
        attempt.invitation_id = invitation_id
    _note_status(attempt, status, now)
    session.flush()
    return attempt


def _call_attempt(session: Session, call_sid: str, outbox_id: int | None, now: datetime,
                  provider: str) -> ContactAttempt | None:
    """The call attempt a callback is about; None when neither its SID nor its message is known."""
    invitation_id = None
    if outbox_id is not None:
        message = session.get(OutboxMessage, outbox_id)
        if message is None or message.channel is not OutboxChannel.VOICE:
            outbox_id = None
        else:
            invitation_id = message.invitation_id
    if outbox_id is None and session.execute(
        select(ContactAttempt.id).where(ContactAttempt.sid == call_sid)
    ).scalar_one_or_none() is None:
        return None
    return record_attempt(session, sid=call_sid, provider=provider, channel=OutboxChannel.VOICE,
                          now=now, outbox_id=outbox_id, invitation_id=invitation_id)


def _locked_invitation(session: Session, invitation_id: int | None) -> InvitationRecord | None:
    if invitation_id is None:
        return None
    return session.get(InvitationRecord, invitation_id, with_for_update=True, populate_existing=True)


def handle_voice_prompt(session: Session, event: notify.VoicePrompt, *, outbox_id: int | None,
                        now: datetime, ctx: NotifyContext, provider: str = "twilio") -> str:
    """TwiML for an answered call: the invitation, or a hang-up for a machine or a closed one."""
    attempt = _call_attempt(session, event.call_sid, outbox_id, now, provider)
    if attempt is None:
        return notify.machine_twiml()
    _note_status(attempt, event.call_status, now)
    if event.raw_answered_by:
        attempt.answered_by = event.raw_answered_by
    invitation = _locked_invitation(session, attempt.invitation_id)
    if event.is_machine or invitation is None or not invitation.state.is_open:
        return notify.machine_twiml()
    return notify.invitation_twiml(_content(ctx, invitation),
                                   gather_url=ctx.url(GATHER_PATH, m=attempt.outbox_id),
                                   language=_language(invitation))


def handle_gather(session: Session, event: notify.GatherResult, *, outbox_id: int | None,
                  now: datetime, ctx: NotifyContext, provider: str = "twilio") -> str:
    """Record the key pressed; 1 accepts, 2 declines, 3 (or a wrong key) plays the prompt again."""
    attempt = _call_attempt(session, event.call_sid, outbox_id, now, provider)
    if attempt is None:
        return notify.machine_twiml()
    if event.digits:
        attempt.digits = (attempt.digits + event.digits)[-50:]
    if attempt.answered_by is None:
        attempt.answered_by = "human"
    invitation = _locked_invitation(session, attempt.invitation_id)
    if invitation is None:
        return notify.machine_twiml()
    if event.reply in (notify.Reply.ACCEPT, notify.Reply.DECLINE):
        target = InvitationState.ACCEPTED if event.reply is notify.Reply.ACCEPT else InvitationState.DECLINED
        move(session, invitation, target, now=now, ctx=ctx, via="voice")
        if invitation.state is not target:
            return notify.machine_twiml()  # answered otherwise meanwhile: nothing to confirm
    elif not invitation.state.is_open:
        return notify.machine_twiml()
    return notify.answer_twiml(event.reply, prompt_url=ctx.url(VOICE_PATH, m=attempt.outbox_id),
                               language=_language(invitation))


def handle_call_status(session: Session, event: notify.CallStatus, *, outbox_id: int | None,
                       now: datetime, ctx: NotifyContext, provider: str = "twilio") -> None:
    """Record a call's progress; a call that ended unanswered schedules the next try."""
    attempt = _call_attempt(session, event.call_sid, outbox_id, now, provider)
    if attempt is None:
        log.info("call status for an unknown call %s ignored", event.call_sid)
        return
    was_final = attempt.is_final
    _note_status(attempt, event.status, now)
    if event.raw_answered_by and attempt.answered_by in (None, "human", "unknown"):
        attempt.answered_by = event.raw_answered_by
    if event.error_code is not None:
        attempt.error_code = event.error_code
    if attempt.is_final and not was_final:
        invitation = _locked_invitation(session, attempt.invitation_id)
        if invitation is not None and invitation.state.is_open:
            schedule_call_retry(session, invitation, now=now, ctx=ctx)
    session.flush()


def schedule_call_retry(session: Session, invitation: InvitationRecord, *, now: datetime,
                        ctx: NotifyContext) -> OutboxMessage | None:
    """Queue the next call `call_retry_minutes` from now, while retries and time remain."""
    calls = session.execute(
        select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.invitation_id == invitation.id,
            OutboxMessage.kind == OutboxKind.INVITATION_CALL)
    ).scalar_one()
    if calls >= 1 + ctx.config.call_retries:
        return None
    at = now + timedelta(minutes=ctx.config.call_retry_minutes)
    if at >= invitation.deadline_at:
        return None
    return queue_message(session, ctx, key=f"inv:{invitation.id}:call:{calls + 1}",
                         channel=OutboxChannel.VOICE, kind=OutboxKind.INVITATION_CALL,
                         to=invitee_phone(ctx, invitation), invitation=invitation, not_before=at)


def handle_sms_status(session: Session, event: notify.SmsStatus, *, now: datetime) -> None:
    """Record a message's delivery status (unknown SIDs are ignored)."""
    attempt = session.execute(
        select(ContactAttempt).where(ContactAttempt.sid == event.message_sid).with_for_update()
    ).scalar_one_or_none()
    if attempt is None:
        log.info("SMS status for an unknown message %s ignored", event.message_sid)
        return
    _note_status(attempt, event.status, now)
    if event.error_code is not None:
        attempt.error_code = event.error_code
    session.flush()


def handle_inbound_sms(session: Session, event: notify.InboundSms, *, now: datetime,
                       ctx: NotifyContext, provider: str = "twilio") -> None:
    """An expert's SMS reply: 1 accepts, 2 declines, anything unclear gets a help SMS."""
    if session.execute(
        select(ContactAttempt.id).where(ContactAttempt.sid == event.message_sid)
    ).scalar_one_or_none() is not None:
        return  # a repeated callback
    invitation = session.execute(
        select(InvitationRecord).where(InvitationRecord.phone_index == ctx.cipher.blind_index(normalise_phone(event.from_number), "phone"),
                                 InvitationRecord.state.in_([InvitationState.QUEUED, InvitationState.CALLING]))
        .order_by(InvitationRecord.id.desc()).limit(1).with_for_update()
    ).scalar_one_or_none()
    if invitation is None:
        log.info("SMS from %s matches no open invitation", notify.mask_phone(event.from_number))
        return
    attempt = record_attempt(session, sid=event.message_sid, provider=provider,
                             channel=OutboxChannel.SMS, now=now, invitation_id=invitation.id,
                             status="received")
    attempt.is_final = True
    attempt.digits = {notify.Reply.ACCEPT: "1", notify.Reply.DECLINE: "2"}.get(event.reply, "?")
    if event.reply is notify.Reply.ACCEPT:
        move(session, invitation, InvitationState.ACCEPTED, now=now, ctx=ctx, via="sms")
    elif event.reply is notify.Reply.DECLINE:
        move(session, invitation, InvitationState.DECLINED, now=now, ctx=ctx, via="sms")
    elif session.execute(
        select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.invitation_id == invitation.id, OutboxMessage.kind == OutboxKind.HELP_SMS)
    ).scalar_one() < MAX_HELP_SMS:
        queue_message(session, ctx, key=f"inv:{invitation.id}:help:{event.message_sid}",
                      channel=OutboxChannel.SMS, kind=OutboxKind.HELP_SMS,
                      to=event.from_number, body=notify.help_sms(_language(invitation)),
                      invitation=invitation, not_before=now)
    session.flush()


# ---------------------------------------------------------------------------------------------
# The one-time link
# ---------------------------------------------------------------------------------------------


def invitation_by_token(session: Session, token: str, *, now: datetime,
                        for_update: bool = False) -> InvitationRecord:
    """The invitation a one-time link names; NotFound when unknown, used or expired."""
    stmt = select(InvitationRecord).where(InvitationRecord.link_token_hash == _hash_token(token))
    if for_update:
        stmt = stmt.with_for_update()
    invitation = session.execute(stmt).scalar_one_or_none()
    if invitation is None or invitation.link_used_at is not None or invitation.deadline_at <= now \
            or not invitation.state.is_open:
        raise NotFound(code="invitation_link_invalid")
    return invitation


def answer_by_link(session: Session, token: str, *, is_accepted: bool, now: datetime,
                   ctx: NotifyContext) -> InvitationRecord:
    """Accept or decline through the one-time link, and commit; the link then stops working."""
    try:
        invitation = invitation_by_token(session, token, now=now, for_update=True)
        invitation.link_used_at = now
        target = InvitationState.ACCEPTED if is_accepted else InvitationState.DECLINED
        move(session, invitation, target, now=now, ctx=ctx, via="link")
        session.commit()
    except Exception:
        session.rollback()
        raise
    return invitation


def link_summary(ctx: NotifyContext, invitation: InvitationRecord) -> notify.Invitation:
    """What the link page shows the expert: name, time, venue, deadline."""
    return _content(ctx, invitation)
