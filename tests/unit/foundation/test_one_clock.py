"""Every time a page shows is Beijing time, whatever form the stored moment takes."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from expertpool.core.labels import cst_filter


def test_a_utc_moment_is_shown_eight_hours_later() -> None:
    moment = datetime(2026, 12, 3, 16, 30, tzinfo=UTC)
    assert cst_filter(moment) == "2026-12-04 00:30"


def test_naive_and_text_moments_are_read_as_utc() -> None:
    assert cst_filter(datetime(2026, 12, 3, 16, 30)) == "2026-12-04 00:30"
    assert cst_filter("2026-12-03T16:30:05+00:00", "%H:%M:%S") == "00:30:05"
    assert cst_filter("2026-12-03T16:30:05Z", "%H:%M:%S") == "00:30:05"


def test_nothing_and_non_moments_pass_through() -> None:
    assert cst_filter(None) == ""
    assert cst_filter("") == ""
    assert cst_filter("sent") == "sent"


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 30)))
def test_every_form_of_a_moment_reads_the_same(naive: datetime) -> None:
    aware = naive.replace(tzinfo=UTC)
    shown = cst_filter(aware, "%Y-%m-%d %H:%M:%S")
    assert cst_filter(naive, "%Y-%m-%d %H:%M:%S") == shown
    assert cst_filter(aware.isoformat(), "%Y-%m-%d %H:%M:%S") == shown
