"""The China calendar: China Standard Time, and working days by the State Council's holiday
notices.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import chinese_calendar

CST = timezone(timedelta(hours=8), "CST")
"""China Standard Time (UTC+8, no daylight saving)."""


class CalendarNotCovered(ValueError):
    """The official holiday calendar has no data for a date."""


def is_working_day(day: date) -> bool:
    """Whether `day` is a working day in the official calendar (holidays and make-up days)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        raise CalendarNotCovered(
            f"the official holiday calendar does not cover {day.year}"
        ) from None


def working_days_between(start: date, end: date) -> int:
    """Working days `d` with `start <= d < end` (0 when `end <= start`)."""
    count = 0
    day = start
    while day < end:
        if is_working_day(day):
            count += 1
        day += timedelta(days=1)
    return count


def cst_date(moment: datetime) -> date:
    """The calendar day of an aware moment in China Standard Time."""
    return moment.astimezone(CST).date()
