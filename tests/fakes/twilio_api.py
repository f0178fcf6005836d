"""A loopback fake of Twilio's REST API (Messages and Calls), plus signed-webhook helpers.

`FakeTwilioApi` is a small threaded HTTP server on 127.0.0.1 that answers the real `twilio`
client (pointed at it through `TwilioNotifier(api_base_url=...)`) with Twilio-shaped resources
and errors. It records every request and can be scripted to fail: a 429 with Retry-After, a 5xx,
an error code for one number, or a hang longer than the client's timeout after the message or
call was really created (so reconciliation has something to find).

Use it as a pytest fixture (`fake_twilio_api`, defined below) or as a context manager.
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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from twilio.request_validator import RequestValidator

from notify.twilio_adapter import TwilioNotifier

__all__ = [
    "FAKE_ACCOUNT_SID",
    "FAKE_AUTH_TOKEN",
    "FAKE_FROM_NUMBER",
    "FakeTwilioApi",
    "RecordedRequest",
    "fake_twilio_api",
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
    21408: "Permission to send an SMS has not been enabled for the region indicated by the 'To' number.",
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
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-twilio", daemon=True
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
                self._state.faults.append(
                    _Fault(method, resource, status, code, text, retry_after)
                )

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
                "completed", "busy", "no-answer", "failed", "canceled",
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
                "sid": sid, "account_sid": self.account_sid, "api_version": API_VERSION,
                "to": to, "from": sender, "body": body, "status": "queued",
                "direction": "outbound-api", "num_segments": "1", "num_media": "0",
                "date_created": now, "date_updated": now, "date_sent": None,
                "error_code": None, "error_message": None, "price": None, "price_unit": "USD",
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
                "sid": sid, "account_sid": self.account_sid, "api_version": API_VERSION,
                "to": to, "to_formatted": to, "from": sender, "from_formatted": sender,
                "status": "queued", "direction": "outbound-api", "answered_by": None,
                "duration": None, "start_time": None, "end_time": None,
                "date_created": now, "date_updated": now, "price": None, "price_unit": "USD",
                "parent_call_sid": None, "caller_name": None, "forwarded_from": None,
                "group_sid": None, "phone_number_sid": None, "queue_time": "0",
                "trunk_sid": None, "annotation": None,
                "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{sid}.json",
                "subresource_uris": {},
                # Not part of Twilio's resource; kept so tests can drive the callbacks.
                "url": _first(form, "Url"), "twiml": _first(form, "Twiml"),
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
        return 200, {}, {
            key: items[:size], "end": max(0, min(size, len(items)) - 1), "first_page_uri": uri,
            "next_page_uri": None, "page": 0, "page_size": size, "previous_page_uri": None,
            "start": 0, "uri": uri,
        }

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


# ---------------------------------------------------------------------------------------------
# pytest glue
# ---------------------------------------------------------------------------------------------


def twilio_notifier_for(api: FakeTwilioApi, *, timeout_seconds: float = 2.0) -> TwilioNotifier:
    """A real `TwilioNotifier` whose requests go to `api`."""
    return TwilioNotifier(
        account_sid=api.account_sid,
        auth_token=api.auth_token,
        from_number=FAKE_FROM_NUMBER,
        timeout_seconds=timeout_seconds,
        api_base_url=api.base_url,
    )


@pytest.fixture
def fake_twilio_api() -> Iterator[FakeTwilioApi]:
    """A started `FakeTwilioApi`, stopped after the test."""
    with FakeTwilioApi() as api:
        yield api
