"""Who may serve (draw-v1 §4): exclusions with their first reason, and each group's eligible ids."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from draw.allocations import owning_allocations
from draw.errors import InsufficientPool
from draw.model import Candidate, DrawRequest, check_distinct_ids


class Reason(StrEnum):
    """Why a candidate is excluded, in the order the rules are tried."""

    NOT_ACTIVE = "not_active"
    UNAVAILABLE = "unavailable"
    EXCLUDED = "excluded"
    EMPLOYER_CONFLICT = "employer_conflict"
    AVOIDANCE_CONFLICT = "avoidance_conflict"
    FREQUENCY_CAP = "frequency_cap"


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A candidate left out of every group, with the first reason that applied."""

    id: str
    reason: Reason

    def to_json(self) -> dict[str, str]:
        """Return the exclusion as its JSON object."""
        return {"id": self.id, "reason": self.reason.value}


@dataclass(frozen=True, slots=True)
class Eligibility:
    """The outcome of §4: candidates in id order, exclusions, and eligible ids per group."""

    candidates: tuple[Candidate, ...]
    excluded: tuple[Exclusion, ...]
    eligible: Mapping[str, tuple[str, ...]]

    def excluded_json(self) -> list[dict[str, str]]:
        """The `excluded` array of §4."""
        return [e.to_json() for e in self.excluded]


def _by_id(candidate: Candidate) -> str:
    """Sort key: the id (ASCII, so code point order is byte order)."""
    return candidate.id


def exclusion_reason(candidate: Candidate, request: DrawRequest) -> Reason | None:
    """Return the first reason of §4 that excludes this candidate, or None."""
    orgs = set(request.bidder_orgs) | set(request.tenderer_orgs) | set(request.agency_orgs)
    return _reason(candidate, orgs, set(request.excluded_experts), request.max_recent_draws)


def _reason(c: Candidate, orgs: set[str], excluded: set[str], cap: int | None) -> Reason | None:
    """The rules of §4 in their order; the first that applies wins."""
    if c.status != "active":
        return Reason.NOT_ACTIVE
    if not c.available:
        return Reason.UNAVAILABLE
    if c.id in excluded:
        return Reason.EXCLUDED
    if c.employer != "" and c.employer in orgs:
        return Reason.EMPLOYER_CONFLICT
    if not orgs.isdisjoint(c.avoid_orgs):
        return Reason.AVOIDANCE_CONFLICT
    if cap is not None and c.recent_draws >= cap:
        return Reason.FREQUENCY_CAP
    return None


@owning_allocations
def evaluate_eligibility(request: DrawRequest, candidates: Iterable[Candidate]) -> Eligibility:
    """Apply §4: exclude with the first reason, then sort the rest into the groups they match."""
    ordered = tuple(sorted(candidates, key=_by_id))
    check_distinct_ids(ordered)
    orgs = set(request.bidder_orgs) | set(request.tenderer_orgs) | set(request.agency_orgs)
    excluded_ids = set(request.excluded_experts)
    cap = request.max_recent_draws
    rules = [
        (g.specialties, frozenset(g.regions_in), frozenset(g.regions_out)) for g in request.groups
    ]
    lists: list[list[str]] = [[] for _ in rules]
    excluded: list[Exclusion] = []
    # Many experts share the same specialties and region; remember which groups such a
    # profile matches instead of re-testing every prefix.
    matches: dict[tuple[tuple[str, ...], str], tuple[int, ...]] = {}
    for c in ordered:
        reason = _reason(c, orgs, excluded_ids, cap)
        if reason is not None:
            excluded.append(Exclusion(c.id, reason))
            continue
        profile = (c.specialties, c.region)
        hits = matches.get(profile)
        if hits is None:
            hits = tuple(
                i
                for i, (prefixes, regions_in, regions_out) in enumerate(rules)
                if (not regions_in or c.region in regions_in)
                and c.region not in regions_out
                and any(code.startswith(prefixes) for code in c.specialties)
            )
            matches[profile] = hits
        for i in hits:
            lists[i].append(c.id)
    eligible = {g.id: tuple(ids) for g, ids in zip(request.groups, lists, strict=True)}
    return Eligibility(candidates=ordered, excluded=tuple(excluded), eligible=eligible)


def check_pool(request: DrawRequest, eligibility: Eligibility) -> None:
    """Raise InsufficientPool when a group, or all groups together, lack eligible experts."""
    check_eligible(request, eligibility.eligible)


def check_eligible(request: DrawRequest, eligible: Mapping[str, Sequence[str]]) -> None:
    """`check_pool` on each group's eligible ids."""
    for group in request.groups:
        available = len(eligible[group.id])
        if available < group.count:
            raise InsufficientPool(group.id, group.count, available)
    needed = sum(g.count for g in request.groups)
    distinct = len(set().union(*eligible.values()))
    if needed > distinct:
        raise InsufficientPool(None, needed, distinct)
