"""Where an expert stands on a given day, computed from dated facts, never from today's status.

A draw is for an evaluation on a later day: an expert on leave today may be back by then, a
suspension may have ended, the age cap or the end of a term may fall in between. The snapshot
asks `standing_on` for the status the expert will have on the evaluation's first day; leave
itself is a matter of availability (draw-v1's `available`), decided from the leave dates.
Nothing here touches the database.
"""

from __future__ import annotations

from datetime import date

from expertpool.experts.models import ExpertStatus

S = ExpertStatus

AGE_CAP_REACHED = "retired"
"""The standing of an expert who reaches the age cap on or before the day."""
TERM_EXPIRED = "term_expired"
"""The standing of an expert whose term ended before the day (undrawable until renewed)."""
LOW_CREDIT = "low_credit"
"""The standing of an expert whose credit this year is below the draw threshold (the record
feature keeps `Expert.is_low_credit`, docs/record.md)."""


def cap_birth_date(day: date, cap: int) -> date:
    """Experts born on or before this date have reached the age cap on `day`."""
    try:
        return day.replace(year=day.year - cap)
    except ValueError:  # 29 February
        return day.replace(year=day.year - cap, day=28)


def standing_on(
    status: ExpertStatus,
    *,
    day: date,
    suspended_until: date | None = None,
    birth_date: date | None = None,
    term_ends_on: date | None = None,
    age_cap: int | None = None,
    is_low_credit: bool = False,
) -> str:
    """The status an expert has on `day` ("active" when they may serve, else why not).

    `on_leave` counts as active (leave is decided by its dates, as availability); a suspension
    whose last day is before `day` counts as ended, one without an end date as lasting. A record
    without a birth date or a term end (older records) is not checked on that fact. An expert
    whose credit is low is not drawn (a decided suspension or removal shows as its status).
    """
    suspension_over = suspended_until is not None and suspended_until < day
    if status is S.ON_LEAVE or (status is S.SUSPENDED and suspension_over):
        status = S.ACTIVE
    if status is not S.ACTIVE:
        return status.value
    if (
        age_cap is not None
        and birth_date is not None
        and birth_date <= cap_birth_date(day, age_cap)
    ):
        return AGE_CAP_REACHED
    if term_ends_on is not None and term_ends_on < day:
        return TERM_EXPIRED
    if is_low_credit:
        return LOW_CREDIT
    return S.ACTIVE.value
