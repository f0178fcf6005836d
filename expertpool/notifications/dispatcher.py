"""The outbox dispatcher: claims due messages, sends them once, retries and reconciles.

Claiming is one short transaction (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's BEGIN
IMMEDIATE serialises writers), sending happens outside any transaction, and the outcome is stored
in another. A message whose send may have gone out (timeout, or a worker that died mid-send) is
never sent again before the provider has been asked whether it exists. A claim older than the
`notify_lease_seconds` setting is taken to be from a dead worker and is reconciled.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, scoped_session, sessionmaker

import notify
from expertpool.core import audit
from expertpool.core.db import utcnow
from expertpool.core.errors import NotFound, ValidationFailed, must_exist
from expertpool.core.texts import _l
from expertpool.notifications import callbacks, context, invitations, outbox
from expertpool.notifications.context import NotifyContext
from expertpool.notifications.models import (
    ContactAttempt,
    InvitationRecord,
    InvitationState,
    OutboxChannel,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
)

log = logging.getLogger(__name__)

#: Wait before asking the provider about a send whose outcome is unknown.
RECONCILE_DELAY = timedelta(seconds=5)
#: Pause after the provider rejected our credentials.
AUTH_PAUSE = timedelta(minutes=1)
#: Postpone a call while another call of the same invitation is live.
LIVE_CALL_PAUSE = timedelta(seconds=30)
#: Provider clocks have whole seconds and may lag ours a little.
CLOCK_SLACK = timedelta(seconds=2)

SessionFactory = scoped_session[Session] | sessionmaker[Session] | Callable[[], Session]


@dataclass
class DispatchReport:
    """What one `dispatch_once` pass did (counts only)."""

    expired: int = 0
    claimed: int = 0
    sent: int = 0
    reconciled: int = 0
    retried: int = 0
    unknown: int = 0
    failed: int = 0
    postponed: int = 0
    cancelled: int = 0
    is_auth_failed: bool = False
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Claim:
    message_id: int
    is_reconcile: bool
    is_attempt_counted: bool = (
        False  # an unknown outcome counted its attempt; a dead worker did not
    )


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _has_live_call(session: Session, message: OutboxMessage) -> bool:
    """Whether another call of the same invitation is ringing, in progress or unaccounted for."""
    if message.invitation_id is None:
        return False
    live_attempt = session.execute(
        select(func.count())
        .select_from(ContactAttempt)
        .where(
            ContactAttempt.invitation_id == message.invitation_id,
            ContactAttempt.channel == OutboxChannel.VOICE,
            ContactAttempt.is_final.is_(False),
        )
    ).scalar_one()
    in_flight = session.execute(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.invitation_id == message.invitation_id,
            OutboxMessage.channel == OutboxChannel.VOICE,
            OutboxMessage.id != message.id,
            OutboxMessage.status.in_([OutboxStatus.SENDING, OutboxStatus.UNKNOWN]),
        )
    ).scalar_one()
    return bool(live_attempt or in_flight)


def _claim(
    session: Session,
    *,
    now: datetime,
    worker_id: str,
    batch: int,
    lease: timedelta,
    report: DispatchReport,
) -> list[_Claim]:
    """Lock and mark up to `batch` due messages for this worker (one transaction)."""
    stmt = (
        select(OutboxMessage)
        .where(
            or_(
                and_(
                    OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.UNKNOWN]),
                    OutboxMessage.next_attempt_at <= now,
                ),
                and_(
                    OutboxMessage.status == OutboxStatus.SENDING,
                    OutboxMessage.locked_at < now - lease,
                ),
            )
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(batch)
    )
    if _is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    claims: list[_Claim] = []
    for message in session.execute(stmt).scalars():
        is_reconcile = message.status is not OutboxStatus.PENDING
        invitation = message.invitation
        if (
            not is_reconcile
            and invitation is not None
            and message.kind in (OutboxKind.INVITATION_SMS, OutboxKind.INVITATION_CALL)
            and not invitation.state.is_open
        ):
            message.status = OutboxStatus.CANCELLED
            report.cancelled += 1
            continue
        if (
            not is_reconcile
            and message.channel is OutboxChannel.VOICE
            and _has_live_call(session, message)
        ):
            message.next_attempt_at = now + LIVE_CALL_PAUSE
            report.postponed += 1
            continue
        if not is_reconcile:
            message.sending_at = now
        is_attempt_counted = message.status is OutboxStatus.UNKNOWN
        message.status = OutboxStatus.SENDING
        message.locked_by = worker_id
        message.locked_at = now
        claims.append(_Claim(message.id, is_reconcile, is_attempt_counted))
    session.commit()
    return claims


def _load(session: Session, message_id: int) -> OutboxMessage:
    message = must_exist(
        session.get(OutboxMessage, message_id, with_for_update=True, populate_existing=True)
    )
    return message


def _release(message: OutboxMessage) -> None:
    message.locked_by = None
    message.locked_at = None


def _mark_sent(
    session: Session,
    message: OutboxMessage,
    delivery: notify.Delivery,
    *,
    now: datetime,
    ctx: NotifyContext,
) -> None:
    message.status = OutboxStatus.SENT
    message.provider = delivery.provider
    message.provider_sid = delivery.sid
    message.sent_at = now
    message.attempts += 1
    message.last_error = None
    _release(message)
    invitation = message.invitation
    if invitation is not None:
        # Lock the invitation before inserting the attempt: the attempt's foreign key takes a
        # KEY SHARE lock on the invitation row, and two workers each holding one while asking for
        # FOR UPDATE deadlock on PostgreSQL.
        invitation = must_exist(
            session.get(
                InvitationRecord, invitation.id, with_for_update=True, populate_existing=True
            )
        )
    callbacks.record_attempt(
        session,
        sid=delivery.sid,
        provider=delivery.provider,
        channel=message.channel,
        now=now,
        outbox_id=message.id,
        invitation_id=message.invitation_id,
        status=delivery.status,
    )
    if invitation is not None:
        if message.kind is OutboxKind.INVITATION_CALL:
            invitation.call_attempts += 1
        if invitation.state is InvitationState.QUEUED:
            invitations.move(
                session,
                invitation,
                InvitationState.CALLING,
                now=now,
                ctx=ctx,
                via=message.channel.value,
            )


def _error_summary(exc: notify.NotificationError) -> str:
    """A log-safe description (provider messages may quote the number, so they are left out)."""
    if isinstance(exc, notify.NotificationFailed):
        return f"{exc.provider} {exc.kind.value} http={exc.http_status} code={exc.code}"
    return f"{exc.provider} {type(exc).__name__}"


def _send(
    session: Session,
    notifier: notify.Notifier,
    claim: _Claim,
    *,
    now: datetime,
    ctx: NotifyContext,
    report: DispatchReport,
) -> bool:
    """Send one claimed message and store the outcome; False when sending must stop (auth)."""
    message = must_exist(session.get(OutboxMessage, claim.message_id))
    to = outbox.message_to(ctx, message)
    body = outbox.message_body(ctx, message)
    content = outbox.message_of(ctx, message)
    channel, message_id = message.channel, message.id
    session.rollback()  # no transaction is held while the provider is called
    try:
        if channel is OutboxChannel.SMS and content is not None:
            delivery = notifier.send(to, content, status_callback=ctx.url(context.SMS_STATUS_PATH))
        elif channel is OutboxChannel.SMS:
            delivery = notifier.send_sms(
                to, body or "", status_callback=ctx.url(context.SMS_STATUS_PATH)
            )
        else:
            delivery = notifier.place_call(
                to,
                twiml_url=ctx.url(context.VOICE_PATH, m=message_id),
                status_callback=ctx.url(context.CALL_STATUS_PATH, m=message_id),
                machine_detection=True,
                message=content,
            )
    except notify.UnknownOutcome as exc:
        message = _load(session, claim.message_id)
        message.status = OutboxStatus.UNKNOWN
        message.attempts += 1
        message.last_error = _error_summary(exc)[:200]
        message.next_attempt_at = now + RECONCILE_DELAY
        _release(message)
        session.commit()
        report.unknown += 1
        log.warning("outbox %d: outcome unknown, will reconcile", message.id)
        return True
    except notify.NotificationFailed as exc:
        return _failed(session, claim, exc, to=to, now=now, ctx=ctx, report=report)
    message = _load(session, claim.message_id)
    _mark_sent(session, message, delivery, now=now, ctx=ctx)
    session.commit()
    report.sent += 1
    return True


def _failed(
    session: Session,
    claim: _Claim,
    exc: notify.NotificationFailed,
    *,
    to: str,
    now: datetime,
    ctx: NotifyContext,
    report: DispatchReport,
) -> bool:
    message = _load(session, claim.message_id)
    message.last_error_code = exc.code
    message.last_error = _error_summary(exc)[:200]
    _release(message)
    if exc.kind is notify.FailureKind.AUTH:
        message.status = OutboxStatus.PENDING
        message.next_attempt_at = now + AUTH_PAUSE
        audit.record(
            session,
            actor=context.ACTOR,
            action="notify.provider_auth_failed",
            object_type="outbox_message",
            object_id=message.id,
            after={"provider": exc.provider, "code": exc.code},
        )
        session.commit()
        report.is_auth_failed = True
        log.error("provider %s rejected our credentials: sending paused", exc.provider)
        return False
    if exc.is_retryable:
        message.attempts += 1
        if message.attempts >= ctx.config.notify_max_attempts:
            message.status = OutboxStatus.FAILED
            report.failed += 1
        else:
            retry_after = (
                exc.retry_after_seconds if isinstance(exc, notify.TransientFailure) else None
            )
            delay = notify.backoff_delay(
                message.attempts - 1, jitter=notify.random_jitter(), retry_after_seconds=retry_after
            )
            message.status = OutboxStatus.PENDING
            message.next_attempt_at = now + timedelta(seconds=delay)
            report.retried += 1
        session.commit()
        return True
    message.attempts += 1
    message.status = OutboxStatus.FAILED
    report.failed += 1
    log.warning("outbox %d refused: %s", message.id, message.last_error)
    invitation = message.invitation
    if (
        exc.is_recipient_problem
        and invitation is not None
        and message.kind in (OutboxKind.INVITATION_SMS, OutboxKind.INVITATION_CALL)
    ):
        invitation = must_exist(
            session.get(
                InvitationRecord, invitation.id, with_for_update=True, populate_existing=True
            )
        )
        invitations.move(
            session,
            invitation,
            InvitationState.UNREACHABLE,
            now=now,
            ctx=ctx,
            via=message.channel.value,
        )
    session.commit()
    return True


def _reconcile(
    session: Session,
    notifier: notify.Notifier,
    claim: _Claim,
    *,
    now: datetime,
    ctx: NotifyContext,
    report: DispatchReport,
) -> None:
    """Ask the provider whether a send of unknown outcome exists; adopt it, or allow a resend."""
    message = must_exist(session.get(OutboxMessage, claim.message_id))
    to = outbox.message_to(ctx, message)
    body = outbox.message_body(ctx, message)
    since = (message.sending_at or message.created_at) - CLOCK_SLACK
    channel = message.channel
    session.rollback()
    try:
        if channel is OutboxChannel.SMS:
            found = list(notifier.find_messages(to, created_after=since, body=body))
        else:
            found = list(notifier.find_calls(to, created_after=since))
    except notify.NotificationError as exc:
        message = _load(session, claim.message_id)
        message.status = OutboxStatus.UNKNOWN
        message.last_error = _error_summary(exc)[:200]
        message.next_attempt_at = now + timedelta(
            seconds=notify.backoff_delay(min(message.attempts, 8), jitter=notify.random_jitter())
        )
        _release(message)
        session.commit()
        return
    message = _load(session, claim.message_id)
    known = (
        set(
            session.execute(
                select(ContactAttempt.sid).where(ContactAttempt.sid.in_([d.sid for d in found]))
            ).scalars()
        )
        if found
        else set()
    )
    unclaimed = [d for d in found if d.sid not in known]
    if unclaimed:
        oldest = min(unclaimed, key=lambda d: (d.created_at is None, d.created_at or now))
        if claim.is_attempt_counted:
            message.attempts -= 1  # the unanswered request already counted as an attempt
        _mark_sent(session, message, oldest, now=now, ctx=ctx)
        report.reconciled += 1
        log.info("outbox %d: reconciled with %s", message.id, oldest.sid)
    else:
        # The provider has nothing: the request never took effect, so sending it is safe.
        message.status = OutboxStatus.PENDING
        message.next_attempt_at = now
        _release(message)
    session.commit()


def dispatch_once(
    session_factory: SessionFactory,
    notifier: notify.Notifier,
    now: datetime | None = None,
    worker_id: str = "worker",
    batch: int = 20,
    *,
    ctx: NotifyContext,
) -> DispatchReport:
    """One pass: expire overdue invitations, claim due messages, send or reconcile each."""
    now = now or utcnow()
    report = DispatchReport()
    # A session of its own, never the caller's thread-local one (which it would expire and close).
    inner = getattr(session_factory, "session_factory", None)
    session: Session = inner() if inner is not None else session_factory()
    try:
        report.expired = invitations.expire_overdue(session, now=now, ctx=ctx)
        session.commit()
        lease = timedelta(seconds=ctx.config.notify_lease_seconds)
        claims = _claim(
            session, now=now, worker_id=worker_id, batch=batch, lease=lease, report=report
        )
        report.claimed = len(claims)
        for index, claim in enumerate(claims):
            if claim.is_reconcile:
                _reconcile(session, notifier, claim, now=now, ctx=ctx, report=report)
                continue
            if not _send(session, notifier, claim, now=now, ctx=ctx, report=report):
                _unclaim(session, claims[index + 1 :], now=now)
                break
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()
    return report


def _unclaim(session: Session, claims: list[_Claim], *, now: datetime) -> None:
    """Give claimed messages back untouched (sending stopped); they wait out the auth pause."""
    for claim in claims:
        message = _load(session, claim.message_id)
        if message.status is OutboxStatus.SENDING:
            message.status = OutboxStatus.UNKNOWN if claim.is_reconcile else OutboxStatus.PENDING
            message.next_attempt_at = now + AUTH_PAUSE
            _release(message)
    session.commit()


def run_worker(
    session_factory: SessionFactory,
    notifier: notify.Notifier,
    *,
    stop: threading.Event,
    ctx: NotifyContext,
    worker_id: str,
    interval_seconds: float = 1.0,
    batch: int = 20,
    clock: Callable[[], datetime] = utcnow,
    also: Callable[[datetime], int] | None = None,
) -> None:
    """Dispatch until `stop` is set; an idle or failed pass waits `interval_seconds`.

    `also` is a second outbox drained in the same loop (the outbound events); it returns how
    many rows it claimed.
    """
    log.info("notification worker %s started (%s)", worker_id, notifier.provider)
    while not stop.is_set():
        extra = 0
        try:
            report = dispatch_once(session_factory, notifier, clock(), worker_id, batch, ctx=ctx)
            if also is not None:
                extra = also(clock())
        except Exception:
            log.exception("notification worker %s: dispatch failed", worker_id)
            stop.wait(interval_seconds)
            continue
        if (report.claimed == 0 and extra == 0) or report.is_auth_failed:
            stop.wait(interval_seconds)
    log.info("notification worker %s stopped", worker_id)


# ---------------------------------------------------------------------------------------------
# Webhooks and pages
# ---------------------------------------------------------------------------------------------


def record_forged_webhook(session: Session, *, path: str, remote_addr: str | None) -> None:
    """Audit a callback whose signature did not verify, and commit."""
    audit.record(
        session,
        actor="anonymous",
        action="webhook.signature_invalid",
        object_type="webhook",
        object_id=path[:100],
        after={"remote_addr": remote_addr or ""},
    )
    session.commit()


def progress_counts(session: Session, draw_id: str) -> dict[str, int]:
    """How many invitations of one draw stand in each state: counts only, never who.

    Per draw only: who may read a draw's counts is the draw feature's decision (the owning
    centre's staff and the witnessing supervisor), so there is no all-draws total.
    """
    stmt = (
        select(InvitationRecord.state, func.count())
        .where(InvitationRecord.draw_id == draw_id)
        .group_by(InvitationRecord.state)
    )
    rows = session.execute(stmt).all()
    counts = {state.value: 0 for state in InvitationState}
    for state, count in rows:
        counts[InvitationState(state).value] = int(count)
    return counts


@dataclass(frozen=True)
class OutboxSummary:
    """The outbox as aggregate numbers only: no message, recipient, text, link or invitation.

    What a real provider's administrators see: enough to tell whether sending works (statuses,
    channels, retries, failures, the provider's delivery states), never a row that could be tied
    to a person or to an invitation.
    """

    by_status: dict[str, int]
    by_kind: dict[tuple[str, str], int]  # (channel, kind) -> messages
    attempt_statuses: dict[tuple[str, str], int]  # (channel, provider status) -> attempts
    retried: int  # messages sent more than once (attempts > 1)
    extra_attempts: int  # attempts beyond the first, over all messages
    failed: int
    failed_by_code: dict[str, int]  # provider error code ("" when none) -> failed messages
    total: int


def outbox_summary(session: Session) -> OutboxSummary:
    """Counts of the whole outbox by status, channel and kind, and of contact attempts."""
    by_status = {status.value: 0 for status in OutboxStatus}
    for status, count in session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ).all():
        by_status[OutboxStatus(status).value] = int(count)
    by_kind = {
        (OutboxChannel(channel).value, OutboxKind(kind).value): int(count)
        for channel, kind, count in session.execute(
            select(OutboxMessage.channel, OutboxMessage.kind, func.count())
            .group_by(OutboxMessage.channel, OutboxMessage.kind)
            .order_by(OutboxMessage.channel, OutboxMessage.kind)
        ).all()
    }
    attempt_statuses = {
        (OutboxChannel(channel).value, status or ""): int(count)
        for channel, status, count in session.execute(
            select(ContactAttempt.channel, ContactAttempt.status, func.count())
            .group_by(ContactAttempt.channel, ContactAttempt.status)
            .order_by(ContactAttempt.channel, ContactAttempt.status)
        ).all()
    }
    retried, extra = session.execute(
        select(func.count(), func.coalesce(func.sum(OutboxMessage.attempts - 1), 0)).where(
            OutboxMessage.attempts > 1
        )
    ).one()
    failed_by_code = {
        "" if code is None else str(code): int(count)
        for code, count in session.execute(
            select(OutboxMessage.last_error_code, func.count())
            .where(OutboxMessage.status == OutboxStatus.FAILED)
            .group_by(OutboxMessage.last_error_code)
            .order_by(OutboxMessage.last_error_code)
        ).all()
    }
    return OutboxSummary(
        by_status=by_status,
        by_kind=by_kind,
        attempt_statuses=attempt_statuses,
        retried=int(retried),
        extra_attempts=int(extra),
        failed=by_status[OutboxStatus.FAILED.value],
        failed_by_code=failed_by_code,
        total=sum(by_status.values()),
    )


def is_simulation(notifier: object) -> bool:
    """Whether messages only stay on this server (the console notifier): the one case where a
    per-message view, with texts and answer links, may be shown at all."""
    return isinstance(notifier, notify.ConsoleNotifier)


@dataclass(frozen=True)
class OutboxRow:
    """One outbox message as the console simulation page shows it (never with a real provider)."""

    message: OutboxMessage
    to_masked: str
    body: str | None
    invitation_state: str | None
    attempts: list[ContactAttempt]
    is_live_call: bool


def outbox_rows(
    session: Session, ctx: NotifyContext, notifier: object, *, limit: int = 100
) -> list[OutboxRow]:
    """The newest outbox messages with their attempts, numbers masked: console simulation only.

    With a real provider these are messages to real people (texts with one-time answer links),
    so the rows do not exist for anyone: `NotFound`.
    """
    if not is_simulation(notifier):
        raise NotFound()
    rows = []
    for message in session.execute(
        select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    ).scalars():
        attempts = list(
            session.execute(
                select(ContactAttempt)
                .where(ContactAttempt.outbox_id == message.id)
                .order_by(ContactAttempt.id)
            ).scalars()
        )
        rows.append(
            OutboxRow(
                message=message,
                to_masked=notify.mask_phone(outbox.message_to(ctx, message)),
                body=outbox.message_body(ctx, message),
                invitation_state=message.invitation.state.value if message.invitation else None,
                attempts=attempts,
                is_live_call=message.channel is OutboxChannel.VOICE
                and any(not a.is_final for a in attempts),
            )
        )
    return rows


@dataclass(frozen=True)
class DirectMessage:
    """An SMS the console notifier sent outside the outbox (a room's check-in code)."""

    sequence: int
    to_masked: str
    body: str
    created_at: datetime


def direct_messages(notifier: object, *, limit: int = 50) -> list[DirectMessage]:
    """SMS sent straight through the console notifier of this process (check-in codes go out at
    once, not through the outbox, and so carry no status callback), newest first, numbers
    masked: console simulation only, where the page stands in for the member's phone."""
    if not isinstance(notifier, notify.ConsoleNotifier):
        raise NotFound()
    direct = [
        DirectMessage(e.sequence, notify.mask_phone(e.to), e.body or "", e.created_at)
        for e in notifier.entries()
        if e.channel is notify.Channel.SMS and e.status_callback is None
    ]
    return sorted(direct, key=lambda m: -m.sequence)[:limit]


SIMULATIONS = ("1", "2", "3", "machine", "no-answer", "sms-1", "sms-2", "sms-other")


def simulate(
    session: Session,
    notifier: Any,
    message_id: int,
    action: str,
    *,
    ctx: NotifyContext,
    now: datetime | None = None,
) -> None:
    """Answer a console message as the expert would (keys 1/2/3, a machine, no answer, an SMS).

    Exists only with the console notifier (`NotFound` otherwise); the simulated events go through
    the same handlers as the provider's webhooks, then the transaction is committed.
    """
    if not is_simulation(notifier):
        raise NotFound()
    if action not in SIMULATIONS:
        raise ValidationFailed(fields={"action": "unknown"})
    now = now or utcnow()
    message = session.get(OutboxMessage, message_id)
    if message is None or message.provider_sid is None:
        raise NotFound()
    events: list[notify.WebhookEvent] = []
    try:
        if action.startswith("sms-"):
            text = {"sms-1": "1", "sms-2": "2", "sms-other": "?"}[action]
            code = message.invitation.reply_code if message.invitation else None
            if code and action != "sms-other":
                text = f"{text} {code}"  # as the SMS asks: the answer with the reply code
            events.append(notifier.simulate_sms_reply(outbox.message_to(ctx, message), text))
        elif message.channel is not OutboxChannel.VOICE:
            raise ValidationFailed(fields={"action": "not a call"})
        elif action == "machine":
            events = notifier.simulate_answer(message.provider_sid, answered_by="machine_start")
        elif action == "no-answer":
            events = notifier.simulate_call_end(message.provider_sid, "no-answer")
        else:
            events = notifier.simulate_keypress(message.provider_sid, action)
    except notify.NotificationFailed:
        raise NotFound(str(_l("This simulated call is no longer held in memory."))) from None
    for event in events:
        apply_event(
            session, event, outbox_id=message.id, now=now, ctx=ctx, provider=notifier.provider
        )
    session.commit()


def apply_event(
    session: Session,
    event: notify.WebhookEvent,
    *,
    outbox_id: int | None,
    now: datetime,
    ctx: NotifyContext,
    provider: str = "twilio",
) -> str | None:
    """Hand one parsed callback to its handler; returns TwiML when the event asks for some."""
    if isinstance(event, notify.VoicePrompt):
        return callbacks.handle_voice_prompt(
            session, event, outbox_id=outbox_id, now=now, ctx=ctx, provider=provider
        )
    if isinstance(event, notify.GatherResult):
        return callbacks.handle_gather(
            session, event, outbox_id=outbox_id, now=now, ctx=ctx, provider=provider
        )
    if isinstance(event, notify.CallStatus):
        callbacks.handle_call_status(
            session, event, outbox_id=outbox_id, now=now, ctx=ctx, provider=provider
        )
    elif isinstance(event, notify.InboundSms):
        callbacks.handle_inbound_sms(session, event, now=now, ctx=ctx, provider=provider)
    else:
        callbacks.handle_sms_status(session, event, now=now)
    return None


def handle_webhook(
    session: Session,
    event: notify.WebhookEvent,
    *,
    outbox_id: int | None,
    ctx: NotifyContext,
    now: datetime | None = None,
) -> str | None:
    """Apply one verified provider callback and commit; returns the TwiML to answer with."""
    try:
        twiml = apply_event(session, event, outbox_id=outbox_id, now=now or utcnow(), ctx=ctx)
        session.commit()
    except Exception:
        session.rollback()
        raise
    return twiml
