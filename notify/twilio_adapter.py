"""`TwilioNotifier`: the `Notifier` backed by the real `twilio` library.

Twilio's exceptions stop here and come out as `NotificationFailed`, `TransientFailure` or
`UnknownOutcome`. The HTTP client sets a timeout (the library's default has none), keeps one
connection pool per thread, and can point the client at a loopback fake of the REST API.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.rest import Client

from notify.backoff import parse_retry_after
from notify.base import (
    Channel,
    Delivery,
    FailureKind,
    NotificationFailed,
    TransientFailure,
    UnknownOutcome,
    classify_error_code,
    mask_phone,
)
from notify.messages import Message, render_text

__all__ = ["PROVIDER", "LoopbackHttpClient", "TwilioNotifier"]

PROVIDER = "twilio"
_logger = logging.getLogger(__name__)
_T = TypeVar("_T")

# The client falls back to os.environ when given an empty mapping; settings come only from the
# app's Config, so hand it a mapping that is non-empty yet holds none of the TWILIO_* names.
_NO_ENVIRONMENT = {"EXPERTPOOL_TWILIO_SETTINGS": "from-config"}
_CALL_EVENTS = ["initiated", "ringing", "answered", "completed"]


class LoopbackHttpClient(HttpClient):  # type: ignore[misc]  # twilio ships no type hints
    """A `twilio.http.HttpClient` with a timeout, per-thread sessions and an optional base URL.

    With `api_base_url` (e.g. `http://127.0.0.1:8765`) every request keeps its path and query
    but goes to that scheme and host: how tests and local trials reach a fake REST API.
    """

    def __init__(self, *, timeout_seconds: float = 10.0, api_base_url: str | None = None) -> None:
        super().__init__(_logger, False, timeout_seconds)
        self.api_base_url = api_base_url.rstrip("/") if api_base_url else None
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # no proxies or .netrc from the environment
            self._local.session = session
        return session

    def rewrite(self, url: str) -> str:
        """The URL actually requested: `url` with scheme and host replaced when configured."""
        if self.api_base_url is None:
            return url
        base = urlsplit(self.api_base_url)
        parts = urlsplit(url)
        path = base.path.rstrip("/") + parts.path
        return urlunsplit((base.scheme, base.netloc, path, parts.query, parts.fragment))

    @property
    def last_response(self) -> Response | None:
        """The last response received on the calling thread (for its Retry-After header)."""
        response: Response | None = getattr(self._local, "last_response", None)
        return response

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        """Send one request; requests' exceptions propagate for the adapter to classify."""
        self._local.last_response = None
        response = self._session().request(
            method.upper(),
            self.rewrite(url),
            params=params,  # type: ignore[arg-type]
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout if timeout is not None else self.timeout,
            allow_redirects=allow_redirects,
        )
        result = Response(int(response.status_code), response.text, response.headers)
        self._local.last_response = result
        return result


class TwilioNotifier:
    """Sends SMS and places calls through Twilio's REST API."""

    provider = PROVIDER

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str,
        timeout_seconds: float = 10.0,
        api_base_url: str | None = None,
        call_time_limit_seconds: int = 300,
    ) -> None:
        self._from_number = from_number
        self._call_time_limit_seconds = call_time_limit_seconds
        self._http = LoopbackHttpClient(timeout_seconds=timeout_seconds, api_base_url=api_base_url)
        self._client = Client(
            account_sid, auth_token, http_client=self._http, environment=_NO_ENVIRONMENT
        )

    def __repr__(self) -> str:
        """Never show the auth token."""
        return (
            f"TwilioNotifier(from={mask_phone(self._from_number)!r}, "
            f"api={self._http.api_base_url!r})"
        )

    # -- Notifier ---------------------------------------------------------------------------

    def send(self, to: str, message: Message, *, status_callback: str | None = None) -> Delivery:
        """Send a message as its text (`notify.messages.render_text`)."""
        return self.send_sms(to, render_text(message), status_callback=status_callback)

    def send_sms(self, to: str, body: str, *, status_callback: str | None = None) -> Delivery:
        """Send one SMS; the SID in the returned `Delivery` identifies it from now on."""
        kwargs: dict[str, Any] = {"to": to, "from_": self._from_number, "body": body}
        if status_callback:
            kwargs["status_callback"] = status_callback
        message = self._call(
            "send SMS", lambda: self._client.messages.create(**kwargs), is_idempotent=False
        )
        _logger.info("twilio sms sent: %s", message.sid)
        return _message_delivery(message)

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
        """Place one call; answering-machine detection is on unless disabled."""
        if (twiml_url is None) == (twiml is None):
            raise ValueError("give exactly one of twiml_url and twiml")
        kwargs: dict[str, Any] = {
            "to": to,
            "from_": self._from_number,
            "timeout": ring_timeout_seconds,
            "time_limit": self._call_time_limit_seconds,
        }
        if twiml_url is not None:
            kwargs.update(url=twiml_url, method="POST")
        else:
            kwargs["twiml"] = twiml
        if status_callback:
            kwargs.update(
                status_callback=status_callback,
                status_callback_method="POST",
                status_callback_event=list(_CALL_EVENTS),
            )
        if machine_detection:
            kwargs["machine_detection"] = "Enable"
        call = self._call(
            "place call", lambda: self._client.calls.create(**kwargs), is_idempotent=False
        )
        _logger.info("twilio call placed: %s", call.sid)
        return _call_delivery(call)

    def fetch_message(self, sid: str) -> Delivery:
        """Fetch a message by SID."""
        message = self._call("fetch message", lambda: self._client.messages(sid).fetch())
        return _message_delivery(message)

    def fetch_call(self, sid: str) -> Delivery:
        """Fetch a call by SID."""
        return _call_delivery(self._call("fetch call", lambda: self._client.calls(sid).fetch()))

    def hangup(self, sid: str) -> Delivery:
        """End a call: cancel it while queued or ringing, complete it while in progress."""
        current = self.fetch_call(sid)
        if current.is_final:
            return current
        status = "canceled" if current.status in {"queued", "initiated", "ringing"} else "completed"
        # Ending a call twice is harmless, so a retry after a timeout is safe.
        call = self._call("hang up", lambda: self._client.calls(sid).update(status=status))
        return _call_delivery(call)

    def find_messages(
        self, to: str, *, created_after: datetime, body: str | None = None
    ) -> Sequence[Delivery]:
        """Recent messages to `to` created at or after `created_after` (optionally with `body`)."""
        messages = self._call("list messages", lambda: self._client.messages.list(to=to, limit=100))
        return [
            _message_delivery(m)
            for m in messages
            if _is_after(m.date_created, created_after) and (body is None or m.body == body)
        ]

    def find_calls(self, to: str, *, created_after: datetime) -> Sequence[Delivery]:
        """Recent calls to `to` created at or after `created_after`."""
        calls = self._call("list calls", lambda: self._client.calls.list(to=to, limit=100))
        return [_call_delivery(c) for c in calls if _is_after(c.date_created, created_after)]

    # -- error mapping ----------------------------------------------------------------------

    def _call(self, action: str, fn: Callable[[], _T], *, is_idempotent: bool = True) -> _T:
        """Run one library call, turning every failure into this package's typed errors."""
        try:
            return fn()
        except (TwilioRestException, TwilioServiceException) as exc:
            raise self._failure(action, exc) from None
        except requests.ConnectTimeout:
            # The connection never opened, so the request was certainly not carried out.
            raise TransientFailure(
                f"{action}: timed out connecting to Twilio", provider=PROVIDER
            ) from None
        except requests.ConnectionError as exc:
            if is_idempotent or _never_connected(exc):
                raise TransientFailure(
                    f"{action}: cannot reach Twilio", provider=PROVIDER
                ) from None
            raise UnknownOutcome(
                f"{action}: connection lost, the request may have been carried out",
                provider=PROVIDER,
            ) from None
        except requests.Timeout:
            if is_idempotent:
                raise TransientFailure(f"{action}: Twilio timed out", provider=PROVIDER) from None
            raise UnknownOutcome(
                f"{action}: timed out waiting for Twilio, the request may have been carried out",
                provider=PROVIDER,
            ) from None
        except TwilioException as exc:
            # e.g. an unparseable page from a misbehaving server: treat like a 5xx.
            raise TransientFailure(f"{action}: {type(exc).__name__}", provider=PROVIDER) from None

    def _failure(
        self, action: str, exc: TwilioRestException | TwilioServiceException
    ) -> NotificationFailed:
        status = int(exc.status) if exc.status is not None else None
        code = _as_int(exc.code)
        if code == status:  # the library repeats the HTTP status when the body had no code
            code = None
        kind = classify_error_code(code, status)
        detail = exc.msg if isinstance(exc, TwilioRestException) else exc.title
        message = f"{action}: HTTP {status} code {code}: {detail}"
        if kind in {FailureKind.RATE_LIMITED, FailureKind.PROVIDER_ERROR}:
            last = self._http.last_response
            retry_after = None
            if last is not None and last.headers is not None:
                retry_after = parse_retry_after(last.headers.get("Retry-After"))
            return TransientFailure(
                message,
                provider=PROVIDER,
                kind=kind,
                code=code,
                http_status=status,
                retry_after_seconds=retry_after,
            )
        return NotificationFailed(
            message, provider=PROVIDER, kind=kind, code=code, http_status=status
        )


def _never_connected(exc: requests.ConnectionError) -> bool:
    """Whether a connection error happened before any byte of the request was sent."""
    text = repr(exc)
    return "NewConnectionError" in text or "Connection refused" in text


def _as_int(value: object) -> int | None:
    if value is None:
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


def _is_after(created: datetime | None, since: datetime) -> bool:
    if created is None:
        return True  # no date: keep it, the caller matches on more than time
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    # Twilio's dates have whole seconds: compare at that resolution.
    return created >= since.replace(microsecond=0)


def _message_delivery(message: Any) -> Delivery:
    return Delivery(
        provider=PROVIDER,
        channel=Channel.SMS,
        sid=str(message.sid),
        status=str(message.status),
        to=str(message.to),
        error_code=_as_int(message.error_code),
        error_message=message.error_message,
        created_at=message.date_created,
    )


def _call_delivery(call: Any) -> Delivery:
    return Delivery(
        provider=PROVIDER,
        channel=Channel.VOICE,
        sid=str(call.sid),
        status=str(call.status),
        to=str(call.to),
        answered_by=call.answered_by,
        duration_seconds=_as_int(call.duration),
        created_at=call.date_created,
    )
