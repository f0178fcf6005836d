"""A loopback fake of Alibaba Cloud's SMS (dysmsapi) and voice (dyvmsapi) HTTP APIs.

Tests, the demo and benchmarks point the official SDKs at it (the endpoint settings) so nothing
reaches the internet. It listens on 127.0.0.1 only, checks every request's ACS3-HMAC-SHA256
signature against its one access key, keeps what was sent in memory, and builds the payloads
Alibaba Cloud's HTTP batch push would POST (replies, receipts, call reports with the key
pressed), which `push` delivers to the app's push URL.

Actions: `SendSms` (registered templates only, with their variables), `QuerySendDetails`,
`IvrCall`. Anything else answers `InvalidAction.NotFound`. The application never uses this module.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import requests

from notify.aliyun_adapter import AliyunNotifier
from notify.voice import CHINA_TIME

__all__ = [
    "FAKE_ACCESS_KEY_ID",
    "FAKE_ACCESS_KEY_SECRET",
    "FAKE_SIGN_NAME",
    "FAKE_SMS_TEMPLATES",
    "FAKE_VOICE_TEMPLATES",
    "FakeAliyunApi",
    "SentCall",
    "SentSms",
    "aliyun_notifier_for",
]

FAKE_ACCESS_KEY_ID = "LTAIfakeAccessKey28"
FAKE_ACCESS_KEY_SECRET = "fake-access-key-secret-not-a-real-one"
FAKE_SIGN_NAME = "广东省评标专家库"
#: Template codes the fake has "registered", with the variables each declares.
FAKE_SMS_TEMPLATES: dict[str, str] = {
    "invitation": "SMS_900001",
    "confirmation": "SMS_900002",
    "release": "SMS_900003",
    "called_off": "SMS_900004",
    "postponement": "SMS_900005",
    "check_in_code": "SMS_900006",
    "help": "SMS_900007",
    "which_invitation": "SMS_900008",
    "account_code": "SMS_900009",
    "term_reminder": "SMS_900010",
    "training_reminder": "SMS_900011",
}
FAKE_VOICE_TEMPLATES: dict[str, str] = {
    "invitation": "TTS_800001",
    "accepted": "TTS_800002",
    "declined": "TTS_800003",
}
_TEMPLATE_VARIABLES: dict[str, frozenset[str]] = {
    "SMS_900001": frozenset({"name", "time", "venue", "reply_code", "deadline"}),
    "SMS_900002": frozenset({"name", "time", "venue", "contact"}),
    "SMS_900003": frozenset({"name", "time", "venue", "contact"}),
    "SMS_900004": frozenset({"name", "time", "venue", "contact"}),
    "SMS_900005": frozenset({"name", "time", "venue", "contact"}),
    "SMS_900006": frozenset({"code", "time", "venue"}),
    "SMS_900007": frozenset(),
    "SMS_900008": frozenset({"codes", "code_unknown"}),
    "SMS_900009": frozenset({"code", "username", "minutes"}),
    "SMS_900010": frozenset({"term_ends_on"}),
    "SMS_900011": frozenset({"year", "hours", "required"}),
    "TTS_800001": frozenset({"name", "time", "venue"}),
    "TTS_800002": frozenset({"name", "time", "venue"}),
    "TTS_800003": frozenset({"name", "time", "venue"}),
}


@dataclass
class SentSms:
    """One SMS the fake accepted."""

    biz_id: str
    phone: str
    sign_name: str
    template_code: str
    params: dict[str, str]
    sent_at: datetime
    status: int = 3  # QuerySendDetails' SendStatus: 1 waiting, 2 failed, 3 delivered


@dataclass
class SentCall:
    """One IVR call the fake accepted."""

    call_id: str
    phone: str
    start_code: str
    params: dict[str, str]
    menu: dict[str, str] = field(default_factory=dict)  # key -> template code


def _day(at: datetime) -> str:
    return f"{at.astimezone(CHINA_TIME):%Y%m%d}"


def _stamp(at: datetime) -> str:
    return f"{at.astimezone(CHINA_TIME):%Y-%m-%d %H:%M:%S}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    api: FakeAliyunApi


def _percent(value: str) -> str:
    return quote(value, safe="-_.~")


def _expected_signature(
    secret: str, method: str, path: str, query: list[tuple[str, str]], headers: Mapping[str, str]
) -> tuple[str, str]:
    """ACS3-HMAC-SHA256 as the SDK computes it; returns (signed headers, signature)."""
    auth = headers.get("authorization", "")
    signed = auth.split("SignedHeaders=", 1)[1].split(",", 1)[0] if "SignedHeaders=" in auth else ""
    names = [n for n in signed.split(";") if n]
    canonical_query = "&".join(
        f"{_percent(k)}={_percent(v)}" for k, v in sorted(query, key=lambda kv: kv[0])
    )
    canonical_headers = "".join(f"{n}:{headers.get(n, '').strip()}\n" for n in names)
    payload_hash = headers.get("x-acs-content-sha256", "")
    canonical = "\n".join([method, path, canonical_query, canonical_headers, signed, payload_hash])
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
    return signed, hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


class FakeAliyunApi:
    """The fake on a free loopback port; use as a context manager or `start()` / `stop()`."""

    def __init__(
        self,
        *,
        access_key_id: str = FAKE_ACCESS_KEY_ID,
        access_key_secret: str = FAKE_ACCESS_KEY_SECRET,
        clock: Any = None,
    ) -> None:
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.clock = clock or (lambda: datetime.now(CHINA_TIME))
        self.sms: list[SentSms] = []
        self.calls: list[SentCall] = []
        self.actions: list[str] = []
        self.refused: list[str] = []  # error codes answered (bad signature, template...)
        self._fail_next: list[tuple[int, str]] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeAliyunApi:
        """Listen on 127.0.0.1 at a free port."""
        server = _Server(("127.0.0.1", 0), _handler)
        server.api = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeAliyunApi:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        """`http://127.0.0.1:<port>`, for both endpoint settings."""
        if self._server is None:
            raise RuntimeError("the fake is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- test controls ----------------------------------------------------------------------------

    def fail_next(self, status: int, code: str) -> None:
        """Answer the next request with this HTTP status and error code."""
        with self._lock:
            self._fail_next.append((status, code))

    def sms_to(self, phone: str) -> list[SentSms]:
        """The SMS sent to a number (either form)."""
        p = phone.removeprefix("+86")
        return [s for s in self.sms if s.phone == p]

    def calls_to(self, phone: str) -> list[SentCall]:
        """The calls placed to a number (either form)."""
        p = phone.removeprefix("+86")
        return [c for c in self.calls if c.phone == p]

    # -- what Alibaba Cloud's HTTP batch push would POST -----------------------------------------

    def sms_up(self, phone: str, content: str) -> list[dict[str, Any]]:
        """A reply (`SmsUp`) from a number."""
        return [
            {
                "phone_number": phone.removeprefix("+86"),
                "send_time": f"{self.clock():%Y-%m-%d %H:%M:%S}",
                "content": content,
                "sign_name": FAKE_SIGN_NAME,
                "dest_code": "1234",
                "sequence_id": next(self._ids),
            }
        ]

    def sms_report(self, sms: SentSms, *, success: bool = True) -> list[dict[str, Any]]:
        """A delivery receipt (`SmsReport`) of one SMS."""
        return [
            {
                "phone_number": sms.phone,
                "success": success,
                "biz_id": sms.biz_id,
                "err_code": "DELIVERED" if success else "MK:0001",
                "report_time": f"{self.clock():%Y-%m-%d %H:%M:%S}",
            }
        ]

    def voice_report(
        self, call: SentCall, *, dtmf: str = "", status_code: str = "200000"
    ) -> list[dict[str, Any]]:
        """A call report (`VoiceReport`): the key pressed and how the call ended."""
        return [
            {
                "call_id": call.call_id,
                "callee": call.phone,
                "status_code": status_code,
                "status_msg": "ok" if status_code == "200000" else "not answered",
                "dtmf": dtmf,
                "duration": 25 if status_code == "200000" else 0,
                "start_time": f"{self.clock():%Y-%m-%d %H:%M:%S}",
            }
        ]

    @staticmethod
    def push(url: str, payload: Iterable[Mapping[str, Any]]) -> int:
        """POST a push payload to the app (a live server); returns the HTTP status."""
        answer = requests.post(url, json=list(payload), timeout=10)
        return answer.status_code

    # -- serving ---------------------------------------------------------------------------------

    def _answer(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        parts = urlsplit(target)
        query = parse_qsl(parts.query, keep_blank_values=True)
        if body:
            query += parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        action = headers.get("x-acs-action", "")
        with self._lock:
            self.actions.append(action)
            if self._fail_next:
                status, code = self._fail_next.pop(0)
                self.refused.append(code)
                return status, {"Code": code, "Message": code, "RequestId": "fake"}
        auth = headers.get("authorization", "")
        _signed, expected = _expected_signature(
            self.access_key_secret, method, parts.path or "/", query, headers
        )
        if f"Credential={self.access_key_id}," not in auth or not hmac.compare_digest(
            auth.rsplit("Signature=", 1)[-1], expected
        ):
            self.refused.append("SignatureDoesNotMatch")
            return 403, {"Code": "SignatureDoesNotMatch", "Message": "bad signature"}
        params = dict(query)
        if action == "SendSms":
            return self._send_sms(params)
        if action == "QuerySendDetails":
            return self._query(params)
        if action == "IvrCall":
            return self._ivr_call(params)
        return 404, {"Code": "InvalidAction.NotFound", "Message": action}

    def _template_params(self, code: str, raw: str) -> dict[str, str] | None:
        try:
            params = json.loads(raw or "{}")
        except ValueError:
            return None
        if not isinstance(params, dict) or not set(params) <= _TEMPLATE_VARIABLES[code]:
            return None
        return {str(k): str(v) for k, v in params.items()}

    def _send_sms(self, p: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        phone, code = p.get("PhoneNumbers", ""), p.get("TemplateCode", "")
        if not (len(phone) == 11 and phone.isdigit() and phone.startswith("1")):
            return 200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "invalid number"}
        if p.get("SignName") != FAKE_SIGN_NAME:
            return 200, {"Code": "isv.SMS_SIGNATURE_ILLEGAL", "Message": "unknown signature"}
        if code not in _TEMPLATE_VARIABLES or not code.startswith("SMS_"):
            return 200, {"Code": "isv.SMS_TEMPLATE_ILLEGAL", "Message": "unknown template"}
        params = self._template_params(code, p.get("TemplateParam", ""))
        if params is None:
            return 200, {"Code": "isv.TEMPLATE_PARAMS_ILLEGAL", "Message": "variables"}
        with self._lock:
            biz_id = f"{next(self._ids):06d}^0"
            self.sms.append(SentSms(biz_id, phone, p["SignName"], code, params, self.clock()))
        return 200, {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": "fake"}

    def _query(self, p: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        phone, day = p.get("PhoneNumber", ""), p.get("SendDate", "")
        found = [
            s
            for s in self.sms
            if s.phone == phone and f"{s.sent_at.astimezone(CHINA_TIME):%Y%m%d}" == day
        ]
        dtos = [
            {
                "PhoneNum": s.phone,
                "SendStatus": s.status,
                "ErrCode": "DELIVERED",
                "TemplateCode": s.template_code,
                "Content": json.dumps(s.params, ensure_ascii=False),
                "SendDate": _stamp(s.sent_at),
                "ReceiveDate": _stamp(s.sent_at + timedelta(seconds=2)),
                "OutId": s.biz_id,
            }
            for s in found
        ]
        return 200, {
            "Code": "OK",
            "Message": "OK",
            "TotalCount": len(dtos),
            "SmsSendDetailDTOs": {"SmsSendDetailDTO": dtos},
            "RequestId": "fake",
        }

    def _ivr_call(self, p: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        phone, code = p.get("CalledNumber", ""), p.get("StartCode", "")
        if not (len(phone) == 11 and phone.isdigit()):
            return 200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "invalid number"}
        if code not in _TEMPLATE_VARIABLES or not code.startswith("TTS_"):
            return 200, {"Code": "isv.TTS_TEMPLATE_ILLEGAL", "Message": "unknown template"}
        params = self._template_params(code, p.get("StartTtsParams", ""))
        if params is None:
            return 200, {"Code": "isv.TEMPLATE_PARAMS_ILLEGAL", "Message": "variables"}
        menu: dict[str, str] = {}
        for index in itertools.count(1):
            key = p.get(f"MenuKeyMap.{index}.Key")
            if key is None:
                break
            menu[key] = p.get(f"MenuKeyMap.{index}.Code", "")
        with self._lock:
            call_id = f"{next(self._ids)}^10{next(self._ids):04d}"
            self.calls.append(SentCall(call_id, phone, code, params, menu))
        return 200, {"Code": "OK", "Message": "OK", "CallId": call_id, "RequestId": "fake"}


class _handler(BaseHTTPRequestHandler):
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, answer = self.server.api._answer(self.command, self.path, headers, body)
        data = json.dumps(answer, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_POST = _serve
    do_GET = _serve

    def log_message(self, format: str, *args: Any) -> None:
        return


def aliyun_notifier_for(api: FakeAliyunApi, *, timeout_seconds: float = 2.0) -> AliyunNotifier:
    """An `AliyunNotifier` whose SDK clients talk to the fake."""
    return AliyunNotifier(
        access_key_id=api.access_key_id,
        access_key_secret=api.access_key_secret,
        sign_name=FAKE_SIGN_NAME,
        sms_templates=FAKE_SMS_TEMPLATES,
        voice_templates=FAKE_VOICE_TEMPLATES,
        called_show_number="02000000000",
        sms_endpoint=api.endpoint,
        voice_endpoint=api.endpoint,
        timeout_seconds=timeout_seconds,
    )
