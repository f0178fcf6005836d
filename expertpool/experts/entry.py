"""How an application enters the pool: the review chain per specialty field, the batch windows
and the publicity period, as versioned data (`data/entry-rules-v1.json`, docs/entry.md).

The chain of an application is the one of the department field covering its first specialty (a
sector field, not development and reform), or the default `*` chain. Each step names who owns it;
the reviewer queue and every decision check that the reviewer's department owns the step the
application is at. Batches are yearly month-day windows: an application is reviewed in the first
window ending on or after the day it was submitted, and waits until that window opens.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Any

from sqlalchemy.orm import Session

from expertpool.accounts.models import User, UserRole
from expertpool.core.calendar import CalendarNotCovered, cst_date, is_working_day
from expertpool.core.config import Config
from expertpool.departments import scope
from expertpool.departments.coverage import coverage, region_covers
from expertpool.departments.models import DepartmentField
from expertpool.experts.models import EntryState, Expert

log = logging.getLogger(__name__)

DATA_FILE = "entry-rules-v1.json"
OWNERS = ("covering", "industry", "province_coordination")


class EntryRulesError(ValueError):
    """The entry rules file is malformed or names an unknown rule set."""


@dataclass(frozen=True)
class Step:
    """One step of a review chain: its name (a label key) and who owns it."""

    name: str
    owner: str


@dataclass(frozen=True)
class Window:
    """A yearly batch window, month-day to month-day inclusive."""

    name: str
    start: tuple[int, int]
    end: tuple[int, int]

    def in_year(self, year: int) -> tuple[date, date]:
        """The window's dates in `year`."""
        return date(year, *self.start), date(year, *self.end)


@dataclass(frozen=True)
class EntryRules:
    """One rule set: chains by field, batch windows, publicity working days."""

    name: str
    chains: dict[str, tuple[Step, ...]]
    windows: tuple[Window, ...]
    publicity_working_days: int
    source: str

    def chain_for(self, specialty_codes: list[str]) -> tuple[Step, ...]:
        """The chain of an application holding these specialties."""
        if specialty_codes:
            first = sorted(specialty_codes)[0]
            for field, cover in coverage().items():
                if field is DepartmentField.COORDINATION or field.value not in self.chains:
                    continue
                if cover.reviews([first]):
                    return self.chains[field.value]
        return self.chains["*"]

    def batch_of(self, submitted_on: date) -> tuple[date, date] | None:
        """The window an application submitted on that day is reviewed in (None: no batches)."""
        if not self.windows:
            return None
        found = [
            w.in_year(year)
            for year in (submitted_on.year, submitted_on.year + 1)
            for w in self.windows
        ]
        return min((s, e) for s, e in found if e >= submitted_on)


def _mmdd(text: str) -> tuple[int, int]:
    month, day = (int(p) for p in text.split("-"))
    date(2024, month, day)  # refuses 02-30 and the like (2024 has a 29 February)
    return month, day


def parse_rules(data: dict[str, Any], name: str) -> EntryRules:
    """One rule set of an entry-rules document; `EntryRulesError` when anything is off."""
    try:
        raw = data["rule_sets"][name]
        chains = {
            field: tuple(Step(s["name"], s["owner"]) for s in steps)
            for field, steps in raw["chains"].items()
        }
        windows = tuple(Window(w["name"], _mmdd(w["from"]), _mmdd(w["to"])) for w in raw["batches"])
        days = int(raw["publicity_working_days"])
        source = str(raw["source"])
    except (KeyError, TypeError, ValueError) as exc:
        raise EntryRulesError(f"entry rule set {name!r}: {exc!r}") from None
    if "*" not in chains or any(not c for c in chains.values()):
        raise EntryRulesError(f"entry rule set {name!r}: every chain needs a step, and '*' one")
    if any(s.owner not in OWNERS for c in chains.values() for s in c):
        raise EntryRulesError(f"entry rule set {name!r}: an unknown step owner")
    if any(w.start > w.end for w in windows) or days < 0:
        raise EntryRulesError(f"entry rule set {name!r}: a window ends before it starts")
    return EntryRules(name, chains, windows, days, source)


@cache
def bundled_rules(name: str) -> EntryRules:
    """A rule set of the bundled file, read once."""
    text = resources.files("expertpool.experts").joinpath("data", DATA_FILE).read_text("utf-8")
    return parse_rules(json.loads(text), name)


def rules_for(config: Config) -> EntryRules:
    """The entry rules a site uses (`EXPERTPOOL_ENTRY_RULES`)."""
    return bundled_rules(config.entry_rules)


SINGLE = "single"


# State of one application ----------------------------------------------------------------------


def state_of(session: Session, expert: Expert) -> EntryState:
    """The expert's entry row, added (not flushed) when missing."""
    row = session.get(EntryState, expert.id)
    if row is None:
        row = EntryState(expert_id=expert.id, step=0, recommended_by="")
        session.add(row)
    return row


def step_index(chain: tuple[Step, ...], row: EntryState | None) -> int:
    """The current step (clamped to the chain, should the rules have shortened it)."""
    return min(row.step if row is not None else 0, len(chain) - 1)


def owns(session: Session, user: User, expert: Expert, step: Step) -> bool:
    """Whether the reviewer's department owns this step of the expert's application."""
    if user.role is not UserRole.REVIEWER:
        return False
    codes, region = expert.specialty_codes, expert.home_region
    if step.owner == "covering":
        return scope.may_review(session, user, codes, region)
    dept = scope.department_of(session, user)
    if dept is None:
        return False
    if step.owner == "industry":
        return dept.field is not DepartmentField.COORDINATION and scope.may_review(
            session, user, codes, region
        )
    # province_coordination: the provincial development and reform department (the pool office)
    return (
        dept.field is DepartmentField.COORDINATION
        and dept.region_code.endswith("0000")
        and region_covers(dept.region_code, region)
    )


def batch_open(rules: EntryRules, expert: Expert, today: date) -> bool:
    """Whether the application's batch window has opened (always, without batches)."""
    if expert.submitted_at is None:
        return True
    window = rules.batch_of(cst_date(expert.submitted_at))
    return window is None or today >= window[0]


def waiting_for(rules: EntryRules, expert: Expert, today: date) -> tuple[date, date] | None:
    """The batch window a submitted application waits for (None when it is not waiting)."""
    if expert.submitted_at is None or batch_open(rules, expert, today):
        return None
    return rules.batch_of(cst_date(expert.submitted_at))


def _working(day: date) -> bool:
    try:
        return is_working_day(day)
    except CalendarNotCovered:
        # The official calendar is published a year at a time: beyond it, Monday to Friday.
        log.warning("no official calendar for %s: counting weekdays", day.year)
        return day.weekday() < 5


def publicity_period(start_after: date, working_days: int) -> tuple[date, date]:
    """The first and last day of a publicity of `working_days` working days that starts on the
    working day after `start_after`."""
    day = start_after
    first: date | None = None
    counted = 0
    while counted < working_days:
        day += timedelta(days=1)
        if _working(day):
            counted += 1
            first = first or day
    return (first or day), day
