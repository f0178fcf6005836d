"""The provider interface: the `Notifier` protocol, the `Delivery` record and the typed errors.

Every adapter (Twilio, console, a future domestic provider) implements `Notifier` and raises only
the errors defined here, so the app's outbox never sees a provider's own exceptions.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from notify.messages import Message

__all__ = [
    "FINAL_CALL_STATUSES",
    "FINAL_MESSAGE_STATUSES",
    "Channel",
    "Delivery",
    "FailureKind",
    "NotificationError",
    "NotificationFailed",
    "Notifier",
    "TransientFailure",
    "UnknownOutcome",
    "classify_error_code",
    "mask_phone",
]


class Channel(enum.StrEnum):
    """The way a person is contacted."""

    SMS = "sms"
    VOICE = "voice"


#: Message statuses after which the provider reports nothing more (Twilio's vocabulary).
FINAL_MESSAGE_STATUSES = frozenset({"delivered", "undelivered", "failed", "canceled", "read"})
#: Call statuses after which the call is over (Twilio's vocabulary).
FINAL_CALL_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})


@dataclass(frozen=True, slots=True)
class Delivery:
    """What the provider says about one message or call it accepted.

    `status` uses Twilio's words (`queued`, `sent`, `delivered`, `ringing`, `in-progress`,
    `completed`, `no-answer`...); other adapters translate their provider's words into these.
    """

    provider: str
    channel: Channel
    sid: str
    status: str
    to: str
    error_code: int | None = None
    error_message: str | None = None
    answered_by: str | None = None
    duration_seconds: int | None = None
    created_at: datetime | None = None

    @property
    def is_final(self) -> bool:
        """Whether the provider will report nothing more about this message or call."""
        finals = FINAL_MESSAGE_STATUSES if self.channel is Channel.SMS else FINAL_CALL_STATUSES
        return self.status in finals


class FailureKind(enum.StrEnum):
    """Why a provider refused or failed a message, grouped by what the caller should do."""

    AUTH = "auth"  # provider credentials rejected: stop sending, raise an alert, resume later
    RATE_LIMITED = "rate_limited"  # back off and retry the same request
    PROVIDER_ERROR = "provider_error"  # provider 5xx or unreachable: back off and retry
    INVALID_NUMBER = "invalid_number"  # the number cannot receive this: next invitee
    OPTED_OUT = "opted_out"  # the recipient unsubscribed or blocked us
    NOT_PERMITTED = "not_permitted"  # the account may not reach this region or number
    UNREACHABLE = "unreachable"  # handset off or carrier unknown error: may succeed later
    CARRIER_FILTERED = "carrier_filtered"  # a carrier blocked the content
    REJECTED = "rejected"  # any other refusal of the request itself


_RETRYABLE_KINDS = frozenset(
    {
        FailureKind.AUTH,
        FailureKind.RATE_LIMITED,
        FailureKind.PROVIDER_ERROR,
        FailureKind.UNREACHABLE,
    }
)

_KIND_BY_CODE: dict[int, FailureKind] = {
    20003: FailureKind.AUTH,
    20429: FailureKind.RATE_LIMITED,
    21211: FailureKind.INVALID_NUMBER,
    21614: FailureKind.INVALID_NUMBER,
    21408: FailureKind.NOT_PERMITTED,
    21610: FailureKind.OPTED_OUT,
    30003: FailureKind.UNREACHABLE,
    30004: FailureKind.OPTED_OUT,
    30005: FailureKind.INVALID_NUMBER,
    30006: FailureKind.INVALID_NUMBER,
    30007: FailureKind.CARRIER_FILTERED,
    30008: FailureKind.UNREACHABLE,
}


def classify_error_code(code: int | None, http_status: int | None = None) -> FailureKind:
    """Map a provider error code (Twilio's numbering) and HTTP status to a `FailureKind`.

    Also usable for the `ErrorCode` of a status callback (30003-30008 arrive that way).
    """
    if code is not None and code in _KIND_BY_CODE:
        return _KIND_BY_CODE[code]
    if http_status == 401:
        return FailureKind.AUTH
    if http_status == 429:
        return FailureKind.RATE_LIMITED
    if http_status is not None and http_status >= 500:
        return FailureKind.PROVIDER_ERROR
    return FailureKind.REJECTED


class NotificationError(Exception):
    """Base of every error a `Notifier` raises."""

    def __init__(self, message: str, *, provider: str) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider


class NotificationFailed(NotificationError):
    """The provider answered and did not accept the request (nothing was sent).

    `is_retryable` tells whether sending the same request later can succeed; `kind` tells why.
    An `AUTH` failure is retryable but means the whole provider is unusable until an operator
    fixes the credentials: stop sending everything and raise an alert.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        kind: FailureKind,
        code: int | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message, provider=provider)
        self.kind = kind
        self.code = code
        self.http_status = http_status

    @property
    def is_retryable(self) -> bool:
        """Whether the same request may succeed if sent again later."""
        return self.kind in _RETRYABLE_KINDS

    @property
    def is_recipient_problem(self) -> bool:
        """Whether the failure is about the recipient's number (move on to the next invitee)."""
        return self.kind in {
            FailureKind.INVALID_NUMBER,
            FailureKind.OPTED_OUT,
            FailureKind.NOT_PERMITTED,
        }

    def __repr__(self) -> str:
        """Show the fields that matter for logs (no secrets are held here)."""
        return (
            f"{type(self).__name__}(kind={self.kind.value!r}, code={self.code!r}, "
            f"http_status={self.http_status!r}, message={self.message!r})"
        )


class TransientFailure(NotificationFailed):
    """The provider is rate limiting (429) or failing (5xx): nothing was sent, retry later.

    `retry_after_seconds` carries the provider's Retry-After when it gave one.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        kind: FailureKind = FailureKind.PROVIDER_ERROR,
        code: int | None = None,
        http_status: int | None = None,
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(message, provider=provider, kind=kind, code=code, http_status=http_status)
        self.retry_after_seconds = retry_after_seconds

    @property
    def is_retryable(self) -> bool:
        """Always true: a transient failure is worth retrying."""
        return True


class UnknownOutcome(NotificationError):
    """The request may or may not have been carried out (timeout, connection lost mid-request).

    Never resend blindly: mark the send unknown and reconcile with `find_messages` / `find_calls`
    (or `fetch_*` when a SID is known) before deciding to send again.
    """


@runtime_checkable
class Notifier(Protocol):
    """Sends SMS and places calls through one provider.

    Every method returns a `Delivery` or raises `NotificationFailed` (possibly its subclass
    `TransientFailure`) or `UnknownOutcome`. Catch `TransientFailure` before `NotificationFailed`.
    """

    provider: str

    def send(self, to: str, message: Message, *, status_callback: str | None = None) -> Delivery:
        """Send one message (a kind with parameters), rendered the adapter's way: a text for
        Twilio and the console, a registered template and its parameters for a domestic
        provider."""
        ...

    def send_sms(self, to: str, body: str, *, status_callback: str | None = None) -> Delivery:
        """Send one SMS to an E.164 number; status changes are POSTed to `status_callback`."""
        ...

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
        """Place one call that plays `twiml` or fetches TwiML from `twiml_url` (exactly one).

        `message` is the call's content as a kind with parameters: a provider that plays
        registered voice templates (not TwiML) reads it instead of the TwiML."""
        ...

    def fetch_message(self, sid: str) -> Delivery:
        """Fetch the current state of a message."""
        ...

    def fetch_call(self, sid: str) -> Delivery:
        """Fetch the current state of a call."""
        ...

    def hangup(self, sid: str) -> Delivery:
        """End a call (cancel it while queued or ringing); a finished call is left as it is."""
        ...

    def find_messages(
        self, to: str, *, created_after: datetime, body: str | None = None
    ) -> Sequence[Delivery]:
        """Messages to `to` created at or after `created_after` (and with exactly `body`).

        Used to reconcile a send whose outcome is unknown: a match means it was sent.
        """
        ...

    def find_calls(self, to: str, *, created_after: datetime) -> Sequence[Delivery]:
        """Calls to `to` created at or after `created_after`, to reconcile an unknown outcome."""
        ...


def mask_phone(number: str) -> str:
    """Hide the middle of a phone number for logs: `+8613812345678` -> `+86138****5678`."""
    n = number.strip()
    if len(n) <= 6:
        return "*" * len(n)
    tail = 4 if len(n) >= 11 else 2
    head = max(0, min(6, len(n) - tail - 4))
    return n[:head] + "*" * (len(n) - head - tail) + n[len(n) - tail :]
