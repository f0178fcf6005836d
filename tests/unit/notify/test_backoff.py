"""Tests of the backoff schedule and Retry-After parsing."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notify.backoff import backoff_delay, backoff_schedule, parse_retry_after, random_jitter


def test_delays_double_with_each_attempt_at_fixed_jitter():
    delays = [backoff_delay(i, jitter=1.0, base_seconds=1.0, cap_seconds=1000) for i in range(5)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0]


def test_zero_jitter_still_waits_half_the_step():
    assert backoff_delay(3, jitter=0.0, base_seconds=1.0) == 4.0


def test_delays_never_exceed_the_cap():
    assert backoff_delay(50, jitter=1.0, base_seconds=2.0, cap_seconds=300.0) == 300.0


def test_retry_after_is_a_floor():
    assert backoff_delay(0, jitter=0.0, base_seconds=1.0, retry_after_seconds=30.0) == 30.0


def test_a_short_retry_after_does_not_shorten_the_backoff():
    assert backoff_delay(4, jitter=1.0, base_seconds=1.0, retry_after_seconds=1.0) == 16.0


def test_an_absurd_retry_after_is_clamped():
    delay = backoff_delay(0, jitter=0.0, retry_after_seconds=10**9, max_retry_after_seconds=3600.0)
    assert delay == 3600.0


@pytest.mark.parametrize(("attempt", "jitter"), [(-1, 0.5), (0, -0.1), (0, 1.5)])
def test_invalid_arguments_are_refused(attempt, jitter):
    with pytest.raises(ValueError):
        backoff_delay(attempt, jitter=jitter)


@settings(max_examples=100, deadline=None)
@given(
    attempt=st.integers(min_value=0, max_value=10_000),
    jitter=st.floats(min_value=0.0, max_value=1.0),
    retry_after=st.one_of(st.none(), st.floats(min_value=0.0, max_value=10_000.0)),
)
def test_every_delay_lies_between_half_a_step_and_the_cap_or_retry_after(
    attempt, jitter, retry_after
):
    delay = backoff_delay(
        attempt,
        jitter=jitter,
        base_seconds=2.0,
        cap_seconds=300.0,
        retry_after_seconds=retry_after,
    )
    step = min(300.0, 2.0 * 2.0 ** min(attempt, 60))
    assert delay >= step / 2
    assert delay <= max(step, min(retry_after or 0.0, 3600.0))


def test_a_schedule_draws_its_jitter_from_the_given_rng():
    values = iter([0.0, 1.0, 0.5])
    assert backoff_schedule(3, rng=lambda: next(values), base_seconds=4.0) == [2.0, 8.0, 12.0]


def test_random_jitter_stays_within_zero_and_one():
    samples = [random_jitter() for _ in range(200)]
    assert all(0.0 <= s <= 1.0 for s in samples)
    assert len(set(samples)) > 100


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("5", 5.0),
        (" 2.5 ", 2.5),
        ("-3", 0.0),
        ("", None),
        (None, None),
        ("soon", None),
        ("nan", None),
    ],
)
def test_retry_after_in_seconds_is_parsed(header, seconds):
    assert parse_retry_after(header) == seconds


def test_retry_after_as_an_http_date_is_measured_from_now():
    now = datetime(2025, 3, 5, 8, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(header, now=now) == 90.0
