"""Alibaba Cloud (阿里云) SMS and voice behind `Notifier`, with the official SDKs.

SMS go through `dysmsapi` (`SendSms`) as registered templates: a template code per message kind
and its variables (`notify.messages.template_params`), under the registered signature (签名).
Free text is refused: mainland carriers deliver only registered templates. Invitation calls go
through `dyvmsapi` (`IvrCall`): a registered voice template reads name, time and venue, and the
key map answers 1 (accept) and 2 (decline) with their own templates.

What comes back, and how:

- replies (上行短信) and call reports with the key pressed (`dtmf`) are **pushed** by Alibaba
  Cloud's HTTP batch push to a URL the app protects with a secret path segment and a source
  allowlist (there is no signature on these pushes); `parse_sms_up`, `parse_sms_report` and
  `parse_voice_report` turn them into the events of `webhooks.py`;
- delivery receipts can also be **pulled** with `QuerySendDetails`, which `find_messages` uses
  to reconcile a send whose outcome is unknown.

Every endpoint is a setting, so tests and the demo point the SDKs at `aliyun_fake.py`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from alibabacloud_dysmsapi20170525 import models as sms_models
from alibabacloud_dysmsapi20170525.client import Client as SmsClient
from alibabacloud_dyvmsapi20170525 import models as voice_models
from alibabacloud_dyvmsapi20170525.client import Client as VoiceClient
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_util import models as util_models
from Tea.exceptions import TeaException, UnretryableException

from notify.base import (
    Channel,
    Delivery,
    FailureKind,
    NotificationFailed,
    TransientFailure,
    UnknownOutcome,
    mask_phone,
)
from notify.messages import Message, MessageKind, template_params
from notify.voice import CHINA_TIME
from notify.webhooks import (
    AnsweredBy,
    CallStatus,
    GatherResult,
    InboundSms,
    InvalidWebhook,
    SmsStatus,
    parse_digits,
    split_reply,
)

__all__ = [
    "PROVIDER",
    "AliyunNotifier",
    "parse_sms_report",
    "parse_sms_up",
    "parse_templates",
    "parse_voice_report",
]

PROVIDER = "aliyun"
_logger = logging.getLogger(__name__)
T = TypeVar("T")

#: Alibaba Cloud's error codes, grouped as `classify_error_code` groups Twilio's.
_KIND_BY_CODE: dict[str, FailureKind] = {
    "InvalidAccessKeyId.NotFound": FailureKind.AUTH,
    "SignatureDoesNotMatch": FailureKind.AUTH,
    "isp.RAM_PERMISSION_DENY": FailureKind.AUTH,
    "isv.MOBILE_NUMBER_ILLEGAL": FailureKind.INVALID_NUMBER,
    "isv.MOBILE_COUNT_OVER_LIMIT": FailureKind.REJECTED,
    "isv.BUSINESS_LIMIT_CONTROL": FailureKind.RATE_LIMITED,
    "isv.DAY_LIMIT_CONTROL": FailureKind.RATE_LIMITED,
    "Throttling.User": FailureKind.RATE_LIMITED,
    "isv.BLACK_KEY_CONTROL_LIMIT": FailureKind.CARRIER_FILTERED,
    "isv.AMOUNT_NOT_ENOUGH": FailureKind.NOT_PERMITTED,
    "isv.OUT_OF_SERVICE": FailureKind.NOT_PERMITTED,
    "isp.SYSTEM_ERROR": FailureKind.PROVIDER_ERROR,
    "ServiceUnavailable": FailureKind.PROVIDER_ERROR,
}

#: The voice templates the adapter needs: the prompt, and the answers to keys 1 and 2.
VOICE_TEMPLATE_KEYS = ("invitation", "accepted", "declined")

#: What a call reads (the voice templates declare these variables only).
_SPOKEN = frozenset({"name", "time", "venue"})

#: `SendStatus` of `QuerySendDetails`: 1 waiting for a receipt, 2 failed, 3 delivered.
_SEND_STATUS = {1: "sent", 2: "undelivered", 3: "delivered"}

#: Voice report `status_code`s: 200000 answered and heard, 200002 busy, 200005 no answer...
_CALL_STATUS = {"200000": "completed", "200002": "busy", "200005": "no-answer"}


def parse_templates(setting: str) -> dict[str, str]:
    """`"invitation=SMS_1, confirmation=SMS_2"` -> `{"invitation": "SMS_1", ...}`."""
    out: dict[str, str] = {}
    for part in setting.split(","):
        if "=" in part:
            key, _, value = part.partition("=")
            if key.strip() and value.strip():
                out[key.strip()] = value.strip()
    return out


def domestic(number: str) -> str:
    """A mainland number as Alibaba Cloud wants it: `+8613812345678` -> `13812345678`."""
    n = number.strip().replace(" ", "")
    return n[3:] if n.startswith("+86") else n


def international(number: str) -> str:
    """A mainland number as the app stores it: `13812345678` -> `+8613812345678`."""
    n = number.strip()
    return n if n.startswith("+") else "+86" + n


class AliyunNotifier:
    """A `Notifier` over Alibaba Cloud SMS (templates) and voice (IVR with key presses)."""

    provider = PROVIDER

    def __init__(
        self,
        *,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        sms_templates: Mapping[str, str],
        voice_templates: Mapping[str, str],
        called_show_number: str = "",
        sms_endpoint: str | None = None,
        voice_endpoint: str | None = None,
        timeout_seconds: float = 10.0,
        link_allowed: bool = False,
        play_times: int = 2,
    ) -> None:
        missing = [k for k in VOICE_TEMPLATE_KEYS if k not in voice_templates]
        if missing:
            raise ValueError(f"voice templates missing: {', '.join(missing)}")
        self._sign_name = sign_name
        self._sms_templates = dict(sms_templates)
        self._voice_templates = dict(voice_templates)
        self._called_show_number = called_show_number
        self._link_allowed = link_allowed
        self._play_times = play_times
        timeout_ms = int(timeout_seconds * 1000)
        self._runtime = util_models.RuntimeOptions(
            read_timeout=timeout_ms, connect_timeout=timeout_ms, autoretry=False, max_attempts=0
        )
        self._sms = SmsClient(
            self._config(access_key_id, access_key_secret, sms_endpoint, "dysmsapi.aliyuncs.com")
        )
        self._voice = VoiceClient(
            self._config(access_key_id, access_key_secret, voice_endpoint, "dyvmsapi.aliyuncs.com")
        )

    @staticmethod
    def _config(key_id: str, secret: str, endpoint: str | None, default: str) -> Any:
        """An SDK configuration; an `http://host:port` endpoint (the loopback fake) keeps http."""
        protocol = "https"
        host = endpoint or default
        if host.startswith("http://"):
            protocol, host = "http", host[len("http://") :]
        elif host.startswith("https://"):
            host = host[len("https://") :]
        return open_api_models.Config(
            access_key_id=key_id,
            access_key_secret=secret,
            endpoint=host.rstrip("/"),
            protocol=protocol,
        )

    def __repr__(self) -> str:
        """No secret in logs."""
        return f"AliyunNotifier(sign_name={self._sign_name!r})"

    # -- calling the SDK ----------------------------------------------------------------------

    def _call(self, what: str, call: Callable[[], T]) -> T:
        """Run one SDK call, turning its exceptions into the errors of `base.py`."""
        try:
            return call()
        except UnretryableException as exc:
            text = str(exc)
            if "Read timed out" in text or "RemoteDisconnected" in text or "aborted" in text:
                raise UnknownOutcome(f"{what}: no answer", provider=PROVIDER) from None
            raise TransientFailure(f"{what}: unreachable", provider=PROVIDER) from None
        except TeaException as exc:
            status = _int(getattr(exc, "status_code", None) or getattr(exc, "statusCode", None))
            raise _failure(what, str(getattr(exc, "code", "") or ""), status) from None

    def _checked(self, what: str, body: Any) -> Any:
        code = str(getattr(body, "code", "") or "")
        if code != "OK":
            raise _failure(what, code, None)
        return body

    # -- Notifier ---------------------------------------------------------------------------

    def send(self, to: str, message: Message, *, status_callback: str | None = None) -> Delivery:
        """Send a message as its registered template with the template's variables."""
        template = self._sms_templates.get(message.kind.value)
        if template is None:
            raise NotificationFailed(
                f"no SMS template is registered for {message.kind.value}",
                provider=PROVIDER,
                kind=FailureKind.REJECTED,
            )
        request = sms_models.SendSmsRequest(
            phone_numbers=domestic(to),
            sign_name=self._sign_name,
            template_code=template,
            template_param=json.dumps(
                template_params(message, link_allowed=self._link_allowed), ensure_ascii=False
            ),
        )
        response = self._call(
            "send SMS", lambda: self._sms.send_sms_with_options(request, self._runtime)
        )
        body = self._checked("send SMS", response.body)
        _logger.info("aliyun sms %s to %s sent: %s", template, mask_phone(to), body.biz_id)
        return Delivery(PROVIDER, Channel.SMS, str(body.biz_id), "sent", to)

    def send_sms(self, to: str, body: str, *, status_callback: str | None = None) -> Delivery:
        """Free text cannot be sent: mainland SMS use registered templates only."""
        raise NotificationFailed(
            "free-text SMS are not offered; send a message kind with a registered template",
            provider=PROVIDER,
            kind=FailureKind.REJECTED,
        )

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
        """Place an IVR call: the invitation template, then keys 1 and 2 answered by theirs.

        The key pressed comes back in the pushed call report (`parse_voice_report`).
        """
        if message is None or message.kind is not MessageKind.INVITATION_CALL:
            raise NotificationFailed(
                "a call needs an invitation_call message",
                provider=PROVIDER,
                kind=FailureKind.REJECTED,
            )
        spoken = {k: v for k, v in template_params(message).items() if k in _SPOKEN}
        params = json.dumps(spoken, ensure_ascii=False)
        request = voice_models.IvrCallRequest(
            called_number=domestic(to),
            called_show_number=self._called_show_number or None,
            start_code=self._voice_templates["invitation"],
            start_tts_params=params,
            menu_key_map=[
                voice_models.IvrCallRequestMenuKeyMap(
                    key="1", code=self._voice_templates["accepted"], tts_params=params
                ),
                voice_models.IvrCallRequestMenuKeyMap(
                    key="2", code=self._voice_templates["declined"], tts_params=params
                ),
            ],
            play_times=self._play_times,
            timeout=ring_timeout_seconds * 1000,
        )
        response = self._call(
            "place call", lambda: self._voice.ivr_call_with_options(request, self._runtime)
        )
        body = self._checked("place call", response.body)
        _logger.info("aliyun call to %s placed: %s", mask_phone(to), body.call_id)
        return Delivery(PROVIDER, Channel.VOICE, str(body.call_id), "queued", to)

    def fetch_message(self, sid: str) -> Delivery:
        """Not offered by SID alone (`QuerySendDetails` needs the number): use `find_messages`."""
        raise NotificationFailed(
            "fetching a message by its id alone is not offered",
            provider=PROVIDER,
            kind=FailureKind.REJECTED,
        )

    def fetch_call(self, sid: str) -> Delivery:
        """Not offered: call states arrive in the pushed call reports."""
        raise NotificationFailed(
            "fetching a call is not offered; reports are pushed",
            provider=PROVIDER,
            kind=FailureKind.REJECTED,
        )

    def hangup(self, sid: str) -> Delivery:
        """Not offered for IVR calls: a call ends by itself after `play_times` prompts."""
        raise NotificationFailed(
            "hanging up is not offered", provider=PROVIDER, kind=FailureKind.REJECTED
        )

    def find_messages(
        self, to: str, *, created_after: datetime, body: str | None = None
    ) -> Sequence[Delivery]:
        """Messages to `to` sent on or after `created_after` (pulled with `QuerySendDetails`).

        `body` is not compared: the provider stores the rendered template, not our text.
        """
        day = created_after.astimezone(CHINA_TIME)
        request = sms_models.QuerySendDetailsRequest(
            phone_number=domestic(to), send_date=f"{day:%Y%m%d}", page_size=50, current_page=1
        )
        response = self._call(
            "query SMS", lambda: self._sms.query_send_details_with_options(request, self._runtime)
        )
        result = self._checked("query SMS", response.body)
        found: list[Delivery] = []
        dtos = result.sms_send_detail_dtos
        for item in (dtos.sms_send_detail_dto if dtos else None) or []:
            sent_at = _parse_time(item.send_date)
            if sent_at is not None and sent_at < created_after.replace(microsecond=0):
                continue
            status = _SEND_STATUS.get(_int(item.send_status) or 0, "sent")
            found.append(
                Delivery(
                    PROVIDER,
                    Channel.SMS,
                    str(item.out_id or f"{item.phone_num}:{item.send_date}"),
                    status,
                    international(str(item.phone_num)),
                    created_at=sent_at,
                )
            )
        return found

    def find_calls(self, to: str, *, created_after: datetime) -> Sequence[Delivery]:
        """No call listing by number is offered: an unknown call outcome counts as not placed."""
        return []


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _parse_time(value: Any) -> datetime | None:
    """`2026-12-03 10:00:00` (Beijing time) -> an aware datetime."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA_TIME)
    except ValueError:
        return None


def _failure(what: str, code: str, status: int | None) -> NotificationFailed:
    kind = _KIND_BY_CODE.get(code)
    if kind is None:
        if status == 401 or status == 403:
            kind = FailureKind.AUTH
        elif status == 429:
            kind = FailureKind.RATE_LIMITED
        elif status is not None and status >= 500:
            kind = FailureKind.PROVIDER_ERROR
        else:
            kind = FailureKind.REJECTED
    message = f"{what}: {code or 'error'}"
    if kind in (FailureKind.RATE_LIMITED, FailureKind.PROVIDER_ERROR):
        return TransientFailure(message, provider=PROVIDER, kind=kind, http_status=status)
    return NotificationFailed(message, provider=PROVIDER, kind=kind, http_status=status)


# ---------------------------------------------------------------------------------------------
# Pushed reports (HTTP batch push: a JSON array per POST)
# ---------------------------------------------------------------------------------------------


def _items(payload: Any) -> list[dict[str, Any]]:
    if not isinstance(payload, list) or not all(isinstance(i, dict) for i in payload):
        raise InvalidWebhook("expected a JSON array of objects")
    return payload


def _text(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    if value is None or str(value).strip() == "":
        raise InvalidWebhook(f"missing {key}")
    return str(value)


def parse_sms_up(payload: Any) -> list[InboundSms]:
    """Replies (`SmsUp`): each one's number, text and the answer it carries."""
    out = []
    for item in _items(payload):
        content = str(item.get("content", ""))
        reply, code = split_reply(content)
        out.append(
            InboundSms(
                message_sid=f"up-{_text(item, 'sequence_id')}",
                from_number=international(_text(item, "phone_number")),
                to_number=str(item.get("dest_code") or "") or None,
                body=content,
                reply=reply,
                code=code,
            )
        )
    return out


def parse_sms_report(payload: Any) -> list[SmsStatus]:
    """Delivery receipts (`SmsReport`): delivered or not, per message id (`biz_id`)."""
    out = []
    for item in _items(payload):
        success = item.get("success") in (True, "true", "True", 1, "1")
        out.append(
            SmsStatus(
                message_sid=_text(item, "biz_id"),
                status="delivered" if success else "undelivered",
                error_code=None,
                to=international(str(item.get("phone_number", ""))) or None,
            )
        )
    return out


def parse_voice_report(payload: Any) -> list[GatherResult | CallStatus]:
    """Call reports (`VoiceReport`): the key pressed, if any, then how the call ended."""
    out: list[GatherResult | CallStatus] = []
    for item in _items(payload):
        call_id = _text(item, "call_id")
        digits = str(item.get("dtmf") or "")[:1]
        if digits:
            out.append(GatherResult(call_sid=call_id, digits=digits, reply=parse_digits(digits)))
        status = _CALL_STATUS.get(str(item.get("status_code", "")), "failed")
        out.append(
            CallStatus(
                call_sid=call_id,
                status=status,
                answered_by=AnsweredBy.HUMAN if digits else AnsweredBy.UNKNOWN,
                raw_answered_by=None,
                duration_seconds=_int(item.get("duration")),
                sequence_number=None,
                error_code=None,
                to=international(str(item.get("callee", ""))) if item.get("callee") else None,
            )
        )
    return out
