"""A fee schedule as data and what one member is owed under it. Pure: no database.

A schedule (one per scope: the province `440000` or a city centre's region code) pays a fee by
the band of minutes served, more per started hour beyond the last band, a supplement to the
committee's leader, allowances for travel (more when the expert sat outside their home city)
and a meal. When the tender failed (流标/废标) or was cancelled and the members were released
within `short_session_minutes` of checking in, they are paid `short_session_fee` instead of the
first band's fee; otherwise a failed tender pays by time like any other. A remote expert is
paid under whichever of the home and host schedules gives more (发改办法规〔2025〕807号).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

PAYERS = ("tenderer", "centre")
"""Who pays (and withholds the tax): the project's tenderer, or the host centre."""

STATUSES = ("quoted", "commonly_cited", "example")
"""How far a schedule's figures were checked; `example` figures are placeholders."""


class ScheduleError(ValueError):
    """A schedule of the wrong shape."""


class Outcome(enum.StrEnum):
    """How the session ended, for the fee: evaluated, or the tender failed or was cancelled."""

    EVALUATED = "evaluated"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Band:
    """Up to `up_to_minutes` served (inclusive), the fee is `fee` yuan."""

    up_to_minutes: int
    fee: Decimal


@dataclass(frozen=True)
class Schedule:
    """One scope's fee schedule (one version of it)."""

    scope: str
    name: str
    payer: str
    bands: tuple[Band, ...]
    extra_per_hour: Decimal
    leader_supplement: Decimal
    travel_allowance: Decimal
    offsite_travel_allowance: Decimal
    meal_allowance: Decimal
    meal_after_minutes: int
    short_session_fee: Decimal
    short_session_minutes: int
    source: str
    status: str

    def duration_fee(self, minutes: int) -> Decimal:
        """The fee for `minutes` served: the band's fee, beyond the last band more per started
        hour."""
        if minutes < 0:
            raise ScheduleError("minutes served are not negative")
        for band in self.bands:
            if minutes <= band.up_to_minutes:
                return band.fee
        last = self.bands[-1]
        hours = -(-(minutes - last.up_to_minutes) // 60)
        return last.fee + self.extra_per_hour * hours


@dataclass(frozen=True)
class Attendance:
    """What the fee of one member depends on."""

    minutes: int
    is_leader: bool = False
    is_offsite: bool = False
    """Seated at a venue outside the expert's home city."""
    outcome: Outcome = Outcome.EVALUATED


@dataclass(frozen=True)
class Fee:
    """One member's fee under one schedule, by part; `gross` is their sum."""

    scope: str
    duration_fee: Decimal
    leader_supplement: Decimal
    allowances: Decimal

    @property
    def gross(self) -> Decimal:
        """The whole fee before tax."""
        return self.duration_fee + self.leader_supplement + self.allowances


def fee_under(schedule: Schedule, attendance: Attendance) -> Fee:
    """What a member who checked in is owed under `schedule`."""
    duration = schedule.duration_fee(attendance.minutes)
    if (
        attendance.outcome is not Outcome.EVALUATED
        and attendance.minutes <= schedule.short_session_minutes
    ):
        duration = schedule.short_session_fee
    allowances = schedule.travel_allowance
    if attendance.is_offsite:
        allowances += schedule.offsite_travel_allowance
    if attendance.minutes >= schedule.meal_after_minutes:
        allowances += schedule.meal_allowance
    return Fee(
        scope=schedule.scope,
        duration_fee=duration,
        leader_supplement=schedule.leader_supplement if attendance.is_leader else Decimal(0),
        allowances=allowances,
    )


def fee_at_higher(host: Schedule, home: Schedule | None, attendance: Attendance) -> Fee:
    """The fee under the host's schedule, or the home schedule's when that is higher (a remote
    expert, 807号); equal fees keep the host's."""
    at_host = fee_under(host, attendance)
    if home is None or home.scope == host.scope:
        return at_host
    at_home = fee_under(home, attendance)
    return at_home if at_home.gross > at_host.gross else at_host


def _money(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ScheduleError(f'{name}: an amount written as a string, e.g. "500"')
    try:
        out = Decimal(str(value))
    except ArithmeticError:
        raise ScheduleError(f"{name}: not an amount") from None
    if not out.is_finite() or out < 0 or out != out.quantize(Decimal("0.01")):
        raise ScheduleError(f"{name}: an amount in yuan, not below zero, at most to the fen")
    return out


def _minutes(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ScheduleError(f"{name}: a whole number of minutes above zero")
    return value


def parse_schedule(data: Mapping[str, Any]) -> Schedule:
    """A schedule from its data (raises `ScheduleError` on a wrong shape)."""
    try:
        scope = str(data["scope"])
        if not (len(scope) == 6 and scope.isdigit()):
            raise ScheduleError("scope: a six-digit region code")
        payer = str(data["payer"])
        if payer not in PAYERS:
            raise ScheduleError(f"payer: one of {', '.join(PAYERS)}")
        status = str(data["status"])
        if status not in STATUSES:
            raise ScheduleError(f"status: one of {', '.join(STATUSES)}")
        bands: list[Band] = []
        for i, b in enumerate(data["bands"]):
            band = Band(
                _minutes(b["up_to_minutes"], f"bands[{i}].up_to_minutes"),
                _money(b["fee"], f"bands[{i}].fee"),
            )
            if bands and (
                band.up_to_minutes <= bands[-1].up_to_minutes or band.fee < bands[-1].fee
            ):
                raise ScheduleError("bands: longer bands come later and pay no less")
            bands.append(band)
        if not bands:
            raise ScheduleError("bands: at least one")
        if _money(data["short_session_fee"], "short_session_fee") > bands[0].fee:
            raise ScheduleError("short_session_fee: at most the first band's fee")
        source = str(data["source"]).strip()
        if not source:
            raise ScheduleError("source: cite where the figures come from")
        return Schedule(
            scope=scope,
            name=str(data["name"]),
            payer=payer,
            bands=tuple(bands),
            extra_per_hour=_money(data["extra_per_hour"], "extra_per_hour"),
            leader_supplement=_money(data["leader_supplement"], "leader_supplement"),
            travel_allowance=_money(data["travel_allowance"], "travel_allowance"),
            offsite_travel_allowance=_money(
                data["offsite_travel_allowance"], "offsite_travel_allowance"
            ),
            meal_allowance=_money(data["meal_allowance"], "meal_allowance"),
            meal_after_minutes=_minutes(data["meal_after_minutes"], "meal_after_minutes"),
            short_session_fee=_money(data["short_session_fee"], "short_session_fee"),
            short_session_minutes=_minutes(data["short_session_minutes"], "short_session_minutes"),
            source=source,
            status=status,
        )
    except (KeyError, TypeError) as exc:
        raise ScheduleError(f"missing or wrong field: {exc}") from None
