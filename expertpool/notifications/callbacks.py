"""Provider callbacks: contact attempts and their statuses, voice prompts, key presses, call
status, SMS status and replies. Nothing here commits: the webhook routes own the transaction."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import notify
from expertpool.core.pii import normalise_phone
from expertpool.notifications.context import (
    GATHER_PATH,
    MAX_HELP_SMS,
    VOICE_PATH,
    NotifyContext,
)
from expertpool.notifications.invitations import (
    move,
)
from expertpool.notifications.models import (
    ContactAttempt,
    InvitationRecord,
    InvitationState,
    OutboxChannel,
    OutboxKind,
    OutboxMessage,
)
from expertpool.notifications.outbox import (
    invitation_content,
    invitee_phone,
    language_of,
    queue_message,
)

log = logging.getLogger(__name__)


def _note_status(attempt: ContactAttempt, status: str | None, now: datetime) -> None:
    """Record one reported status: kept in the history once, the stored one only moves forward."""
    if not status:
        return
    history: list[list[str]] = json.loads(attempt.status_history or "[]")
    if not any(entry[1] == status for entry in history):
        history.append([now.isoformat(), status])
        attempt.status_history = json.dumps(history)
    attempt.status = notify.advance(attempt.status, status) or attempt.status
    finals = (
        notify.FINAL_CALL_STATUSES
        if attempt.channel is OutboxChannel.VOICE
        else notify.FINAL_MESSAGE_STATUSES
    )
    if status in finals:
        attempt.is_final = True
    attempt.updated_at = now


def record_attempt(
    session: Session,
    *,
    sid: str,
    provider: str,
    channel: OutboxChannel,
    now: datetime,
    outbox_id: int | None = None,
    invitation_id: int | None = None,
    status: str | None = None,
) -> ContactAttempt:
    """The attempt with this SID, created on first sight (callbacks may precede the dispatcher)."""
    attempt = session.execute(
        select(ContactAttempt).where(ContactAttempt.sid == sid).with_for_update()
    ).scalar_one_or_none()
    if attempt is None:
        attempt = ContactAttempt(
            sid=sid,
            provider=provider,
            channel=channel,
            at=now,
            updated_at=now,
            outbox_id=outbox_id,
            invitation_id=invitation_id,
            status_history="[]",
            digits="",
            is_final=False,
        )
        session.add(attempt)
    if attempt.outbox_id is None and outbox_id is not None:
        attempt.outbox_id = outbox_id
    if attempt.invitation_id is None and invitation_id is not None:
        attempt.invitation_id = invitation_id
    _note_status(attempt, status, now)
    session.flush()
    return attempt


def _call_attempt(
    session: Session, call_sid: str, outbox_id: int | None, now: datetime, provider: str
) -> ContactAttempt | None:
    """The call attempt a callback is about; None when neither its SID nor its message is known."""
    invitation_id = None
    if outbox_id is not None:
        message = session.get(OutboxMessage, outbox_id)
        if message is None or message.channel is not OutboxChannel.VOICE:
            outbox_id = None
        else:
            invitation_id = message.invitation_id
    if (
        outbox_id is None
        and session.execute(
            select(ContactAttempt.id).where(ContactAttempt.sid == call_sid)
        ).scalar_one_or_none()
        is None
    ):
        return None
    return record_attempt(
        session,
        sid=call_sid,
        provider=provider,
        channel=OutboxChannel.VOICE,
        now=now,
        outbox_id=outbox_id,
        invitation_id=invitation_id,
    )


def locked_invitation(session: Session, invitation_id: int | None) -> InvitationRecord | None:
    if invitation_id is None:
        return None
    return session.get(
        InvitationRecord, invitation_id, with_for_update=True, populate_existing=True
    )


def handle_voice_prompt(
    session: Session,
    event: notify.VoicePrompt,
    *,
    outbox_id: int | None,
    now: datetime,
    ctx: NotifyContext,
    provider: str = "twilio",
) -> str:
    """TwiML for an answered call: the invitation, or a hang-up for a machine or a closed one."""
    attempt = _call_attempt(session, event.call_sid, outbox_id, now, provider)
    if attempt is None:
        return notify.machine_twiml()
    _note_status(attempt, event.call_status, now)
    if event.raw_answered_by:
        attempt.answered_by = event.raw_answered_by
    invitation = locked_invitation(session, attempt.invitation_id)
    if event.is_machine or invitation is None or not invitation.state.is_open:
        return notify.machine_twiml()
    return notify.invitation_twiml(
        invitation_content(ctx, invitation),
        gather_url=ctx.url(GATHER_PATH, m=attempt.outbox_id),
        language=language_of(invitation),
    )


def handle_gather(
    session: Session,
    event: notify.GatherResult,
    *,
    outbox_id: int | None,
    now: datetime,
    ctx: NotifyContext,
    provider: str = "twilio",
) -> str:
    """Record the key pressed; 1 accepts, 2 declines, 3 (or a wrong key) plays the prompt again."""
    attempt = _call_attempt(session, event.call_sid, outbox_id, now, provider)
    if attempt is None:
        return notify.machine_twiml()
    if event.digits:
        attempt.digits = (attempt.digits + event.digits)[-50:]
    if attempt.answered_by is None:
        attempt.answered_by = "human"
    invitation = locked_invitation(session, attempt.invitation_id)
    if invitation is None:
        return notify.machine_twiml()
    if event.reply in (notify.Reply.ACCEPT, notify.Reply.DECLINE):
        target = (
            InvitationState.ACCEPTED
            if event.reply is notify.Reply.ACCEPT
            else InvitationState.DECLINED
        )
        move(session, invitation, target, now=now, ctx=ctx, via="voice")
        if invitation.state is not target:
            return notify.machine_twiml()  # answered otherwise meanwhile: nothing to confirm
    elif not invitation.state.is_open:
        return notify.machine_twiml()
    return notify.answer_twiml(
        event.reply,
        prompt_url=ctx.url(VOICE_PATH, m=attempt.outbox_id),
        language=language_of(invitation),
    )


def handle_call_status(
    session: Session,
    event: notify.CallStatus,
    *,
    outbox_id: int | None,
    now: datetime,
    ctx: NotifyContext,
    provider: str = "twilio",
) -> None:
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
        invitation = locked_invitation(session, attempt.invitation_id)
        if invitation is not None and invitation.state.is_open:
            schedule_call_retry(session, invitation, now=now, ctx=ctx)
    session.flush()


def schedule_call_retry(
    session: Session, invitation: InvitationRecord, *, now: datetime, ctx: NotifyContext
) -> OutboxMessage | None:
    """Queue the next call `call_retry_minutes` from now, while retries and time remain."""
    calls = session.execute(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.invitation_id == invitation.id,
            OutboxMessage.kind == OutboxKind.INVITATION_CALL,
        )
    ).scalar_one()
    if calls >= 1 + ctx.config.call_retries:
        return None
    at = now + timedelta(minutes=ctx.config.call_retry_minutes)
    if at >= invitation.deadline_at:
        return None
    return queue_message(
        session,
        ctx,
        key=f"inv:{invitation.id}:call:{calls + 1}",
        channel=OutboxChannel.VOICE,
        kind=OutboxKind.INVITATION_CALL,
        to=invitee_phone(ctx, invitation),
        message=notify.Message.about(
            notify.MessageKind.INVITATION_CALL,
            invitation_content(ctx, invitation),
            language=language_of(invitation),
        ),
        invitation=invitation,
        not_before=at,
    )


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


def handle_inbound_sms(
    session: Session,
    event: notify.InboundSms,
    *,
    now: datetime,
    ctx: NotifyContext,
    provider: str = "twilio",
) -> None:
    """An expert's SMS reply: 1 accepts, 2 declines, with the invitation's reply code.

    The code says which open invitation of this phone the reply answers. A bare reply answers
    the only open invitation; with several open, or a code that matches none, the expert gets a
    question back listing each open invitation's time, place and code: never a guess. Anything
    unclear gets a help SMS.
    """
    if (
        session.execute(
            select(ContactAttempt.id).where(ContactAttempt.sid == event.message_sid)
        ).scalar_one_or_none()
        is not None
    ):
        return  # a repeated callback
    open_invitations = list(
        session.execute(
            select(InvitationRecord)
            .where(
                InvitationRecord.phone_index
                == ctx.cipher.blind_index(normalise_phone(event.from_number), "phone"),
                InvitationRecord.state.in_([InvitationState.QUEUED, InvitationState.CALLING]),
            )
            .order_by(InvitationRecord.id)
            .with_for_update()
        ).scalars()
    )
    if not open_invitations:
        log.info("an inbound SMS (%s) matches no open invitation", event.message_sid)
        return
    named = [i for i in open_invitations if event.code and i.reply_code == event.code]
    if named:
        invitation = named[0]
    elif event.code is None and len(open_invitations) == 1:
        invitation = open_invitations[0]
    else:
        _ask_which(session, event, open_invitations, now=now, ctx=ctx, provider=provider)
        return
    attempt = record_attempt(
        session,
        sid=event.message_sid,
        provider=provider,
        channel=OutboxChannel.SMS,
        now=now,
        invitation_id=invitation.id,
        status="received",
    )
    attempt.is_final = True
    attempt.digits = {notify.Reply.ACCEPT: "1", notify.Reply.DECLINE: "2"}.get(event.reply, "?")
    if event.reply is notify.Reply.ACCEPT:
        move(session, invitation, InvitationState.ACCEPTED, now=now, ctx=ctx, via="sms")
    elif event.reply is notify.Reply.DECLINE:
        move(session, invitation, InvitationState.DECLINED, now=now, ctx=ctx, via="sms")
    elif _help_sent(session, invitation) < MAX_HELP_SMS:
        queue_message(
            session,
            ctx,
            key=f"inv:{invitation.id}:help:{event.message_sid}",
            channel=OutboxChannel.SMS,
            kind=OutboxKind.HELP_SMS,
            to=event.from_number,
            message=notify.Message(notify.MessageKind.HELP, language=language_of(invitation)),
            invitation=invitation,
            not_before=now,
        )
    session.flush()


def _help_sent(session: Session, invitation: InvitationRecord) -> int:
    return session.execute(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.invitation_id == invitation.id,
            OutboxMessage.kind == OutboxKind.HELP_SMS,
        )
    ).scalar_one()


def _ask_which(
    session: Session,
    event: notify.InboundSms,
    open_invitations: list[InvitationRecord],
    *,
    now: datetime,
    ctx: NotifyContext,
    provider: str,
) -> None:
    """The reply does not say which open invitation it answers: ask, listing them (no move)."""
    first = open_invitations[0]
    attempt = record_attempt(
        session,
        sid=event.message_sid,
        provider=provider,
        channel=OutboxChannel.SMS,
        now=now,
        invitation_id=first.id,
        status="received",
    )
    attempt.is_final = True
    attempt.digits = "?"
    if _help_sent(session, first) >= MAX_HELP_SMS:
        session.flush()
        return
    queue_message(
        session,
        ctx,
        key=f"inv:{first.id}:which:{event.message_sid}",
        channel=OutboxChannel.SMS,
        kind=OutboxKind.HELP_SMS,
        to=event.from_number,
        message=notify.Message.which_invitation(
            [invitation_content(ctx, i) for i in open_invitations],
            code_unknown=event.code is not None,
            language=language_of(first),
        ),
        invitation=first,
        not_before=now,
    )
    session.flush()
