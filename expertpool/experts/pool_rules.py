"""The rules of the pool over time (terms, renewal, continuing education) as versioned data.

The bundled file `data/pool-rules-v1.json` gives every rule its value and its source; a site may
point `EXPERTPOOL_POOL_RULES_FILE` at its own file of the same shape. Nothing here touches the
database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

BUNDLED = Path(__file__).parent / "data" / "pool-rules-v1.json"
FORMAT = "expertpool/pool-rules"

_KEYS = (
    "term_years",
    "renewal_window_days",
    "term_reminder_days",
    "training_hours_per_year",
    "lapsed_years_to_suspend",
    "lapsed_years_to_remove",
    "lapse_suspension_days",
    "training_reminder_days",
)


class PoolRulesError(ValueError):
    """A pool-rules file of the wrong shape."""


@dataclass(frozen=True)
class PoolRules:
    """One version of the pool's rules over time, each with its source."""

    term_years: int = 3
    renewal_window_days: int = 60
    term_reminder_days: int = 60
    training_hours_per_year: int = 16
    lapsed_years_to_suspend: int = 1
    lapsed_years_to_remove: int = 2
    lapse_suspension_days: int = 180
    training_reminder_days: int = 30
    version: int = 1
    effective_on: str = ""
    sources: dict[str, str] = field(default_factory=dict)

    def term_end(self, start: date) -> date:
        """The last day of a term that starts on `start` (inclusive)."""
        return add_years(start, self.term_years) - timedelta(days=1)

    def renewal_opens(self, term_ends_on: date) -> date:
        """The first day a renewal may be decided for a term ending on `term_ends_on`."""
        return term_ends_on - timedelta(days=self.renewal_window_days)


def add_years(day: date, years: int) -> date:
    """`day` moved by whole years (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def parse_pool_rules(doc: Any) -> PoolRules:
    """Rules from a decoded file; every key present, each a non-negative integer with a source."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise PoolRulesError(f"not a {FORMAT} document")
    rows = doc.get("rules")
    if not isinstance(rows, list):
        raise PoolRulesError("rules must be an array")
    values: dict[str, int] = {}
    sources: dict[str, str] = {}
    for row in rows:
        key = row.get("key") if isinstance(row, dict) else None
        if key not in _KEYS:
            raise PoolRulesError(f"unknown rule {key!r}")
        value = row.get("value")
        if type(value) is not int or value < 0:
            raise PoolRulesError(f"{key} must be a non-negative integer")
        source = row.get("source")
        if not isinstance(source, str) or not source.strip():
            raise PoolRulesError(f"{key} needs a source")
        values[key] = value
        sources[key] = source
    missing = [k for k in _KEYS if k not in values]
    if missing:
        raise PoolRulesError(f"missing rules: {', '.join(missing)}")
    if values["term_years"] < 1:
        raise PoolRulesError("term_years must be at least 1")
    if not 1 <= values["lapsed_years_to_suspend"] <= values["lapsed_years_to_remove"]:
        raise PoolRulesError("lapsed years: 1 <= to suspend <= to remove")
    return PoolRules(
        **values,
        version=int(doc.get("version", 1)),
        effective_on=str(doc.get("effective_on", "")),
        sources=sources,
    )


def load_pool_rules(path: str | Path = "") -> PoolRules:
    """The rules of a file (the bundled one when `path` is empty)."""
    source = Path(path) if path else BUNDLED
    return parse_pool_rules(json.loads(source.read_text(encoding="utf-8")))
