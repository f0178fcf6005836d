"""`ConsoleNotifier`: the embedded default, which sends nothing and records everything.

Each message or call becomes a `ConsoleEntry` kept in memory and handed to `on_record` on creation
and on every change (so the app can store it for its outbox page). A person (or a browser test) then
answers through the `simulate_*` methods, which produce the same typed events the provider's
webhooks would, hand them to `on_event` and return them.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from notify.base import (
    Channel,
    Delivery,
    FailureKind,
    NotificationError,
    NotificationFailed,
    mask_phone,
)
from notify.messages import Message, render_text
from notify.webhooks import (
    AnsweredBy,
    CallStatus,
    GatherResult,
    InboundSms,
    Reply,
    SmsStatus,
    WebhookEvent,
    advance,
    classify_answered_by,
    parse_digits,
    split_reply,
)

__all__ = ["PROVIDER", "ConsoleEntry", "ConsoleNotifier"]

PROVIDER = "console"
_logger = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ConsoleEntry:
    """One message or call the console notifier pretended to send."""

    sequence: int
    channel: Channel
    sid: str
    to: str
    status: str
    created_at: datetime
    body: str | None = None
    twiml_url: str | None = None
    twiml: str | None = None
    status_callback: str | None = None
    answered_by: str | None = None
    digits: tuple[str, ...] = ()
    error_code: int | None = None

    def to_delivery(self) -> Delivery:
        """The `Delivery` a real provider would report for this entry."""
        return Delivery(
            provider=PROVIDER,
            channel=self.channel,
            sid=self.sid,
            status=self.status,
            to=self.to,
            error_code=self.error_code,
            answered_by=self.answered_by,
            created_at=self.created_at,
        )


class ConsoleNotifier:
    """Records what would be sent, logs one masked line per item, and simulates answers.

    Thread-safe. Log lines never carry the full phone number nor the text (which holds one-time
    links); the full entry goes only to `on_record` and `entries()`.
    """

    provider = PROVIDER

    def __init__(
        self,
        *,
        on_record: Callable[[ConsoleEntry], None] | None = None,
        on_event: Callable[[WebhookEvent], None] | None = None,
        clock: Callable[[], datetime] = _utc_now,
        own_number: str = "+10000000000",
    ) -> None:
        self._on_record = on_record
        self._on_event = on_event
        self._clock = clock
        self._own_number = own_number
        self._lock = threading.Lock()
        self._entries: dict[str, ConsoleEntry] = {}
        self._sequence = 0
        self._call_sequence: dict[str, int] = {}
        self._failures: list[tuple[NotificationError, Channel | None, bool]] = []

    # -- Notifier ---------------------------------------------------------------------------

    def send(self, to: str, message: Message, *, status_callback: str | None = None) -> Delivery:
        """Send a message as its text (`notify.messages.render_text`)."""
        return self.send_sms(to, render_text(message), status_callback=status_callback)

    def send_sms(self, to: str, body: str, *, status_callback: str | None = None) -> Delivery:
        """Record an SMS as sent (status `sent`)."""
        self._raise_injected(Channel.SMS, to, body=body, status_callback=status_callback)
        entry = self._add(
            Channel.SMS, "SM", to, status="sent", body=body, status_callback=status_callback
        )
        _logger.info(
            "console sms #%d to %s (%d chars) %s",
            entry.sequence,
            mask_phone(to),
            len(body),
            entry.sid,
        )
        return entry.to_delivery()

    def place_call(
        self,
        to: str,
        *,
        twiml_url: str | None = None,
        twiml: str | None = None,
        status_callback: str | None = None,
        machine_detection: bool = True,
        ring_timeout_seconds: int = 30,
        message: Message | None = None,
    ) -> Delivery:
        """Record a call as ringing, waiting for a simulated answer."""
        if (twiml_url is None) == (twiml is None):
            raise ValueError("give exactly one of twiml_url and twiml")
        self._raise_injected(
            Channel.VOICE, to, twiml_url=twiml_url, twiml=twiml, status_callback=status_callback
        )
        entry = self._add(
            Channel.VOICE,
            "CA",
            to,
            status="ringing",
            twiml_url=twiml_url,
            twiml=twiml,
            status_callback=status_callback,
        )
        _logger.info("console call #%d to %s %s", entry.sequence, mask_phone(to), entry.sid)
        return entry.to_delivery()

    def fetch_message(self, sid: str) -> Delivery:
        """The recorded state of a message."""
        return self._get(sid, Channel.SMS).to_delivery()

    def fetch_call(self, sid: str) -> Delivery:
        """The recorded state of a call."""
        return self._get(sid, Channel.VOICE).to_delivery()

    def hangup(self, sid: str) -> Delivery:
        """End a simulated call (canceled if still ringing)."""
        entry = self._get(sid, Channel.VOICE)
        status = "canceled" if entry.status == "ringing" else "completed"
        return self._update(sid, status=status).to_delivery()

    def find_messages(
        self, to: str, *, created_after: datetime, body: str | None = None
    ) -> Sequence[Delivery]:
        """Recorded messages to `to` since `created_after` (and with exactly `body`)."""
        return [
            e.to_delivery()
            for e in self.entries()
            if e.channel is Channel.SMS
            and e.to == to
            and e.created_at >= created_after
            and (body is None or e.body == body)
        ]

    def find_calls(self, to: str, *, created_after: datetime) -> Sequence[Delivery]:
        """Recorded calls to `to` since `created_after`."""
        return [
            e.to_delivery()
            for e in self.entries()
            if e.channel is Channel.VOICE and e.to == to and e.created_at >= created_after
        ]

    def inject_failure(
        self,
        error: NotificationError,
        *,
        channel: Channel | None = None,
        times: int = 1,
        is_created_anyway: bool = False,
    ) -> None:
        """Make the next `times` sends (of `channel`, or any) raise `error`.

        For trials and dispatcher tests: a `TransientFailure`, an auth `NotificationFailed`, or an
        `UnknownOutcome` with `is_created_anyway=True` (recorded although the caller sees an
        error, as when a provider's answer is lost).
        """
        with self._lock:
            self._failures.extend((error, channel, is_created_anyway) for _ in range(times))

    # -- inspection -------------------------------------------------------------------------

    def entries(self) -> list[ConsoleEntry]:
        """Everything recorded so far, oldest first."""
        with self._lock:
            return sorted(self._entries.values(), key=lambda e: e.sequence)

    def entry(self, sid: str) -> ConsoleEntry:
        """One recorded entry by SID (KeyError if unknown)."""
        with self._lock:
            return self._entries[sid]

    # -- simulation -------------------------------------------------------------------------

    def simulate_answer(self, call_sid: str, *, answered_by: str = "human") -> list[WebhookEvent]:
        """The call is picked up by a person (`human`) or a machine (`machine_start`, `fax`...).

        A machine hangs up at once: it never counts as an answer.
        """
        self._get(call_sid, Channel.VOICE)
        events: list[WebhookEvent] = [
            self._call_event(call_sid, "in-progress", answered_by=answered_by)
        ]
        if classify_answered_by(answered_by) is AnsweredBy.MACHINE:
            events.append(self._call_event(call_sid, "completed"))
        return self._emit(events)

    def simulate_keypress(self, call_sid: str, digits: str) -> list[WebhookEvent]:
        """A person presses `digits` (answering first if needed); 1 or 2 end the call."""
        entry = self._get(call_sid, Channel.VOICE)
        events: list[WebhookEvent] = []
        if entry.status == "ringing":
            events.append(self._call_event(call_sid, "in-progress", answered_by="human"))
        with self._lock:
            current = self._entries[call_sid]
            self._entries[call_sid] = replace(current, digits=(*current.digits, digits))
        reply = parse_digits(digits)
        events.append(GatherResult(call_sid=call_sid, digits=digits, reply=reply))
        if reply in {Reply.ACCEPT, Reply.DECLINE}:
            events.append(self._call_event(call_sid, "completed"))
        return self._emit(events)

    def simulate_call_end(self, call_sid: str, status: str = "completed") -> list[WebhookEvent]:
        """The call ends: `completed` (hung up), `no-answer`, `busy`, `failed` or `canceled`."""
        self._get(call_sid, Channel.VOICE)
        return self._emit([self._call_event(call_sid, status)])

    def simulate_sms_reply(self, from_number: str, body: str) -> InboundSms:
        """A person sends `body` to our number from `from_number`."""
        event = InboundSms(
            message_sid="SM" + secrets.token_hex(16),
            from_number=from_number,
            to_number=self._own_number,
            body=body,
            reply=split_reply(body)[0],
            code=split_reply(body)[1],
        )
        self._emit([event])
        return event

    def simulate_sms_status(
        self, message_sid: str, status: str, *, error_code: int | None = None
    ) -> SmsStatus:
        """The carrier reports on a message: `delivered`, `undelivered` (with a code)..."""
        self._get(message_sid, Channel.SMS)
        changes: dict[str, object] = {"status": status}
        if error_code is not None:
            changes["error_code"] = error_code
        entry = self._update(message_sid, **changes)
        event = SmsStatus(
            message_sid=message_sid, status=status, error_code=error_code, to=entry.to
        )
        self._emit([event])
        return event

    # -- internals --------------------------------------------------------------------------

    def _raise_injected(
        self,
        channel: Channel,
        to: str,
        *,
        body: str | None = None,
        twiml_url: str | None = None,
        twiml: str | None = None,
        status_callback: str | None = None,
    ) -> None:
        with self._lock:
            index = next(
                (i for i, (_, ch, _) in enumerate(self._failures) if ch in (None, channel)), None
            )
            if index is None:
                return
            error, _, is_created_anyway = self._failures.pop(index)
        if is_created_anyway:
            status = "sent" if channel is Channel.SMS else "ringing"
            self._add(
                channel,
                "SM" if channel is Channel.SMS else "CA",
                to,
                status=status,
                body=body,
                twiml_url=twiml_url,
                twiml=twiml,
                status_callback=status_callback,
            )
        raise error

    def _add(
        self,
        channel: Channel,
        prefix: str,
        to: str,
        *,
        status: str,
        body: str | None = None,
        twiml_url: str | None = None,
        twiml: str | None = None,
        status_callback: str | None = None,
    ) -> ConsoleEntry:
        if not to.strip():
            raise NotificationFailed(
                "empty recipient", provider=PROVIDER, kind=FailureKind.INVALID_NUMBER, code=21211
            )
        created_at = self._clock()
        with self._lock:
            self._sequence += 1
            sid = prefix + secrets.token_hex(16)
            entry = ConsoleEntry(
                sequence=self._sequence,
                channel=channel,
                sid=sid,
                to=to,
                status=status,
                created_at=created_at,
                body=body,
                twiml_url=twiml_url,
                twiml=twiml,
                status_callback=status_callback,
            )
            self._entries[sid] = entry
        if self._on_record is not None:
            self._on_record(entry)
        return entry

    def _get(self, sid: str, channel: Channel) -> ConsoleEntry:
        with self._lock:
            entry = self._entries.get(sid)
        if entry is None or entry.channel is not channel:
            raise NotificationFailed(
                f"no {channel.value} with SID {sid}",
                provider=PROVIDER,
                kind=FailureKind.REJECTED,
                code=20404,
                http_status=404,
            )
        return entry

    def _update(self, sid: str, **changes: object) -> ConsoleEntry:
        with self._lock:
            if sid not in self._entries:
                raise NotificationFailed(
                    f"no message or call with SID {sid}",
                    provider=PROVIDER,
                    kind=FailureKind.REJECTED,
                    code=20404,
                    http_status=404,
                )
            current = self._entries[sid]
            status = changes.pop("status", None)
            new_status = advance(current.status, str(status)) if status else current.status
            updated = replace(current, status=new_status or current.status, **changes)  # type: ignore[arg-type]
            self._entries[sid] = updated
        if self._on_record is not None:
            self._on_record(updated)
        return updated

    def _call_event(
        self, call_sid: str, status: str, *, answered_by: str | None = None
    ) -> CallStatus:
        changes: dict[str, object] = {"status": status}
        if answered_by is not None:
            changes["answered_by"] = answered_by
        entry = self._update(call_sid, **changes)
        with self._lock:
            number = self._call_sequence.get(call_sid, 0) + 1
            self._call_sequence[call_sid] = number
        return CallStatus(
            call_sid=call_sid,
            status=status,
            answered_by=classify_answered_by(entry.answered_by),
            raw_answered_by=entry.answered_by,
            duration_seconds=None,
            sequence_number=number,
            error_code=None,
            to=entry.to,
        )

    def _emit(self, events: list[WebhookEvent]) -> list[WebhookEvent]:
        if self._on_event is not None:
            for event in events:
                self._on_event(event)
        return events
