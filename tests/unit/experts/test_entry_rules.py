"""The entry rules as data: batch windows, publicity periods, malformed files refused."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from expertpool.core.calendar import is_working_day
from expertpool.experts import entry

GUANGDONG = entry.bundled_rules("guangdong")


@pytest.mark.parametrize(
    ("submitted", "window"),
    [
        (date(2026, 1, 10), (date(2026, 6, 1), date(2026, 6, 30))),
        (date(2026, 6, 30), (date(2026, 6, 1), date(2026, 6, 30))),
        (date(2026, 7, 1), (date(2026, 12, 1), date(2026, 12, 31))),
        (date(2026, 12, 31), (date(2026, 12, 1), date(2026, 12, 31))),
    ],
)
def test_an_application_falls_in_the_first_window_ending_after_its_submission(
    submitted: date, window: tuple[date, date]
) -> None:
    assert GUANGDONG.batch_of(submitted) == window


def test_without_batches_nothing_waits() -> None:
    assert entry.bundled_rules("single").batch_of(date(2026, 7, 1)) is None


@settings(max_examples=40, deadline=None)
@given(
    start=st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 11, 30)),
    days=st.integers(min_value=1, max_value=10),
)
def test_publicity_spans_exactly_the_working_days_asked(start: date, days: int) -> None:
    first, last = entry.publicity_period(start, days)
    assert first > start and is_working_day(first) and is_working_day(last)
    span = [first + timedelta(n) for n in range((last - first).days + 1)]
    assert sum(is_working_day(d) for d in span) == days
    assert not any(is_working_day(start + timedelta(n)) for n in range(1, (first - start).days))


def test_the_chain_follows_the_field_of_the_first_specialty() -> None:
    chain = GUANGDONG.chain_for(["A010102"])
    assert [s.owner for s in chain] == ["industry", "province_coordination"]
    assert [s.owner for s in entry.bundled_rules("single").chain_for(["B0201"])] == ["covering"]


@pytest.mark.parametrize(
    "broken",
    [
        {"chains": {"housing": [{"name": "x", "owner": "covering"}]}},  # no '*'
        {"chains": {"*": []}},
        {"chains": {"*": [{"name": "x", "owner": "anyone"}]}},
        {"batches": [{"name": "x", "from": "02-30", "to": "03-01"}]},
        {"batches": [{"name": "x", "from": "07-01", "to": "06-01"}]},
        {"publicity_working_days": -1},
    ],
)
def test_a_malformed_rule_set_is_refused(broken: dict[str, object]) -> None:
    good = {
        "source": "test",
        "chains": {"*": [{"name": "department", "owner": "covering"}]},
        "batches": [],
        "publicity_working_days": 0,
    }
    with pytest.raises(entry.EntryRulesError):
        entry.parse_rules({"rule_sets": {"t": {**good, **broken}}}, "t")
    with pytest.raises(entry.EntryRulesError):
        entry.parse_rules({"rule_sets": {}}, "t")
