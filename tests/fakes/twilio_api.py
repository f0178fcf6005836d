"""The loopback fake of Twilio's REST API (`notify/twilio_fake.py`) as a pytest fixture.

The fake itself lives in `notify/` so the benchmarks use it without importing `tests/`; the tests
import it from here, with the fixture.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from notify.twilio_fake import (
    FAKE_ACCOUNT_SID,
    FAKE_AUTH_TOKEN,
    FAKE_FROM_NUMBER,
    CallScript,
    FakeTwilioApi,
    RecordedRequest,
    WebhookTransport,
    client_transport,
    http_transport,
    post_signed_webhook,
    sign_webhook,
    twilio_notifier_for,
)

__all__ = [
    "FAKE_ACCOUNT_SID",
    "FAKE_AUTH_TOKEN",
    "FAKE_FROM_NUMBER",
    "CallScript",
    "FakeTwilioApi",
    "RecordedRequest",
    "WebhookTransport",
    "client_transport",
    "fake_twilio_api",
    "http_transport",
    "post_signed_webhook",
    "sign_webhook",
    "twilio_notifier_for",
]


@pytest.fixture
def fake_twilio_api() -> Iterator[FakeTwilioApi]:
    """A started `FakeTwilioApi`, stopped after the test."""
    with FakeTwilioApi() as api:
        yield api
