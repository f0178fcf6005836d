"""The credit rule table as versioned data: events to points, thresholds, windows.

The bundled file `data/credit-rules-v1.json` gives every rule its value and its source (the
same shape as the pool rules, `experts/pool_rules.py`); a site may point
`EXPERTPOOL_CREDIT_RULES_FILE` at its own file. Nothing here touches the database.

Credit is counted per calendar year (China Standard Time): it starts at `base` on 1 January and
moves only by the year's events (the yearly reset; docs/record.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from expertpool.core.config import Config

BUNDLED = Path(__file__).parent / "data" / "credit-rules-v1.json"
FORMAT = "expertpool/credit-rules"

EVENT_RULES = (
    "rating_excellent",
    "rating_poor",
    "rating_very_poor",
    "absent",
    "late_check_in",
    "left_early",
    "withdrew_without_cause",
    "deviation_explanation_refused",
    "complaint_upheld",
)
"""Rules whose value is points (an event's effect on credit)."""

SETTINGS = (
    "base",
    "late_minutes",
    "low_mark",
    "rating_window_days",
    "objection_days",
    "propose_warning_below",
    "propose_suspension_below",
    "suspension_days",
    "propose_removal_below",
    "draw_exclusion_below",
)
"""Rules whose value is a number of points, minutes or days (non-negative)."""


class CreditRulesError(ValueError):
    """A credit-rules file of the wrong shape."""


@dataclass(frozen=True)
class CreditRules:
    """One version of the credit rules, each value with its source."""

    values: dict[str, int]
    version: int = 1
    effective_on: str = ""
    sources: dict[str, str] = field(default_factory=dict)

    def __getattr__(self, name: str) -> int:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def points(self, rule: str) -> int:
        """The points of an event rule."""
        return self.values[rule]

    def rows(self) -> list[tuple[str, int, str]]:
        """(rule, value, source) in the file's order, for the docs and the rule page."""
        return [(k, self.values[k], self.sources[k]) for k in (*SETTINGS, *EVENT_RULES)]


def rating_rule(average: float) -> str | None:
    """The event rule a rating's average triggers, if any."""
    if average < 2:
        return "rating_very_poor"
    if average < 3:
        return "rating_poor"
    if average >= 4.5:
        return "rating_excellent"
    return None


def parse_credit_rules(doc: Any) -> CreditRules:
    """Rules from a decoded file; every key present, each an integer with a source."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CreditRulesError(f"not a {FORMAT} document")
    rows = doc.get("rules")
    if not isinstance(rows, list):
        raise CreditRulesError("rules must be an array")
    values: dict[str, int] = {}
    sources: dict[str, str] = {}
    for row in rows:
        key = row.get("key") if isinstance(row, dict) else None
        if key not in (*SETTINGS, *EVENT_RULES):
            raise CreditRulesError(f"unknown rule {key!r}")
        value = row.get("value")
        if type(value) is not int or (key in SETTINGS and value < 0):
            raise CreditRulesError(f"{key} must be an integer (settings non-negative)")
        source = row.get("source")
        if not isinstance(source, str) or not source.strip():
            raise CreditRulesError(f"{key} needs a source")
        values[key] = value
        sources[key] = source
    missing = [k for k in (*SETTINGS, *EVENT_RULES) if k not in values]
    if missing:
        raise CreditRulesError(f"missing rules: {', '.join(missing)}")
    if not 1 <= values["low_mark"] <= 4:
        raise CreditRulesError("low_mark must be between 1 and 4")
    return CreditRules(
        values=values,
        version=int(doc.get("version", 1)),
        effective_on=str(doc.get("effective_on", "")),
        sources=sources,
    )


def load_credit_rules(path: str | Path = "") -> CreditRules:
    """The rules of a file (the bundled one when `path` is empty)."""
    source = Path(path) if path else BUNDLED
    return parse_credit_rules(json.loads(source.read_text(encoding="utf-8")))


@cache
def _rules_at(path: str) -> CreditRules:
    return load_credit_rules(path)


def credit_rules_for(config: Config) -> CreditRules:
    """The credit rules a site uses (its file, or the bundled one), read once per file."""
    return _rules_at(config.credit_rules_file)
