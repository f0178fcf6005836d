"""Pure rules of a draw request: working-day timing, groups, regions and caps (the committee's
size is tested with the rule table, tests/unit/regimes)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from expertpool.core.calendar import CST, working_days_between
from expertpool.draws.rules import (
    DrawRules,
    parse_frequency_cap,
    parse_groups,
    timing_errors,
)

RULES = DrawRules()
SPECIALTIES = {"A": False, "A01": False, "A0101": False, "B02": False, "C99": True}
REGIONS = {"440100": "广州市", "440300": "深圳市"}


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=CST)


# Timing ------------------------------------------------------------------------------------------


def test_working_days_skip_the_national_day_holiday() -> None:
    # 2025-10-01..08 are holidays; 2025-09-30 is a working day.
    assert working_days_between(date(2025, 9, 30), date(2025, 10, 9)) == 1


def test_make_up_saturdays_count_as_working_days() -> None:
    # 2025-10-11 (a Saturday) is a make-up working day.
    assert working_days_between(date(2025, 10, 10), date(2025, 10, 13)) == 2


def test_a_draw_two_working_days_before_is_allowed() -> None:
    assert (
        timing_errors(
            now_at=at("2026-06-03"), evaluation_start_at=at("2026-06-05"), lead_working_days=2
        )
        == {}
    )


def test_a_draw_three_working_days_before_is_too_early() -> None:
    errors = timing_errors(
        now_at=at("2026-06-02"), evaluation_start_at=at("2026-06-05"), lead_working_days=2
    )
    assert "too early: 3 working days" in errors["evaluation_start"]


def test_a_draw_before_a_holiday_counts_only_working_days() -> None:
    # Nine calendar days apart, but only 2025-09-30 is a working day in between.
    assert (
        timing_errors(
            now_at=at("2025-09-30"), evaluation_start_at=at("2025-10-09"), lead_working_days=2
        )
        == {}
    )


def test_a_draw_counting_a_make_up_day_is_too_early() -> None:
    # 2025-09-28 is a Sunday make-up day: 28, 29 and 30 September are three working days.
    errors = timing_errors(
        now_at=at("2025-09-28"), evaluation_start_at=at("2025-10-09"), lead_working_days=2
    )
    assert "3 working days" in errors["evaluation_start"]


def test_an_exempt_draw_has_no_lead_time_limit_but_not_after_the_start() -> None:
    assert (
        timing_errors(
            now_at=at("2026-06-01"), evaluation_start_at=at("2026-06-12"), lead_working_days=None
        )
        == {}
    )
    assert timing_errors(
        now_at=at("2026-06-12", 10), evaluation_start_at=at("2026-06-12"), lead_working_days=None
    )


def test_a_draw_after_the_evaluation_started_is_refused() -> None:
    assert (
        "already started"
        in timing_errors(
            now_at=at("2026-06-05", 10), evaluation_start_at=at("2026-06-05"), lead_working_days=2
        )["evaluation_start"]
    )


def test_a_date_beyond_the_official_calendar_is_a_field_error() -> None:
    errors = timing_errors(
        now_at=at("2099-01-05"), evaluation_start_at=at("2099-01-06"), lead_working_days=2
    )
    assert "does not cover 2099" in errors["evaluation_start"]


def test_the_draw_day_is_taken_in_china_standard_time() -> None:
    # 23:30 UTC on 2 June is already 3 June in China.
    now = datetime.fromisoformat("2026-06-02T23:30:00+00:00")
    assert (
        timing_errors(now_at=now, evaluation_start_at=at("2026-06-05"), lead_working_days=2) == {}
    )


@settings(max_examples=100, deadline=None)
@given(st.dates(date(2024, 1, 1), date(2026, 12, 20)), st.integers(0, 10))
def test_working_days_never_exceed_calendar_days_and_add_up(start: date, span: int) -> None:
    mid, end = start + timedelta(days=span // 2), start + timedelta(days=span)
    total = working_days_between(start, end)
    assert 0 <= total <= span
    assert total == working_days_between(start, mid) + working_days_between(mid, end)


# Groups ------------------------------------------------------------------------------------------


def _groups(raw: object, **kw: object) -> tuple[list, dict[str, str]]:
    errors: dict[str, str] = {}
    groups = parse_groups(
        raw,
        specialties=SPECIALTIES,
        known_regions=REGIONS,
        regions_in=kw.get("regions_in", ()),
        regions_out=kw.get("regions_out", ()),  # type: ignore[arg-type]
        errors=errors,
    )
    return groups, errors


def test_groups_get_draw_ids_and_request_wide_regions() -> None:
    groups, errors = _groups(
        [
            {"specialties": ["A01", "B02"], "count": 3, "backups": 2},
            {"specialties": "A0101", "count": "2"},
        ],
        regions_out=("440100",),
    )
    assert errors == {}
    assert [(g.key, g.specialties, g.count, g.backups, g.regions_out) for g in groups] == [
        ("g1", ("A01", "B02"), 3, 2, ("440100",)),
        ("g2", ("A0101",), 2, 0, ("440100",)),
    ]


def test_an_unknown_specialty_prefix_is_a_field_error() -> None:
    _, errors = _groups([{"specialties": ["A01", "Z77"], "count": 3}])
    assert errors == {"groups[0].specialties": "not in the specialty tree: Z77"}


def test_a_retired_specialty_is_refused() -> None:
    assert "retired" in _groups([{"specialties": ["C99"], "count": 1}])[1]["groups[0].specialties"]


@pytest.mark.parametrize(
    "raw, field",
    [
        ([], "groups"),
        (None, "groups"),
        ([{"specialties": [], "count": 1}], "groups[0].specialties"),
        ([{"specialties": ["A"], "count": 0}], "groups[0].count"),
        ([{"specialties": ["A"], "count": True}], "groups[0].count"),
        ([{"specialties": ["A"], "count": 1, "backups": -1}], "groups[0].backups"),
        ([{"specialties": ["A"], "count": 1, "regions_in": ["999999"]}], "groups[0].regions_in"),
        (["A"], "groups[0]"),
    ],
)
def test_bad_groups_name_the_field(raw: object, field: str) -> None:
    assert field in _groups(raw)[1]


def test_a_group_whose_allowed_regions_are_all_excluded_is_refused() -> None:
    _, errors = _groups(
        [{"specialties": ["A"], "count": 1, "regions_in": ["440100"]}], regions_out=("440100",)
    )
    assert "nobody could serve" in errors["groups[0].regions_in"]


def test_the_frequency_cap_defaults_to_the_setting_and_zero_means_none() -> None:
    errors: dict[str, str] = {}
    assert parse_frequency_cap(None, DrawRules(frequency_cap=3), errors) == 3
    assert parse_frequency_cap(None, DrawRules(frequency_cap=0), errors) is None
    assert parse_frequency_cap("0", DrawRules(frequency_cap=3), errors) is None
    assert parse_frequency_cap(2, RULES, errors) == 2
    assert errors == {}
    parse_frequency_cap("many", RULES, errors)
    assert "max_recent_draws" in errors
