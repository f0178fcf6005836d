"""Tests of the provider interface's value objects and error classification."""

import pytest

from notify.base import (
    Channel,
    Delivery,
    FailureKind,
    NotificationFailed,
    TransientFailure,
    classify_error_code,
    mask_phone,
)


@pytest.mark.parametrize(
    ("code", "http_status", "kind"),
    [
        (20003, 401, FailureKind.AUTH),
        (20429, 429, FailureKind.RATE_LIMITED),
        (21211, 400, FailureKind.INVALID_NUMBER),
        (21614, 400, FailureKind.INVALID_NUMBER),
        (21408, 400, FailureKind.NOT_PERMITTED),
        (21610, 400, FailureKind.OPTED_OUT),
        (30003, None, FailureKind.UNREACHABLE),
        (30004, None, FailureKind.OPTED_OUT),
        (30005, None, FailureKind.INVALID_NUMBER),
        (30006, None, FailureKind.INVALID_NUMBER),
        (30007, None, FailureKind.CARRIER_FILTERED),
        (30008, None, FailureKind.UNREACHABLE),
        (None, 401, FailureKind.AUTH),
        (None, 429, FailureKind.RATE_LIMITED),
        (None, 503, FailureKind.PROVIDER_ERROR),
        (None, 500, FailureKind.PROVIDER_ERROR),
        (21999, 400, FailureKind.REJECTED),
        (None, None, FailureKind.REJECTED),
    ],
)
def test_error_codes_are_classified_by_what_the_caller_must_do(code, http_status, kind):
    assert classify_error_code(code, http_status) is kind


def test_an_invalid_number_is_a_recipient_problem_and_not_retryable():
    failure = NotificationFailed("x", provider="p", kind=FailureKind.INVALID_NUMBER, code=21211)
    assert failure.is_recipient_problem
    assert not failure.is_retryable


def test_an_auth_failure_is_retryable_but_not_a_recipient_problem():
    failure = NotificationFailed("x", provider="p", kind=FailureKind.AUTH, code=20003)
    assert failure.is_retryable
    assert not failure.is_recipient_problem


def test_a_transient_failure_is_a_retryable_notification_failure_with_retry_after():
    failure = TransientFailure(
        "x", provider="p", kind=FailureKind.RATE_LIMITED, retry_after_seconds=4.0
    )
    assert isinstance(failure, NotificationFailed)
    assert failure.is_retryable
    assert failure.retry_after_seconds == 4.0


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+8613812345678", "+86138****5678"),
        ("13812345678", "138****5678"),
        ("+15005550006", "+150****0006"),
        ("12345", "*****"),
    ],
)
def test_phone_numbers_are_masked_in_the_middle(number, masked):
    assert mask_phone(number) == masked


def test_a_masked_number_never_shows_more_than_ten_of_its_characters():
    number = "+8613812345678"
    masked = mask_phone(number)
    assert len(masked) == len(number)
    assert sum(1 for a, b in zip(masked, number, strict=True) if a == b) <= 10
    assert number not in masked


def test_a_delivery_is_final_according_to_its_channel():
    sms = Delivery(provider="p", channel=Channel.SMS, sid="SM1", status="delivered", to="+1")
    call = Delivery(provider="p", channel=Channel.VOICE, sid="CA1", status="ringing", to="+1")
    assert sms.is_final
    assert not call.is_final
