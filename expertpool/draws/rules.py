"""Pure rules of a draw request: timing in working days, groups and regions.

The committee's size and the timing rule's limit and exemptions depend on the project's legal
regime and method: they come from the rule table (`expertpool/regimes`).

Nothing here touches the database or Flask: callers pass the facts (the specialty catalogue,
the known regions, the project's numbers, the clock) and get field-level error messages back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from expertpool.core.calendar import CalendarNotCovered, cst_date, working_days_between

GROUP_KEY_PREFIX = "g"
MAX_GROUPS = 20
MAX_PREFIXES = 20
MAX_COUNT = 99


@dataclass(frozen=True)
class DrawRules:
    """The settings the rules depend on (taken from `Config`)."""

    frequency_cap: int = 0  # 0: no cap unless the request sets one
    frequency_window_days: int = 90
    # EXPERTPOOL_REMOTE_HIDE_SECONDARY_VENUE: secondary venues picked at random and hidden until
    # the opening (remote groups allowed); off, they are named on the project by its staff.
    hide_secondary_venue: bool = True

    @classmethod
    def from_config(cls, config: Any) -> DrawRules:
        """The rules of an application's `Config`."""
        return cls(
            frequency_cap=config.frequency_cap,
            frequency_window_days=config.frequency_window_days,
            hide_secondary_venue=config.remote_hide_secondary_venue,
        )


@dataclass(frozen=True)
class GroupSpec:
    """One validated group: its draw-v1 id, specialty prefixes, regions, primaries and backups."""

    key: str
    specialties: tuple[str, ...]
    regions_in: tuple[str, ...]
    regions_out: tuple[str, ...]
    count: int
    backups: int


# Timing ------------------------------------------------------------------------------------------


def timing_errors(
    *, now_at: datetime, evaluation_start_at: datetime, lead_working_days: int | None
) -> dict[str, str]:
    """Check that a draw now is before the evaluation and within `lead_working_days` working days of
    it (None: the draw is exempt from the lead-time limit, e.g. off-site evaluation or a
    negotiation method in government procurement).

    Working days from the draw day (counted when it is one) up to, not including, the evaluation
    day follow the official calendar, holidays and make-up days (调休) included.
    """
    if evaluation_start_at <= now_at:
        return {
            "evaluation_start": "the evaluation has already started; a draw is no longer possible"
        }
    if lead_working_days is None:
        return {}
    draw_day, eval_day = cst_date(now_at), cst_date(evaluation_start_at)
    try:
        between = working_days_between(draw_day, eval_day)
    except CalendarNotCovered as exc:
        return {"evaluation_start": str(exc)}
    if between > lead_working_days:
        return {
            "evaluation_start": (
                f"too early: {between} working days from {draw_day.isoformat()} to the evaluation "
                f"on {eval_day.isoformat()}; draw no earlier than {lead_working_days} working "
                "days before it"
            )
        }
    return {}


# Groups and regions ------------------------------------------------------------------------------


def _int_field(value: Any, *, minimum: int, maximum: int) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or not minimum <= value <= maximum:
        return None
    return value


def _code_list(value: Any) -> list[str] | None:
    """A list of codes from a JSON array or a comma/space separated string."""
    if value is None:
        return []
    if isinstance(value, str):
        return [p for p in value.replace(",", " ").replace("，", " ").split() if p]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    return None


def parse_regions(
    value: Any, known_regions: Mapping[str, str], field: str, errors: dict[str, str]
) -> tuple[str, ...]:
    """Region codes, each known; unknown ones become a field error."""
    codes = _code_list(value)
    if codes is None:
        errors[field] = "a list of region codes"
        return ()
    unknown = [c for c in codes if c not in known_regions]
    if unknown:
        errors[field] = "unknown region codes: " + ", ".join(unknown)
    return tuple(dict.fromkeys(codes))


def parse_groups(
    raw: Any,
    *,
    specialties: Mapping[str, bool],
    known_regions: Mapping[str, str],
    regions_in: tuple[str, ...],
    regions_out: tuple[str, ...],
    errors: dict[str, str],
) -> list[GroupSpec]:
    """Validate the groups; `specialties` maps each code of the tree to whether it is retired.

    Request-wide `regions_in`/`regions_out` apply to every group in addition to the group's own.
    """
    if not isinstance(raw, list) or not raw:
        errors["groups"] = "at least one group is required"
        return []
    if len(raw) > MAX_GROUPS:
        errors["groups"] = f"at most {MAX_GROUPS} groups"
        return []
    groups: list[GroupSpec] = []
    for i, item in enumerate(raw):
        where = f"groups[{i}]"
        if not isinstance(item, Mapping):
            errors[where] = "a group is an object with specialties, count and backups"
            continue
        prefixes = _code_list(item.get("specialties"))
        if not prefixes:
            errors[f"{where}.specialties"] = "choose at least one specialty from the tree"
            prefixes = []
        elif len(prefixes) > MAX_PREFIXES:
            errors[f"{where}.specialties"] = f"at most {MAX_PREFIXES} specialties"
        else:
            unknown = [p for p in prefixes if p not in specialties]
            retired = [p for p in prefixes if specialties.get(p)]
            if unknown:
                errors[f"{where}.specialties"] = "not in the specialty tree: " + ", ".join(unknown)
            elif retired:
                errors[f"{where}.specialties"] = "retired specialty codes: " + ", ".join(retired)
        count = _int_field(item.get("count"), minimum=1, maximum=MAX_COUNT)
        if count is None:
            errors[f"{where}.count"] = f"a whole number from 1 to {MAX_COUNT}"
        backups = _int_field(item.get("backups", 0), minimum=0, maximum=MAX_COUNT)
        if backups is None:
            errors[f"{where}.backups"] = f"a whole number from 0 to {MAX_COUNT}"
        own_in = parse_regions(item.get("regions_in"), known_regions, f"{where}.regions_in", errors)
        own_out = parse_regions(
            item.get("regions_out"), known_regions, f"{where}.regions_out", errors
        )
        g_in = tuple(dict.fromkeys(own_in + regions_in))
        g_out = tuple(dict.fromkeys(own_out + regions_out))
        if g_in and set(g_in) <= set(g_out):
            errors[f"{where}.regions_in"] = (
                "every allowed region is also excluded: nobody could serve"
            )
        groups.append(
            GroupSpec(
                key=f"{GROUP_KEY_PREFIX}{i + 1}",
                specialties=tuple(dict.fromkeys(prefixes)),
                regions_in=g_in,
                regions_out=g_out,
                count=count or 1,
                backups=backups or 0,
            )
        )
    return groups


def parse_frequency_cap(value: Any, rules: DrawRules, errors: dict[str, str]) -> int | None:
    """The cap on recent draws: the request's value, else the setting (0 or absent: no cap)."""
    if value is None or value == "":
        return rules.frequency_cap or None
    cap = _int_field(value, minimum=0, maximum=1000)
    if cap is None:
        errors["max_recent_draws"] = "a whole number ≥ 0 (0: no cap)"
        return None
    return cap or None
