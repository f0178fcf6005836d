"""The real twilio library, through TwilioNotifier, against the loopback fake REST API."""

import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from notify.backoff import backoff_delay
from notify.base import (
    Channel,
    FailureKind,
    NotificationFailed,
    Notifier,
    TransientFailure,
    UnknownOutcome,
)
from notify.twilio_adapter import TwilioNotifier
from notify.webhooks import parse_call_status, validate_signature
from tests.fakes.twilio_api import (
    FAKE_FROM_NUMBER,
    FakeTwilioApi,
    post_signed_webhook,
    twilio_notifier_for,
)

NUMBER = "+8613812345678"


@pytest.fixture
def notifier(fake_twilio_api):
    return twilio_notifier_for(fake_twilio_api, timeout_seconds=1.0)


def test_the_twilio_notifier_satisfies_the_notifier_protocol(notifier):
    assert isinstance(notifier, Notifier)


def test_an_sms_is_created_with_basic_auth_and_twilio_form_parameters(fake_twilio_api, notifier):
    delivery = notifier.send_sms(NUMBER, "邀请：回复1接受", status_callback="https://cb/sms")
    [request] = fake_twilio_api.requests
    assert request.is_authorised
    assert request.path == f"/2010-04-01/Accounts/{fake_twilio_api.account_sid}/Messages.json"
    assert request.value("To") == NUMBER
    assert request.value("From") == FAKE_FROM_NUMBER
    assert request.value("Body") == "邀请：回复1接受"
    assert request.value("StatusCallback") == "https://cb/sms"
    assert delivery.channel is Channel.SMS and delivery.provider == "twilio"
    assert delivery.sid in fake_twilio_api.messages
    assert delivery.status == "queued"
    assert delivery.created_at is not None and delivery.created_at.tzinfo is not None


def test_a_call_asks_for_machine_detection_and_every_status_event(fake_twilio_api, notifier):
    delivery = notifier.place_call(
        NUMBER,
        twiml_url="https://pool/voice?a=1",
        status_callback="https://pool/status",
        ring_timeout_seconds=25,
    )
    [request] = fake_twilio_api.created("Calls")
    assert request.value("Url") == "https://pool/voice?a=1"
    assert request.value("MachineDetection") == "Enable"
    assert request.value("Timeout") == "25"
    assert request.form["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert delivery.channel is Channel.VOICE and delivery.sid in fake_twilio_api.calls


def test_a_call_can_carry_inline_twiml_and_skip_machine_detection(fake_twilio_api, notifier):
    notifier.place_call(NUMBER, twiml="<Response><Hangup/></Response>", machine_detection=False)
    [request] = fake_twilio_api.created("Calls")
    assert request.value("Twiml") == "<Response><Hangup/></Response>"
    assert request.value("MachineDetection") is None


def test_fetching_reports_the_current_status_answered_by_and_error(fake_twilio_api, notifier):
    sms = notifier.send_sms(NUMBER, "x")
    call = notifier.place_call(NUMBER, twiml_url="https://pool/voice")
    fake_twilio_api.set_message_status(sms.sid, "undelivered", error_code=30003)
    fake_twilio_api.set_call_status(
        call.sid, "completed", answered_by="machine_start", duration_seconds=7
    )
    fetched_sms = notifier.fetch_message(sms.sid)
    fetched_call = notifier.fetch_call(call.sid)
    assert (fetched_sms.status, fetched_sms.error_code) == ("undelivered", 30003)
    assert (fetched_call.status, fetched_call.answered_by, fetched_call.duration_seconds) == (
        "completed",
        "machine_start",
        7,
    )


def test_a_rate_limit_carries_retry_after_and_a_later_retry_sends_once(fake_twilio_api, notifier):
    fake_twilio_api.fail_next(resource="Messages", status=429, code=20429, retry_after="2")
    with pytest.raises(TransientFailure) as info:
        notifier.send_sms(NUMBER, "x")
    failure = info.value
    assert failure.kind is FailureKind.RATE_LIMITED and failure.code == 20429
    assert failure.retry_after_seconds == 2.0
    # The caller (the dispatcher) schedules the retry; here we just check the schedule honours it.
    assert (
        backoff_delay(
            0, jitter=0.0, base_seconds=0.1, retry_after_seconds=failure.retry_after_seconds
        )
        == 2.0
    )
    assert fake_twilio_api.messages == {}
    delivery = notifier.send_sms(NUMBER, "x")
    assert list(fake_twilio_api.messages) == [delivery.sid]


def test_a_rate_limit_without_retry_after_is_still_transient(fake_twilio_api, notifier):
    fake_twilio_api.fail_next(resource="Calls", status=429, code=20429)
    with pytest.raises(TransientFailure) as info:
        notifier.place_call(NUMBER, twiml_url="https://pool/voice")
    assert info.value.retry_after_seconds is None


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_server_error_is_transient_and_creates_nothing(fake_twilio_api, notifier, status):
    fake_twilio_api.fail_next(status=status, retry_after="1")
    with pytest.raises(TransientFailure) as info:
        notifier.send_sms(NUMBER, "x")
    assert info.value.kind is FailureKind.PROVIDER_ERROR
    assert info.value.http_status == status
    assert info.value.code is None
    assert info.value.retry_after_seconds == 1.0
    assert fake_twilio_api.messages == {}


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (21211, FailureKind.INVALID_NUMBER),
        (21614, FailureKind.INVALID_NUMBER),
        (21610, FailureKind.OPTED_OUT),
        (21408, FailureKind.NOT_PERMITTED),
    ],
)
def test_recipient_error_codes_are_permanent_recipient_failures(
    fake_twilio_api, notifier, code, kind
):
    fake_twilio_api.reject_number(NUMBER, code)
    with pytest.raises(NotificationFailed) as info:
        notifier.send_sms(NUMBER, "x")
    failure = info.value
    assert not isinstance(failure, TransientFailure)
    assert (failure.kind, failure.code, failure.http_status) == (kind, code, 400)
    assert failure.is_recipient_problem and not failure.is_retryable


def test_a_malformed_number_is_refused_as_twilio_would(notifier):
    with pytest.raises(NotificationFailed) as info:
        notifier.place_call("13812345678", twiml_url="https://pool/voice")
    assert info.value.code == 21211 and info.value.kind is FailureKind.INVALID_NUMBER


def test_an_authentication_failure_stops_with_a_retryable_auth_failure(fake_twilio_api):
    notifier = TwilioNotifier(
        account_sid=fake_twilio_api.account_sid,
        auth_token="wrong-token",
        from_number=FAKE_FROM_NUMBER,
        timeout_seconds=0.5,
        api_base_url=fake_twilio_api.base_url,
    )
    with pytest.raises(NotificationFailed) as info:
        notifier.send_sms(NUMBER, "x")
    assert info.value.kind is FailureKind.AUTH and info.value.code == 20003
    assert info.value.http_status == 401 and info.value.is_retryable
    assert [r.is_authorised for r in fake_twilio_api.requests] == [False]
    assert fake_twilio_api.messages == {}


def test_the_auth_token_never_appears_in_repr_errors_or_logs(fake_twilio_api, caplog):
    caplog.set_level(logging.DEBUG)
    token = "super-secret-token-value"
    notifier = TwilioNotifier(
        account_sid=fake_twilio_api.account_sid,
        auth_token=token,
        from_number=FAKE_FROM_NUMBER,
        timeout_seconds=0.5,
        api_base_url=fake_twilio_api.base_url,
    )
    with pytest.raises(NotificationFailed) as info:
        notifier.send_sms(NUMBER, "x")
    assert token not in repr(notifier)
    assert token not in str(info.value) and token not in repr(info.value)
    assert all(token not in r.getMessage() for r in caplog.records)
    assert all(NUMBER not in r.getMessage() for r in caplog.records)


def test_a_timeout_after_creation_is_an_unknown_outcome_that_reconciliation_resolves(
    fake_twilio_api, notifier
):
    since = datetime.now(UTC) - timedelta(seconds=1)
    fake_twilio_api.hang_next(resource="Messages", seconds=2.5)
    started = time.monotonic()
    with pytest.raises(UnknownOutcome):
        notifier.send_sms(NUMBER, "邀请 https://x/i/one-time")
    assert time.monotonic() - started < 2.4  # the client gave up at its own timeout
    # The fake did create it: never resend, look it up instead.
    [found] = notifier.find_messages(NUMBER, created_after=since, body="邀请 https://x/i/one-time")
    assert found.sid in fake_twilio_api.messages
    assert notifier.fetch_message(found.sid).sid == found.sid
    assert len(fake_twilio_api.created("Messages")) == 1


def test_a_timeout_before_creation_reconciles_to_nothing_sent(fake_twilio_api, notifier):
    since = datetime.now(UTC) - timedelta(seconds=1)
    fake_twilio_api.hang_next(resource="Messages", seconds=2.5, is_created_anyway=False)
    with pytest.raises(UnknownOutcome):
        notifier.send_sms(NUMBER, "y")
    assert notifier.find_messages(NUMBER, created_after=since, body="y") == []


def test_a_call_timeout_is_unknown_and_found_by_listing_calls(fake_twilio_api, notifier):
    since = datetime.now(UTC) - timedelta(seconds=1)
    fake_twilio_api.hang_next(resource="Calls", seconds=2.5)
    with pytest.raises(UnknownOutcome):
        notifier.place_call(NUMBER, twiml_url="https://pool/voice")
    [found] = notifier.find_calls(NUMBER, created_after=since)
    assert found.sid in fake_twilio_api.calls


def test_reconciliation_ignores_older_sends_and_other_numbers(fake_twilio_api, notifier):
    notifier.send_sms(NUMBER, "same")
    notifier.send_sms("+8613900000000", "same")
    assert (
        notifier.find_messages(NUMBER, created_after=datetime.now(UTC) + timedelta(seconds=2)) == []
    )
    assert (
        len(notifier.find_messages(NUMBER, created_after=datetime.now(UTC) - timedelta(minutes=1)))
        == 1
    )


def test_a_fetch_timeout_is_transient_because_fetching_is_safe_to_repeat(fake_twilio_api, notifier):
    sms = notifier.send_sms(NUMBER, "x")
    fake_twilio_api.hang_next(resource="Messages", method="GET", seconds=2.5)
    with pytest.raises(TransientFailure):
        notifier.fetch_message(sms.sid)


def test_an_unreachable_provider_is_transient():
    with FakeTwilioApi() as stopped:
        notifier = twilio_notifier_for(stopped, timeout_seconds=0.5)
    with pytest.raises(TransientFailure) as info:
        notifier.send_sms(NUMBER, "x")
    assert info.value.kind is FailureKind.PROVIDER_ERROR


def test_fetching_an_unknown_sid_is_a_permanent_failure(notifier):
    with pytest.raises(NotificationFailed) as info:
        notifier.fetch_call("CA" + "0" * 32)
    assert info.value.http_status == 404 and not info.value.is_retryable


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("queued", "canceled"),
        ("ringing", "canceled"),
        ("in-progress", "completed"),
        ("no-answer", "no-answer"),
    ],
)
def test_hanging_up_ends_the_call_the_right_way(fake_twilio_api, notifier, status, expected):
    call = notifier.place_call(NUMBER, twiml_url="https://pool/voice")
    fake_twilio_api.set_call_status(call.sid, status)
    assert notifier.hangup(call.sid).status == expected
    updates = [
        r
        for r in fake_twilio_api.requests
        if r.method == "POST" and r.path.endswith(f"/Calls/{call.sid}.json")
    ]
    assert len(updates) == (0 if status == "no-answer" else 1)


def test_sends_from_several_threads_each_create_exactly_one_resource(fake_twilio_api, notifier):
    errors = []

    def send(i):
        try:
            notifier.send_sms(NUMBER, f"m{i}")
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(m["body"] for m in fake_twilio_api.messages.values()) == sorted(
        f"m{i}" for i in range(20)
    )


class _WebhookReceiver:
    """A loopback server standing in for the app's webhook route."""

    def __init__(self, token, public_base):
        self.token, self.public_base, self.events = token, public_base, []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                params = parse_qs(body)
                url = receiver.public_base + self.path
                ok = validate_signature(
                    receiver.token, url, params, self.headers.get("X-Twilio-Signature")
                )
                if ok:
                    receiver.events.append(parse_call_status(params))
                self.send_response(204 if ok else 403)
                self.end_headers()

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_signed_webhooks_pass_validation_and_forged_ones_do_not():
    public = "https://pool.example.gov.cn"
    receiver = _WebhookReceiver("tok", public)
    try:
        params = {"CallSid": "CA1", "CallStatus": "completed", "AnsweredBy": "human"}
        status, _ = post_signed_webhook(
            receiver.url + "/notify/status",
            params,
            auth_token="tok",
            signed_url=public + "/notify/status",
        )
        forged, _ = post_signed_webhook(
            receiver.url + "/notify/status",
            params,
            auth_token="other",
            signed_url=public + "/notify/status",
        )
        unproxied, _ = post_signed_webhook(
            receiver.url + "/notify/status", params, auth_token="tok"
        )
    finally:
        receiver.close()
    assert (status, forged, unproxied) == (204, 403, 403)
    assert [e.call_sid for e in receiver.events] == ["CA1"]
