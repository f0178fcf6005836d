"""Parsing and validation of the provider's inbound callbacks, as typed events.

The app's routes validate the signature, call one parser and hand the event to a service. The
parsers are pure: they take the form parameters and return frozen dataclasses. `advance` keeps a
stored status moving only forward, so repeated and out-of-order callbacks are harmless.
"""

from __future__ import annotations

import enum
import re
import secrets
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, cast

from twilio.request_validator import RequestValidator

__all__ = [
    "STATUS_ORDER",
    "AnsweredBy",
    "CallStatus",
    "FormParams",
    "GatherResult",
    "InboundSms",
    "InvalidWebhook",
    "Reply",
    "SmsStatus",
    "VoicePrompt",
    "WebhookEvent",
    "advance",
    "classify_answered_by",
    "parse_call_status",
    "parse_digits",
    "parse_gather",
    "parse_inbound_sms",
    "parse_reply",
    "parse_sms_status",
    "parse_voice_prompt",
    "status_rank",
    "validate_signature",
    "webhook_url",
]


class _MultiDict(Protocol):
    """A form multi-dict such as werkzeug's `request.form`."""

    def getlist(self, key: str) -> list[str]:
        """All values of `key`."""
        ...

    def __iter__(self) -> Iterator[str]:
        """The distinct keys."""
        ...


#: Form parameters: a werkzeug MultiDict, `parse_qs` output (lists) or a plain dict of strings.
FormParams = _MultiDict | Mapping[str, str] | Mapping[str, Sequence[str]]


class InvalidWebhook(ValueError):
    """A callback lacks a required parameter or carries a malformed one."""


class Reply(enum.StrEnum):
    """What an expert's key press or SMS reply means."""

    ACCEPT = "accept"
    DECLINE = "decline"
    REPEAT = "repeat"  # voice only: play the invitation again
    UNKNOWN = "unknown"  # not understood: answer with help (SMS) or ask again (voice)


class AnsweredBy(enum.StrEnum):
    """Who picked up a call, from answering-machine detection."""

    HUMAN = "human"
    MACHINE = "machine"  # voicemail, fax or any machine_* result: not an answer
    UNKNOWN = "unknown"  # detection off or undecided: only a key press proves a person


def classify_answered_by(value: str | None) -> AnsweredBy:
    """Classify Twilio's `AnsweredBy` (human, machine_start, machine_end_beep, fax, unknown...)."""
    if value is None:
        return AnsweredBy.UNKNOWN
    v = value.strip().lower()
    if v == "human":
        return AnsweredBy.HUMAN
    if v == "fax" or v.startswith("machine"):
        return AnsweredBy.MACHINE
    return AnsweredBy.UNKNOWN


@dataclass(frozen=True, slots=True)
class VoicePrompt:
    """The provider asks for the TwiML of an answered call."""

    call_sid: str
    call_status: str
    answered_by: AnsweredBy
    raw_answered_by: str | None
    to: str | None

    @property
    def is_machine(self) -> bool:
        """Whether a machine answered: hang up, it does not count as an answer."""
        return self.answered_by is AnsweredBy.MACHINE


@dataclass(frozen=True, slots=True)
class GatherResult:
    """The key(s) pressed during a call's `Gather`."""

    call_sid: str
    digits: str
    reply: Reply


@dataclass(frozen=True, slots=True)
class CallStatus:
    """A call status callback (initiated, ringing, answered, completed...)."""

    call_sid: str
    status: str
    answered_by: AnsweredBy
    raw_answered_by: str | None
    duration_seconds: int | None
    sequence_number: int | None
    error_code: int | None
    to: str | None

    @property
    def is_machine(self) -> bool:
        """Whether a machine answered, which is never an answer."""
        return self.answered_by is AnsweredBy.MACHINE


@dataclass(frozen=True, slots=True)
class InboundSms:
    """An SMS sent by a person to our number."""

    message_sid: str
    from_number: str
    to_number: str | None
    body: str
    reply: Reply
    code: str | None = None  # the invitation's reply code, when the text carries one


@dataclass(frozen=True, slots=True)
class SmsStatus:
    """A message status callback (queued, sent, delivered, undelivered, failed...)."""

    message_sid: str
    status: str
    error_code: int | None
    to: str | None


WebhookEvent = VoicePrompt | GatherResult | CallStatus | InboundSms | SmsStatus


# ---------------------------------------------------------------------------------------------
# Status ordering
# ---------------------------------------------------------------------------------------------

#: One total order over message and call statuses; `advance` keeps the later of two. It is a
#: total order (no ties) so that folding any permutation of callbacks gives the same result.
STATUS_ORDER: tuple[str, ...] = (
    "accepted",
    "scheduled",
    "queued",
    "initiated",
    "sending",
    "ringing",
    "sent",
    "receiving",
    "received",
    "in-progress",
    "delivered",
    "read",
    "canceled",
    "no-answer",
    "busy",
    "undelivered",
    "failed",
    "completed",
)
_RANK = {status: i for i, status in enumerate(STATUS_ORDER)}


def status_rank(status: str | None) -> int:
    """Position of `status` in `STATUS_ORDER`, -1 for None or an unknown word."""
    if status is None:
        return -1
    return _RANK.get(status.strip().lower(), -1)


def advance(old: str | None, new: str | None) -> str | None:
    """The status to store when `new` arrives while `old` is stored: never move backwards.

    Unknown words never replace a known status. Commutative, associative and idempotent, so any
    order or repetition of callbacks ends in the same status.
    """
    old_rank, new_rank = status_rank(old), status_rank(new)
    if new_rank > old_rank:
        return STATUS_ORDER[new_rank]
    if old_rank >= 0:
        return STATUS_ORDER[old_rank]
    return None


# ---------------------------------------------------------------------------------------------
# Replies
# ---------------------------------------------------------------------------------------------

_ACCEPT_WORDS = frozenset(
    {
        "1",
        "y",
        "yes",
        "ok",
        "okay",
        "accept",
        "好",
        "好的",
        "可以",
        "接受",
        "同意",
        "参加",
        "确认",
        "能参加",
        "可以参加",
        "同意参加",
        "确认参加",
        "接受邀请",
    }
)
_DECLINE_WORDS = frozenset(
    {
        "2",
        "n",
        "no",
        "decline",
        "不",
        "不能",
        "不行",
        "不去",
        "不参加",
        "不能参加",
        "拒绝",
        "有事",
        "没空",
        "没时间",
        "来不了",
        "去不了",
        "参加不了",
    }
)
# Substrings that decide a longer free text. Decline phrases are removed before accept phrases
# are searched, so "不参加" never counts as "参加".
_DECLINE_PHRASES = (
    "不能参加",
    "无法参加",
    "参加不了",
    "不参加",
    "不接受",
    "不同意",
    "不确认",
    "来不了",
    "去不了",
    "没时间",
    "没空",
    "有事",
    "拒绝",
    "不去",
    "不能",
    "无法",
    "cannot",
    "can't",
    "not ",
    "decline",
)
_ACCEPT_PHRASES = ("接受", "同意", "参加", "确认", "accept")
_TRIM = " \t\r\n.,!?;:~，。！？；：、…-—'\"“”‘’（）()【】[]"
_LEADING_DIGIT = re.compile(r"([12])(?![0-9])(.*)", re.DOTALL)


def _normalise(text: str) -> str:
    """Full-width to ASCII, lower case, trimmed of spaces and punctuation."""
    return unicodedata.normalize("NFKC", text).casefold().strip(_TRIM)


def _classify_words(text: str) -> Reply:
    """Classify an already normalised text by exact words, then by phrases."""
    if not text:
        return Reply.UNKNOWN
    if text in _ACCEPT_WORDS:
        return Reply.ACCEPT
    if text in _DECLINE_WORDS:
        return Reply.DECLINE
    remainder = text
    is_decline = False
    for phrase in _DECLINE_PHRASES:
        if phrase in remainder:
            is_decline = True
            remainder = remainder.replace(phrase, " ")
    is_accept = any(phrase in remainder for phrase in _ACCEPT_PHRASES)
    if is_decline and not is_accept:
        return Reply.DECLINE
    if is_accept and not is_decline:
        return Reply.ACCEPT
    return Reply.UNKNOWN


def parse_reply(text: str) -> Reply:
    """Understand an SMS reply where it is unambiguous: '1', '１', ' 1 ', '接受', 'YES', '2 有事'.

    A leading 1 or 2 decides unless the words after it say the opposite ("1 不参加" is
    UNKNOWN). Anything else unclear is UNKNOWN, to be answered with a help SMS.
    """
    t = _normalise(text)
    match = _LEADING_DIGIT.fullmatch(t)
    if match is not None:
        by_digit = Reply.ACCEPT if match.group(1) == "1" else Reply.DECLINE
        by_words = _classify_words(_normalise(match.group(2)))
        if by_words is Reply.UNKNOWN or by_words is by_digit:
            return by_digit
        return Reply.UNKNOWN
    return _classify_words(t)


#: Reply codes: two letters (no I, L or O) then two digits (2-9), e.g. "KQ27"; case-insensitive.
REPLY_CODE_LETTERS = "ABCDEFGHJKMNPQRSTUVWXYZ"
REPLY_CODE_DIGITS = "23456789"
_REPLY_CODE = re.compile(
    r"(?<![a-z0-9])([a-hj-kmnp-z]{2}[2-9]{2})(?![a-z0-9])",
)


def new_reply_code() -> str:
    """A fresh random reply code (the caller makes it unique among the expert's open ones)."""
    pick = secrets.choice
    return (
        pick(REPLY_CODE_LETTERS)
        + pick(REPLY_CODE_LETTERS)
        + pick(REPLY_CODE_DIGITS)
        + pick(REPLY_CODE_DIGITS)
    )


def split_reply(text: str) -> tuple[Reply, str | None]:
    """The answer and the reply code an SMS carries: "1 KQ27", "kq27 2", "接受KQ27" or a bare
    "1" (no code). A text naming two different codes is unclear (UNKNOWN, no code)."""
    normalised = unicodedata.normalize("NFKC", text).casefold()
    codes = {m.group(1) for m in _REPLY_CODE.finditer(normalised)}
    if len(codes) > 1:
        return Reply.UNKNOWN, None
    code = codes.pop().upper() if codes else None
    rest = _REPLY_CODE.sub(" ", normalised) if code else text
    return parse_reply(rest), code


def parse_digits(digits: str) -> Reply:
    """Understand the key pressed during a call: 1 accept, 2 decline, 3 repeat, else UNKNOWN."""
    return {"1": Reply.ACCEPT, "2": Reply.DECLINE, "3": Reply.REPEAT}.get(
        digits.strip(), Reply.UNKNOWN
    )


# ---------------------------------------------------------------------------------------------
# Form access and signature validation
# ---------------------------------------------------------------------------------------------


def _as_lists(params: FormParams) -> dict[str, list[str]]:
    """Normalise any supported form container to a dict of value lists."""
    if hasattr(params, "getlist"):
        # Checked first: werkzeug's MultiDict is also a Mapping whose items() drop repeats.
        multi = cast(_MultiDict, params)
        return {key: list(multi.getlist(key)) for key in multi}
    out: dict[str, list[str]] = {}
    for key, value in params.items():
        out[str(key)] = [value] if isinstance(value, str) else [str(v) for v in value]
    return out


class _ListParams:
    """The shape `RequestValidator` understands for repeated keys (`getall`)."""

    def __init__(self, lists: dict[str, list[str]]) -> None:
        self._lists = lists

    def __iter__(self) -> Iterator[str]:
        return iter(self._lists)

    def __bool__(self) -> bool:
        return bool(self._lists)

    def getall(self, key: str) -> list[str]:
        """All values of `key`."""
        return self._lists[key]


def webhook_url(public_base_url: str, path_and_query: str) -> str:
    """The URL the provider signed: the configured public base URL plus the request's path.

    Behind a TLS-terminating proxy the app sees http://internal-host; the provider signed the
    public https URL, so signatures must be checked against this one.
    """
    return public_base_url.rstrip("/") + "/" + path_and_query.lstrip("/")


def validate_signature(
    auth_token: str, url: str, params: FormParams, signature: str | None
) -> bool:
    """Check `X-Twilio-Signature` for a form-encoded callback to `url` with `params`."""
    if not signature or not auth_token:
        return False
    validator = RequestValidator(auth_token)
    return bool(validator.validate(url, _ListParams(_as_lists(params)), signature))


# ---------------------------------------------------------------------------------------------
# Parsers
# ---------------------------------------------------------------------------------------------


def _first(lists: dict[str, list[str]], key: str) -> str | None:
    values = lists.get(key)
    return values[0] if values else None


def _required(lists: dict[str, list[str]], key: str) -> str:
    value = _first(lists, key)
    if value is None or not value.strip():
        raise InvalidWebhook(f"missing parameter {key}")
    return value.strip()


def _optional_int(lists: dict[str, list[str]], key: str) -> int | None:
    value = _first(lists, key)
    if value is None or not value.strip():
        return None
    try:
        return int(value.strip())
    except ValueError as exc:
        raise InvalidWebhook(f"parameter {key} is not an integer") from exc


def _status(lists: dict[str, list[str]], key: str) -> str:
    return _required(lists, key).lower()


def parse_voice_prompt(params: FormParams) -> VoicePrompt:
    """Parse the request for a call's TwiML (sent when the call is answered)."""
    lists = _as_lists(params)
    raw = _first(lists, "AnsweredBy")
    return VoicePrompt(
        call_sid=_required(lists, "CallSid"),
        call_status=(_first(lists, "CallStatus") or "in-progress").strip().lower(),
        answered_by=classify_answered_by(raw),
        raw_answered_by=raw,
        to=_first(lists, "To"),
    )


def parse_gather(params: FormParams) -> GatherResult:
    """Parse the `Gather` action callback; no `Digits` means nothing was pressed."""
    lists = _as_lists(params)
    digits = (_first(lists, "Digits") or "").strip()
    return GatherResult(
        call_sid=_required(lists, "CallSid"), digits=digits, reply=parse_digits(digits)
    )


def parse_call_status(params: FormParams) -> CallStatus:
    """Parse a call status callback."""
    lists = _as_lists(params)
    raw = _first(lists, "AnsweredBy")
    return CallStatus(
        call_sid=_required(lists, "CallSid"),
        status=_status(lists, "CallStatus"),
        answered_by=classify_answered_by(raw),
        raw_answered_by=raw,
        duration_seconds=_optional_int(lists, "CallDuration"),
        sequence_number=_optional_int(lists, "SequenceNumber"),
        error_code=_optional_int(lists, "ErrorCode"),
        to=_first(lists, "To"),
    )


def parse_inbound_sms(params: FormParams) -> InboundSms:
    """Parse an inbound SMS and interpret its text as a reply."""
    lists = _as_lists(params)
    body = _first(lists, "Body") or ""
    return InboundSms(
        message_sid=_first(lists, "MessageSid") or _required(lists, "SmsSid"),
        from_number=_required(lists, "From"),
        to_number=_first(lists, "To"),
        body=body,
        reply=split_reply(body)[0],
        code=split_reply(body)[1],
    )


def parse_sms_status(params: FormParams) -> SmsStatus:
    """Parse a message status callback (`MessageStatus`, or the older `SmsStatus`)."""
    lists = _as_lists(params)
    key = "MessageStatus" if _first(lists, "MessageStatus") else "SmsStatus"
    return SmsStatus(
        message_sid=_first(lists, "MessageSid") or _required(lists, "SmsSid"),
        status=_status(lists, key),
        error_code=_optional_int(lists, "ErrorCode"),
        to=_first(lists, "To"),
    )
