"""The rules of one regime and method, resolved from rule rows, and the pure checks that use them.

Nothing here touches the database: `resolve` takes the rows of one version (as plain dicts) and
returns a `RuleSet`; the checks take a rule set and the project's facts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from expertpool.regimes.models import ANY

RULE_KEYS: dict[str, str] = {
    "committee_min_members": "int",
    "committee_large_min_members": "int?",
    "committee_large_budget_cny": "cny?",
    "committee_large_when_complex": "bool",
    "committee_odd": "bool",
    "expert_share": "fraction",
    "representative_may_lead": "bool",
    "draw_lead_working_days": "int",
    "draw_timing_exempt": "bool",
    "draw_timing_exempt_offsite": "bool",
    "scoring_methods": "list",
    "price_weight_pct": "ranges",
    "small_enterprise_deduction_pct": "number",
    "tie_rule": "tie",
    "review_majority": "majority",
    "low_score_reason_pct": "number?",
    "method_total_points": "number?",
    "max_candidates": "int",
    "report_contents": "list",
    "qualification_paths": "paths",
}
"""Every rule a regime and method must resolve, with the shape of its value."""

TIE_RULES = ("price", "price_then_technical")
MAJORITIES = ("simple_majority", "two_thirds")
TITLE_LEVELS = ("full_senior", "deputy_senior", "equivalent", "intermediate", "junior")


class RuleError(ValueError):
    """A rule value of the wrong shape, or a rule the table does not resolve."""


@dataclass(frozen=True)
class QualificationPath:
    """One way to qualify: one of these title levels and at least this many years."""

    levels: tuple[str, ...]
    min_years: int

    def admits(self, level: str | None, years: int | None) -> bool:
        """Whether an expert with this title level and experience qualifies by this path."""
        return level in self.levels and (years or 0) >= self.min_years


@dataclass(frozen=True)
class RuleSet:
    """The resolved rules of one regime and method in one version."""

    version: int
    regime: str
    method: str
    committee_min_members: int
    committee_large_min_members: int | None
    committee_large_budget_cny: int | None
    committee_large_when_complex: bool
    committee_odd: bool
    expert_share: tuple[int, int]
    representative_may_lead: bool
    draw_lead_working_days: int
    draw_timing_exempt: bool
    draw_timing_exempt_offsite: bool
    scoring_methods: tuple[str, ...]
    price_weight_pct: dict[str, tuple[int, int]]
    small_enterprise_deduction_pct: Decimal
    tie_rule: str
    review_majority: str
    low_score_reason_pct: Decimal | None
    """A subjective score below this share (%) of its item's maximum needs a reason."""
    method_total_points: Decimal | None
    """The points a comprehensive scoring method adds up to (None: not fixed)."""
    max_candidates: int
    report_contents: tuple[str, ...]
    qualification_paths: tuple[QualificationPath, ...]
    sources: dict[str, tuple[str, str]] = field(default_factory=dict)
    """rule key -> (source, status) of the row that gave its value."""

    def committee_minimum(self, *, budget_fen: int, is_complex: bool) -> int:
        """The smallest committee for this budget and complexity."""
        large = self.committee_large_min_members
        if large is None:
            return self.committee_min_members
        band = self.committee_large_budget_cny
        if (band is not None and budget_fen >= band * 100) or (
            is_complex and self.committee_large_when_complex
        ):
            return max(large, self.committee_min_members)
        return self.committee_min_members

    def lead_days(self, *, is_offsite: bool) -> int | None:
        """The draw's lead-time limit in working days, or None when this draw is exempt."""
        if self.draw_timing_exempt or (is_offsite and self.draw_timing_exempt_offsite):
            return None
        return self.draw_lead_working_days

    def is_qualified(self, level: str | None, years: int | None) -> bool:
        """Whether an expert qualifies by one of this regime's paths."""
        return any(p.admits(level, years) for p in self.qualification_paths)


def _check(key: str, value: Any) -> Any:
    """The value in its Python shape, or `RuleError`."""
    shape = RULE_KEYS.get(key)
    if shape is None:
        raise RuleError(f"unknown rule {key}")
    if shape.endswith("?"):
        if value is None:
            return None
        shape = shape[:-1]
    if shape == "int":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 99:
            raise RuleError(f"{key}: a whole number from 0 to 99")
        return value
    if shape == "cny":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise RuleError(f"{key}: an amount in yuan")
        return value
    if shape == "bool":
        if not isinstance(value, bool):
            raise RuleError(f"{key}: true or false")
        return value
    if shape == "fraction":
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            or not 0 < value[0] <= value[1]
        ):
            raise RuleError(f"{key}: [numerator, denominator]")
        return (value[0], value[1])
    if shape == "list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise RuleError(f"{key}: a list of names")
        return tuple(value)
    if shape == "ranges":
        if not isinstance(value, dict):
            raise RuleError(f"{key}: kind -> [lowest, highest] percent")
        out: dict[str, tuple[int, int]] = {}
        for kind, pair in value.items():
            if (
                not isinstance(pair, list)
                or len(pair) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair)
                or not 0 <= pair[0] <= pair[1] <= 100
            ):
                raise RuleError(f"{key}: {kind} needs [lowest, highest] percent")
            out[str(kind)] = (pair[0], pair[1])
        return out
    if shape == "number":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise RuleError(f"{key}: a percentage")
        number = Decimal(str(value))
        if not Decimal(0) <= number <= Decimal(100):
            raise RuleError(f"{key}: a percentage from 0 to 100")
        return number
    if shape == "tie":
        if value not in TIE_RULES:
            raise RuleError(f"{key}: one of {', '.join(TIE_RULES)}")
        return value
    if shape == "majority":
        if value not in MAJORITIES:
            raise RuleError(f"{key}: one of {', '.join(MAJORITIES)}")
        return value
    if shape == "paths":
        if not isinstance(value, list) or not value:
            raise RuleError(f"{key}: at least one path")
        paths = []
        for p in value:
            if (
                not isinstance(p, dict)
                or not isinstance(p.get("levels"), list)
                or not p["levels"]
                or not all(v in TITLE_LEVELS for v in p["levels"])
                or not isinstance(p.get("min_years"), int)
                or isinstance(p.get("min_years"), bool)
                or not 0 <= p["min_years"] <= 60
            ):
                raise RuleError(f"{key}: each path has title levels and min_years")
            paths.append(QualificationPath(tuple(p["levels"]), p["min_years"]))
        return tuple(paths)
    raise RuleError(f"unknown shape of {key}")  # pragma: no cover - RULE_KEYS is closed


def parse_value(key: str, text: str) -> Any:
    """A rule value typed as JSON text, checked for its rule's shape (returned as parsed JSON)."""
    try:
        value = json.loads(text)
    except ValueError:
        raise RuleError(f"{key}: not valid JSON") from None
    _check(key, value)
    return value


def resolve(version: int, rows: Iterable[Mapping[str, Any]], regime: str, method: str) -> RuleSet:
    """The rule set of `regime` and `method` from one version's rows (dicts with regime, method,
    key, value, source, status). The most specific row wins: (regime, method), then (regime, *),
    then (*, *).
    """
    rank = {(regime, method): 0, (regime, ANY): 1, (ANY, ANY): 2}
    best: dict[str, tuple[int, Mapping[str, Any]]] = {}
    for row in rows:
        r = rank.get((row["regime"], row["method"]))
        if r is None:
            continue
        key = row["key"]
        if key not in best or r < best[key][0]:
            best[key] = (r, row)
    missing = [k for k in RULE_KEYS if k not in best]
    if missing:
        raise RuleError(f"no rule for {regime}/{method}: {', '.join(missing)}")
    values = {k: _check(k, row["value"]) for k, (_, row) in best.items()}
    sources = {k: (str(row["source"]), str(row["status"])) for k, (_, row) in best.items()}
    return RuleSet(version=version, regime=regime, method=method, sources=sources, **values)


# Checks ------------------------------------------------------------------------------------------


def committee_errors(
    rules: RuleSet, *, expert_count: int, representatives: int, budget_fen: int, is_complex: bool
) -> dict[str, str]:
    """Check the committee (experts plus the tenderer's representatives); empty when lawful."""
    size = expert_count + representatives
    minimum = rules.committee_minimum(budget_fen=budget_fen, is_complex=is_complex)
    num, den = rules.expert_share
    problems = []
    if size < minimum:
        problems.append(
            f"the committee has {size} members ({expert_count} experts + {representatives} "
            f"tenderer representatives); at least {minimum} are required"
        )
    if rules.committee_odd and size % 2 == 0:
        problems.append(f"the committee has {size} members; it must be odd")
    if den * expert_count < num * size:
        needed = -(-num * size // den)
        share = "two thirds" if (num, den) == (2, 3) else f"{num}/{den}"
        problems.append(
            f"experts must be at least {share} of the committee: {expert_count} of {size}, "
            f"at least {needed} needed"
        )
    return {"committee": "; ".join(problems)} if problems else {}


def method_total_errors(rules: RuleSet, *, total: Decimal) -> dict[str, str]:
    """Check a scoring method's total points against the rules' fixed total (when set)."""
    fixed = rules.method_total_points
    if fixed is None or total == fixed:
        return {}
    return {"total": f"the items must add up to {fixed} points ({total})"}


def price_weight_errors(rules: RuleSet, *, kind: str, weight_pct: Decimal | None) -> dict[str, str]:
    """Check a comprehensive-scoring price weight against the range for the project's kind."""
    allowed = rules.price_weight_pct.get(kind)
    if allowed is None or weight_pct is None:
        return {}
    lo, hi = allowed
    if not Decimal(lo) <= weight_pct <= Decimal(hi):
        return {"price_weight": f"the price weight must be from {lo} % to {hi} % ({weight_pct} %)"}
    return {}
