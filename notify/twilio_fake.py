"""A loopback fake of Twilio's REST API (Messages and Calls), plus signed-webhook helpers.

`FakeTwilioApi` is a small threaded HTTP server on 127.0.0.1 that answers the real `twilio`
client (pointed at it through `TwilioNotifier(api_base_url=...)`) with Twilio-shaped resources
and errors. It records every request and can be scripted to fail: a 429 with Retry-After, a 5xx,
an error code for one number, or a hang longer than the client's timeout after the message or
call was really created (so reconciliation has something to find).

Use it as a context manager; the tests also have it as the pytest fixture `fake_twilio_api`
(tests/fakes/twilio_api.py). It is never used by the application: tests, benchmarks and local
trials point a real `TwilioNotifier` at it (`twilio_notifier_for`).
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import secrets
import threading
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from twilio.request_validator import RequestValidator

from notify.twilio_adapter import TwilioNotifier

__all__ = [
    "FAKE_ACCOUNT_SID",
    "FAKE_AUTH_TOKEN",
    "FAKE_FROM_NUMBER",
    "CallScript",
    "FakeTwilioApi",
    "RecordedRequest",
    "WebhookTransport",
    "client_transport",
    "http_transport",
    "post_signed_webhook",
    "sign_webhook",
    "twilio_notifier_for",
]

FAKE_ACCOUNT_SID = "AC" + "f" * 32
FAKE_AUTH_TOKEN = "fake-auth-token-" + "0" * 16
FAKE_FROM_NUMBER = "+15005550006"
API_VERSION = "2010-04-01"

_PATH = re.compile(
    r"^/2010-04-01/Accounts/(?P<account>[^/]+)/(?P<resource>Messages|Calls)"
    r"(?:/(?P<sid>[^/]+))?\.json$"
)
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_ERROR_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    21205: "Url parameter is required.",
    21211: "The 'To' number is not a valid phone number.",
    21408: (
        "Permission to send an SMS has not been enabled for the region indicated by the 'To' "
        "number."
    ),
    21602: "Message body is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
}


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request the fake received."""

    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    is_authorised: bool
    received_at: datetime

    def value(self, key: str) -> str | None:
        """The first form value of `key`, if any."""
        values = self.form.get(key)
        return values[0] if values else None


#: Sends one signed form POST to the app: (url, params) -> (HTTP status, response body).
WebhookTransport = Callable[[str, Mapping[str, str]], tuple[int, str]]


@dataclass(frozen=True)
class CallScript:
    """How one call attempt goes: who answers, which keys are pressed, how it ends.

    Shortcuts accepted wherever a script is expected: "accept" (press 1), "decline" (2),
    "repeat" (3 then 1), "invalid" (9 then 1), "silence" (a person answers, presses nothing),
    "machine" (voicemail), "no-answer", "busy", "failed".
    """

    answered_by: str | None = "human"  # None: nobody picks up
    digits: tuple[str, ...] = ()
    unanswered_status: str = "no-answer"  # final status when nobody picks up

    @classmethod
    def named(cls, name: str) -> CallScript:
        """The script for one of the shortcut names."""
        shortcuts = {
            "accept": cls(digits=("1",)),
            "decline": cls(digits=("2",)),
            "repeat": cls(digits=("3", "1")),
            "invalid": cls(digits=("9", "1")),
            "silence": cls(),
            "machine": cls(answered_by="machine_start"),
            "no-answer": cls(answered_by=None),
            "busy": cls(answered_by=None, unanswered_status="busy"),
            "failed": cls(answered_by=None, unanswered_status="failed"),
        }
        return shortcuts[name]


def http_transport(
    auth_token: str = FAKE_AUTH_TOKEN,
    *,
    public_base_url: str | None = None,
    internal_base_url: str | None = None,
) -> WebhookTransport:
    """POST signed callbacks over loopback HTTP to a live server.

    With a proxy in front of the app, callbacks are signed for `public_base_url` (the URL given
    to Twilio) but sent to `internal_base_url` (where the test server listens).
    """

    def send(url: str, params: Mapping[str, str]) -> tuple[int, str]:
        target = url
        if public_base_url and internal_base_url and url.startswith(public_base_url):
            target = internal_base_url.rstrip("/") + url[len(public_base_url.rstrip("/")) :]
        return post_signed_webhook(target, params, auth_token=auth_token, signed_url=url)

    return send


def client_transport(client: Any, auth_token: str = FAKE_AUTH_TOKEN) -> WebhookTransport:
    """POST signed callbacks through a Flask test client (any object with `.post`)."""

    def send(url: str, params: Mapping[str, str]) -> tuple[int, str]:
        split = urlsplit(url)
        path = split.path + (f"?{split.query}" if split.query else "")
        response = client.post(
            path,
            data=dict(params),
            base_url=f"{split.scheme}://{split.netloc}",
            headers={"X-Twilio-Signature": sign_webhook(auth_token, url, params)},
        )
        return int(response.status_code), response.get_data(as_text=True)

    return send


@dataclass
class _Fault:
    method: str
    resource: str | None
    status: int = 500
    code: int | None = None
    message: str = "Internal Server Error"
    retry_after: str | None = None
    hang_seconds: float = 0.0
    is_created_anyway: bool = False

    def matches(self, method: str, resource: str) -> bool:
        return self.method == method and self.resource in (None, resource)


@dataclass
class _State:
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    faults: list[_Fault] = field(default_factory=list)
    number_errors: dict[str, int] = field(default_factory=dict)
    call_scripts: dict[str, list[CallScript]] = field(default_factory=dict)
    played_calls: set[str] = field(default_factory=set)
    reported_messages: set[str] = field(default_factory=set)


class _Server(ThreadingHTTPServer):
    # The default backlog of 5 drops connections when several workers send at once.
    request_queue_size = 128
    daemon_threads = True


def _rfc2822(at: datetime) -> str:
    return format_datetime(at.astimezone(UTC), usegmt=True)


class FakeTwilioApi:
    """A threaded loopback server answering `Messages.json` and `Calls.json` like Twilio."""

    def __init__(
        self,
        *,
        account_sid: str = FAKE_ACCOUNT_SID,
        auth_token: str = FAKE_AUTH_TOKEN,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._clock = clock
        self._lock = threading.Lock()
        self._state = _State()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> FakeTwilioApi:
        """Listen on 127.0.0.1 at a free port and serve in a background thread."""
        server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-twilio",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port (hanging handlers are woken up)."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeTwilioApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`, to pass as `api_base_url`."""
        if self._server is None:
            raise RuntimeError("the fake is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- scripting --------------------------------------------------------------------------

    def fail_next(
        self,
        *,
        resource: str | None = None,
        method: str = "POST",
        status: int = 500,
        code: int | None = None,
        message: str | None = None,
        retry_after: str | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` matching requests with an error (and create nothing).

        `resource` is "Messages" or "Calls" (None: either). Typical uses: a 429 with
        `code=20429, retry_after="2"`, a 503, or `status=400, code=21211`.
        """
        text = message or _ERROR_MESSAGES.get(code or 0, "Error")
        with self._lock:
            for _ in range(times):
                self._state.faults.append(_Fault(method, resource, status, code, text, retry_after))

    def hang_next(
        self,
        *,
        seconds: float,
        resource: str | None = None,
        method: str = "POST",
        is_created_anyway: bool = True,
    ) -> None:
        """Make the next matching request wait `seconds` before answering.

        With `is_created_anyway` the message or call is created first, as happens when Twilio
        accepted the request but the answer never reached the client.
        """
        with self._lock:
            self._state.faults.append(
                _Fault(
                    method,
                    resource,
                    status=201,
                    hang_seconds=seconds,
                    is_created_anyway=is_created_anyway,
                )
            )

    def reject_number(self, number: str, code: int = 21211) -> None:
        """Refuse every message and call to `number` with `code` (21211, 21610, 21614...)."""
        with self._lock:
            self._state.number_errors[number] = code

    def set_message_status(self, sid: str, status: str, *, error_code: int | None = None) -> None:
        """Change a message's status as the carrier would."""
        with self._lock:
            message = self._state.messages[sid]
            message.update(status=status, date_updated=_rfc2822(self._clock()))
            if error_code is not None:
                message.update(
                    error_code=error_code, error_message=_ERROR_MESSAGES.get(error_code, "Error")
                )

    def set_call_status(
        self,
        sid: str,
        status: str,
        *,
        answered_by: str | None = None,
        duration_seconds: int | None = None,
    ) -> None:
        """Change a call's status (and who answered) as the network would."""
        with self._lock:
            call = self._state.calls[sid]
            call.update(status=status, date_updated=_rfc2822(self._clock()))
            if answered_by is not None:
                call["answered_by"] = answered_by
            if duration_seconds is not None:
                call["duration"] = str(duration_seconds)

    # -- driving callbacks ------------------------------------------------------------------

    def script_calls(self, number: str, *outcomes: str | CallScript) -> None:
        """Queue how the next calls to `number` go, one outcome per call (then "no-answer")."""
        with self._lock:
            self._state.call_scripts.setdefault(number, []).extend(
                o if isinstance(o, CallScript) else CallScript.named(o) for o in outcomes
            )

    def play_calls(self, transport: WebhookTransport) -> list[str]:
        """Play every call not yet played, following its number's script; returns their SIDs.

        Like Twilio: status callbacks (initiated, ringing, answered, completed), the TwiML
        request with `AnsweredBy`, `Gather` actions with the scripted `Digits`, `Redirect`s.
        """
        with self._lock:
            pending = [sid for sid in self._state.calls if sid not in self._state.played_calls]
            self._state.played_calls.update(pending)
        for sid in pending:
            self._play_call(sid, transport)
        return pending

    def report_messages(
        self,
        transport: WebhookTransport,
        *,
        status: str = "delivered",
        error_code: int | None = None,
    ) -> list[str]:
        """Send "sent" then `status` callbacks for every message not yet reported."""
        with self._lock:
            pending = [
                sid for sid in self._state.messages if sid not in self._state.reported_messages
            ]
            self._state.reported_messages.update(pending)
        for sid in pending:
            for step in ("sent", status):
                self.set_message_status(
                    sid, step, error_code=error_code if step == status else None
                )
                message = self.messages[sid]
                if message.get("status_callback"):
                    params = {
                        "AccountSid": self.account_sid,
                        "ApiVersion": API_VERSION,
                        "MessageSid": sid,
                        "SmsSid": sid,
                        "MessageStatus": step,
                        "SmsStatus": step,
                        "To": message["to"],
                        "From": message["from"] or "",
                    }
                    if step == status and error_code is not None:
                        params["ErrorCode"] = str(error_code)
                    transport(message["status_callback"], params)
        return pending

    def send_inbound_sms(
        self,
        transport: WebhookTransport,
        url: str,
        *,
        from_number: str,
        body: str,
        to_number: str = FAKE_FROM_NUMBER,
    ) -> str:
        """A person texts `body` to our number: POST it to the app's inbound-SMS `url`."""
        sid = "SM" + secrets.token_hex(16)
        transport(
            url,
            {
                "AccountSid": self.account_sid,
                "ApiVersion": API_VERSION,
                "MessageSid": sid,
                "SmsSid": sid,
                "SmsMessageSid": sid,
                "From": from_number,
                "To": to_number,
                "Body": body,
                "NumMedia": "0",
                "NumSegments": "1",
            },
        )
        return sid

    def _next_script(self, number: str) -> CallScript:
        with self._lock:
            queue = self._state.call_scripts.get(number)
            return queue.pop(0) if queue else CallScript.named("no-answer")

    def _play_call(self, sid: str, transport: WebhookTransport) -> None:
        call = self.calls[sid]
        script = self._next_script(call["to"])
        events = set(call["status_callback_event"] or ["completed"])
        sequence = iter(range(1000))

        def status_callback(status: str, extra: Mapping[str, str] | None = None) -> None:
            self.set_call_status(sid, status)
            event = {"in-progress": "answered"}.get(status, status)
            if status in {"completed", "busy", "no-answer", "failed", "canceled"}:
                event = "completed"
            if call["status_callback"] and event in events:
                params = {
                    **self._call_params(sid, status),
                    "SequenceNumber": str(next(sequence)),
                    "CallbackSource": "call-progress-events",
                    **(extra or {}),
                }
                transport(call["status_callback"], params)

        status_callback("initiated")
        status_callback("ringing")
        if script.answered_by is None:
            status_callback(script.unanswered_status)
            return
        self.set_call_status(sid, "in-progress", answered_by=script.answered_by)
        status_callback("in-progress", {"AnsweredBy": script.answered_by})
        digits = list(script.digits)
        if call["url"]:
            twiml = self._fetch_twiml(transport, call["url"], sid, script.answered_by)
        else:
            twiml = call["twiml"] or "<Response/>"
        for _ in range(20):  # a guard against a TwiML loop
            next_url = self._run_twiml(twiml, digits)
            if next_url is None:
                break
            url, extra = next_url
            twiml = self._fetch_twiml(transport, url, sid, script.answered_by, extra)
        status_callback("completed", {"AnsweredBy": script.answered_by, "CallDuration": "30"})

    def _call_params(self, sid: str, status: str) -> dict[str, str]:
        call = self.calls[sid]
        return {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": sid,
            "CallStatus": status,
            "Direction": "outbound-api",
            "To": call["to"],
            "From": call["from"] or "",
            "Called": call["to"],
            "Caller": call["from"] or "",
        }

    def _fetch_twiml(
        self,
        transport: WebhookTransport,
        url: str,
        sid: str,
        answered_by: str | None,
        extra: Mapping[str, str] | None = None,
    ) -> str:
        params = {**self._call_params(sid, "in-progress"), **(extra or {})}
        if answered_by:
            params["AnsweredBy"] = answered_by
        status, body = transport(url, params)
        return body if 200 <= status < 300 else "<Response><Hangup/></Response>"

    @staticmethod
    def _run_twiml(twiml: str, digits: list[str]) -> tuple[str, dict[str, str]] | None:
        """Walk a TwiML document: the next URL to request (and its extra params), or None."""
        try:
            root = ET.fromstring(twiml.encode("utf-8"))
        except ET.ParseError:
            return None
        for verb in root:
            if verb.tag == "Gather" and digits:
                return verb.get("action") or "", {"Digits": digits.pop(0)}
            if verb.tag == "Redirect":
                return (verb.text or "").strip(), {}
            if verb.tag in {"Hangup", "Reject"}:
                return None
        return None

    # -- inspection -------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in arrival order."""
        with self._lock:
            return list(self._state.requests)

    @property
    def messages(self) -> dict[str, dict[str, Any]]:
        """Message resources by SID (copies)."""
        with self._lock:
            return {sid: dict(m) for sid, m in self._state.messages.items()}

    @property
    def calls(self) -> dict[str, dict[str, Any]]:
        """Call resources by SID (copies)."""
        with self._lock:
            return {sid: dict(c) for sid, c in self._state.calls.items()}

    def created(self, resource: str) -> list[RecordedRequest]:
        """The authorised POSTs that created a message ("Messages") or call ("Calls")."""
        suffix = f"/{resource}.json"
        return [r for r in self.requests if r.method == "POST" and r.path.endswith(suffix)]

    # -- request handling (called from server threads) --------------------------------------

    def _handle(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], dict[str, Any], float]:
        """Return status, extra headers, JSON body, and seconds to hang before answering."""
        split = urlsplit(raw_path)
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True) if body else {}
        is_authorised = self._is_authorised(headers.get("Authorization"))
        with self._lock:
            self._state.requests.append(
                RecordedRequest(
                    method=method,
                    path=split.path,
                    query=parse_qs(split.query, keep_blank_values=True),
                    form=form,
                    is_authorised=is_authorised,
                    received_at=self._clock(),
                )
            )
        if not is_authorised:
            return _error(401, 20003)
        match = _PATH.match(split.path)
        if match is None or match["account"] != self.account_sid:
            return _error(404, 20404)
        resource, sid = match["resource"], match["sid"]
        fault = self._take_fault(method, resource)
        if fault is not None and not fault.hang_seconds:
            return _error(fault.status, fault.code, fault.message, fault.retry_after)
        with self._lock:
            status, extra, payload = self._dispatch(
                method, resource, sid, form, parse_qs(split.query)
            )
        hang = fault.hang_seconds if fault is not None else 0.0
        if fault is not None and not fault.is_created_anyway:
            # A hang before anything was created: the request was never carried out.
            with self._lock:
                self._forget(resource, payload.get("sid"))
        return status, extra, payload, hang

    def _forget(self, resource: str, sid: object) -> None:
        table = self._state.messages if resource == "Messages" else self._state.calls
        if isinstance(sid, str):
            table.pop(sid, None)

    def _is_authorised(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header[6:]).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return False
        expected = f"{self.account_sid}:{self.auth_token}"
        return hmac.compare_digest(decoded.encode(), expected.encode())

    def _take_fault(self, method: str, resource: str) -> _Fault | None:
        with self._lock:
            for i, fault in enumerate(self._state.faults):
                if fault.matches(method, resource):
                    return self._state.faults.pop(i)
        return None

    def _dispatch(
        self,
        method: str,
        resource: str,
        sid: str | None,
        form: dict[str, list[str]],
        query: dict[str, list[str]],
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        table = self._state.messages if resource == "Messages" else self._state.calls
        if sid is None and method == "POST":
            return self._create(resource, form)
        if sid is None and method == "GET":
            return self._list(resource, table, query)
        if sid is None or sid not in table:
            return _error(404, 20404)[:3]
        if method == "GET":
            return 200, {}, dict(table[sid])
        if method == "POST" and resource == "Calls":
            status = _first(form, "Status")
            call = table[sid]
            if status in {"canceled", "completed"} and call["status"] not in {
                "completed",
                "busy",
                "no-answer",
                "failed",
                "canceled",
            }:
                call.update(status=status, date_updated=_rfc2822(self._clock()))
            return 200, {}, dict(call)
        return _error(405, None, "Method not allowed")[:3]

    def _create(
        self, resource: str, form: dict[str, list[str]]
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        to = _first(form, "To")
        if not to:
            return _error(400, 21604)[:3]
        if not _E164.match(to):
            return _error(400, 21211)[:3]
        if to in self._state.number_errors:
            return _error(400, self._state.number_errors[to])[:3]
        now = _rfc2822(self._clock())
        sender = _first(form, "From")
        if resource == "Messages":
            body = _first(form, "Body")
            if not body:
                return _error(400, 21602)[:3]
            sid = "SM" + secrets.token_hex(16)
            resource_json: dict[str, Any] = {
                "sid": sid,
                "account_sid": self.account_sid,
                "api_version": API_VERSION,
                "to": to,
                "from": sender,
                "body": body,
                "status": "queued",
                "direction": "outbound-api",
                "num_segments": "1",
                "num_media": "0",
                "date_created": now,
                "date_updated": now,
                "date_sent": None,
                "error_code": None,
                "error_message": None,
                "price": None,
                "price_unit": "USD",
                "messaging_service_sid": _first(form, "MessagingServiceSid"),
                "status_callback": _first(form, "StatusCallback"),
                "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}.json",
                "subresource_uris": {},
            }
            self._state.messages[sid] = resource_json
        else:
            if not (_first(form, "Url") or _first(form, "Twiml") or _first(form, "ApplicationSid")):
                return _error(400, 21205)[:3]
            sid = "CA" + secrets.token_hex(16)
            resource_json = {
                "sid": sid,
                "account_sid": self.account_sid,
                "api_version": API_VERSION,
                "to": to,
                "to_formatted": to,
                "from": sender,
                "from_formatted": sender,
                "status": "queued",
                "direction": "outbound-api",
                "answered_by": None,
                "duration": None,
                "start_time": None,
                "end_time": None,
                "date_created": now,
                "date_updated": now,
                "price": None,
                "price_unit": "USD",
                "parent_call_sid": None,
                "caller_name": None,
                "forwarded_from": None,
                "group_sid": None,
                "phone_number_sid": None,
                "queue_time": "0",
                "trunk_sid": None,
                "annotation": None,
                "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{sid}.json",
                "subresource_uris": {},
                # Not part of Twilio's resource; kept so tests can drive the callbacks.
                "url": _first(form, "Url"),
                "twiml": _first(form, "Twiml"),
                "status_callback": _first(form, "StatusCallback"),
                "status_callback_event": form.get("StatusCallbackEvent", []),
                "machine_detection": _first(form, "MachineDetection"),
                "timeout": _first(form, "Timeout"),
            }
            self._state.calls[sid] = resource_json
        return 201, {}, dict(resource_json)

    def _list(
        self, resource: str, table: dict[str, dict[str, Any]], query: dict[str, list[str]]
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        to = _first(query, "To")
        items = [dict(r) for r in table.values() if to is None or r["to"] == to]
        items.reverse()  # newest first, as Twilio lists them
        size = int(_first(query, "PageSize") or 50)
        key = resource.lower()
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/{resource}.json"
        return (
            200,
            {},
            {
                key: items[:size],
                "end": max(0, min(size, len(items)) - 1),
                "first_page_uri": uri,
                "next_page_uri": None,
                "page": 0,
                "page_size": size,
                "previous_page_uri": None,
                "start": 0,
                "uri": uri,
            },
        )

    def _wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)


def _first(form: Mapping[str, list[str]], key: str) -> str | None:
    values = form.get(key)
    return values[0] if values else None


def _error(
    status: int, code: int | None, message: str | None = None, retry_after: str | None = None
) -> tuple[int, dict[str, str], dict[str, Any], float]:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    payload: dict[str, Any] = {
        "code": code,
        "message": message or _ERROR_MESSAGES.get(code or 0, "Error"),
        "more_info": f"https://www.twilio.com/docs/errors/{code}" if code else None,
        "status": status,
    }
    return status, headers, payload, 0.0


def _handler_for(api: FakeTwilioApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body are two writes: without TCP_NODELAY, Nagle's algorithm and the client's
        # delayed ACK hold every answer back by about 40 ms.
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, extra, payload, hang = api._handle(
                self.command, self.path, dict(self.headers.items()), body
            )
            if hang:
                api._wait(hang)
            data = json.dumps(payload).encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a simulated timeout): nothing to answer

        do_GET = _serve  # names fixed by BaseHTTPRequestHandler
        do_POST = _serve
        do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Stay quiet: tests read `api.requests` instead."""

    return Handler


# ---------------------------------------------------------------------------------------------
# Signed webhooks
# ---------------------------------------------------------------------------------------------


def sign_webhook(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """The `X-Twilio-Signature` Twilio would send for a form POST of `params` to `url`."""
    return str(RequestValidator(auth_token).compute_signature(url, dict(params)))


def post_signed_webhook(
    url: str,
    params: Mapping[str, str],
    *,
    auth_token: str = FAKE_AUTH_TOKEN,
    signed_url: str | None = None,
    timeout_seconds: float = 5.0,
) -> tuple[int, str]:
    """POST a signed callback to a live loopback server; returns (status, body).

    `signed_url` is the public URL the signature covers when it differs from `url` (a proxy).
    """
    data = urlencode(dict(params)).encode("utf-8")
    request = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": sign_webhook(auth_token, signed_url or url, params),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_seconds) as response:
            return int(response.status), response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode("utf-8")


def twilio_notifier_for(api: FakeTwilioApi, *, timeout_seconds: float = 2.0) -> TwilioNotifier:
    """A real `TwilioNotifier` whose requests go to `api`."""
    return TwilioNotifier(
        account_sid=api.account_sid,
        auth_token=api.auth_token,
        from_number=FAKE_FROM_NUMBER,
        timeout_seconds=timeout_seconds,
        api_base_url=api.base_url,
    )
