"""Hypothesis properties of the draw: exclusions hold, counts are exact, order is irrelevant, replay
works.

The four draw properties generate feasible draws by construction (every group has its own core of
eligible experts with distinct employers, so a valid panel always exists) around extras that
overlap groups or share employers, and candidates each excluded by exactly one rule of draw-v1 §4
or matching no group. What each generated candidate should be (eligible for which groups, or
excluded for which reason) is known from how it was built, not from the engine. Each property
counts how many generated cases reached its assertions and fails when fewer than 80 % did.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from draw import (
    Candidate,
    DrawRequest,
    Infeasible,
    InsufficientPool,
    Transcript,
    evaluate_eligibility,
    run_draw,
    verify_transcript,
)
from draw.engine import _Ranker, order

from .conftest import TEST_KEY, make_candidate_json, make_group_json, make_request_json

EXAMPLES = 40
SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
REACHED = 0.8
"""The share of generated cases that must reach a property's assertions."""

CONFLICTING = ["BID1", "TEN1", "AGE1"]  # the request's bidder, tenderer and agency
REGIONS = ["R1", "R2", "R3", "R4"]
RULES = [
    "not_active",
    "unavailable",
    "excluded",
    "employer_conflict",
    "avoidance_conflict",
    "frequency_cap",
]
UNMATCHED = ["no_specialty", "wrong_region"]


@dataclass
class Case:
    """A generated draw and what the construction says about each candidate."""

    request: dict[str, Any]
    pool: list[dict[str, Any]]
    groups_of: dict[str, frozenset[str]]
    """Expert id -> the groups it is eligible for (empty for excluded and unmatched ones)."""
    reason_of: dict[str, str]
    """Expert id -> the exclusion reason it was built to have."""

    def eligible(self, group: str) -> set[str]:
        """The ids the construction made eligible for `group`."""
        return {e for e, gs in self.groups_of.items() if group in gs}


@dataclass
class Reach:
    """How many generated cases a property saw and how many reached its assertions."""

    generated: int = 0
    reached: int = 0
    failures: list[str] = field(default_factory=list)

    def check(self) -> None:
        """Fail when too few cases were generated or too few reached the assertions."""
        assert self.generated >= EXAMPLES // 2, f"only {self.generated} cases generated"
        assert self.reached >= REACHED * self.generated, (
            f"only {self.reached} of {self.generated} generated cases reached the assertions"
        )


def _valid_regions(groups: list[dict[str, Any]]) -> list[str]:
    """Regions every one of `groups` accepts (R1 always is: see `_group`)."""
    return [
        r
        for r in REGIONS
        if all(
            (not g["regions_in"] or r in g["regions_in"]) and r not in g["regions_out"]
            for g in groups
        )
    ]


def _rejected_region(group: dict[str, Any]) -> str | None:
    """A region `group` refuses, if it refuses any."""
    for r in REGIONS:
        if (group["regions_in"] and r not in group["regions_in"]) or r in group["regions_out"]:
            return r
    return None


@st.composite
def feasible_cases(draw: st.DrawFn) -> Case:
    """A request and a pool for which a valid panel exists, with noise around it."""
    cap = draw(st.none() | st.integers(1, 3))
    groups = [
        make_group_json(
            id=f"g{k}",
            specialties=[f"S{k}."],
            regions_in=draw(st.sampled_from([[], ["R1"], ["R1", "R2"]])),
            regions_out=draw(st.sampled_from([[], ["R4"], ["R3", "R4"]])),
            count=draw(st.integers(1, 3)),
            backups=draw(st.integers(0, 3)),
        )
        for k in range(draw(st.sampled_from([2, 3, 1])))
    ]
    # (groups it is built for, fields, expected exclusion reason)
    built: list[tuple[frozenset[str], dict[str, Any], str | None]] = []

    def eligible(member_of: list[int], employer: str) -> dict[str, Any]:
        mine = [groups[k] for k in member_of]
        return {
            "specialties": [f"S{k}.{draw(st.integers(0, 9))}" for k in member_of],
            "region": draw(st.sampled_from(_valid_regions(mine))),
            "employer": employer,
            "avoid_orgs": draw(
                st.lists(st.sampled_from(["ORG1", "OTHER"]), max_size=2, unique=True)
            ),
            "recent_draws": draw(st.integers(0, 4 if cap is None else cap - 1)),
        }

    core_employers: list[str] = []
    for k, g in enumerate(groups):
        for j in range(g["count"]):
            # The cores: distinct employers (or none), so they form a valid panel together.
            employer = draw(st.sampled_from([f"U{k}{j}", ""]))
            core_employers.append(employer)
            built.append((frozenset({g["id"]}), eligible([k], employer), None))
    for k, g in enumerate(groups):
        for _ in range(draw(st.sampled_from([2, 1, 3, 0]))):
            # Extras: some also serve another group, some share an employer with others.
            other = draw(st.sampled_from([i for i in range(len(groups)) if i != k] + [k]))
            member_of = sorted({k, other})
            employer = draw(st.sampled_from(["", "ORG1", "ORG2", *core_employers]))
            built.append(
                (frozenset(groups[i]["id"] for i in member_of), eligible(member_of, employer), None)
            )
        kinds = [*RULES, *UNMATCHED]
        for kind in draw(st.lists(st.sampled_from(kinds), min_size=1, max_size=4, unique=True)):
            fields = eligible([k], "")
            if kind == "not_active":
                fields["status"] = draw(st.sampled_from(["suspended", "retired"]))
            elif kind == "unavailable":
                fields["available"] = False
            elif kind == "employer_conflict":
                fields["employer"] = draw(st.sampled_from(CONFLICTING))
            elif kind == "avoidance_conflict":
                fields["avoid_orgs"] = [*fields["avoid_orgs"], draw(st.sampled_from(CONFLICTING))]
            elif kind == "frequency_cap":
                if cap is None:
                    continue
                fields["recent_draws"] = cap + draw(st.integers(0, 2))
            elif kind == "no_specialty":
                fields["specialties"] = draw(st.lists(st.sampled_from(["Z9.1", "S"]), max_size=2))
            elif kind == "wrong_region":
                region = _rejected_region(g)
                if region is None:
                    continue
                fields["region"] = region
            built.append((frozenset(), fields, kind if kind in RULES else None))
    numbers = draw(
        st.lists(st.integers(0, 999), min_size=len(built), max_size=len(built), unique=True)
    )
    ids = [f"E{n:03d}" for n in numbers]
    pool = [
        make_candidate_json(id=i, **fields) for i, (_, fields, _) in zip(ids, built, strict=True)
    ]
    excluded = [i for i, (_, _, reason) in zip(ids, built, strict=True) if reason == "excluded"]
    request = make_request_json(
        bidder_orgs=CONFLICTING[:1],
        tenderer_orgs=CONFLICTING[1:2],
        agency_orgs=CONFLICTING[2:],
        groups=groups,
        excluded_experts=draw(st.permutations([*excluded, "X999"])),
        max_recent_draws=cap,
        distinct_employers=draw(st.sampled_from([True, True, False])),
    )
    return Case(
        request=request,
        pool=pool,
        groups_of={i: gs for i, (gs, _, _) in zip(ids, built, strict=True)},
        reason_of={i: r for i, (_, _, r) in zip(ids, built, strict=True) if r is not None},
    )


secrets_ = st.binary(min_size=32, max_size=32).map(bytes.hex)


def draw_or_none(request: DrawRequest, pool: list[Candidate], secret: str) -> Transcript | None:
    """Run the draw; None when the pool is insufficient or the request infeasible."""
    try:
        return run_draw(
            request,
            pool,
            secret,
            ["123456", "654321"],
            TEST_KEY,
            committed_at="2026-11-28T09:00:00Z",
        )
    except (InsufficientPool, Infeasible):
        return None


def check_feasible_draws(
    prop: Callable[[Case, DrawRequest, list[Candidate], Transcript], None],
) -> None:
    """Run `prop` on generated feasible draws; fail when fewer than 80 % of them reach it."""
    reach = Reach()

    @SETTINGS
    @given(feasible_cases(), secrets_)
    def run(case: Case, secret: str) -> None:
        reach.generated += 1
        request = DrawRequest.from_json(case.request)
        pool = [Candidate.from_json(c) for c in case.pool]
        transcript = draw_or_none(request, pool, secret)
        if transcript is None:
            return
        reach.reached += 1
        prop(case, request, pool, transcript)

    run()
    reach.check()


def test_no_excluded_or_unmatched_expert_is_ever_chosen() -> None:
    def prop(case: Case, request: DrawRequest, pool: list[Candidate], t: Transcript) -> None:
        reasons = {e.id: e.reason.value for e in evaluate_eligibility(request, pool).excluded}
        assert reasons == case.reason_of
        for group in t.result.groups:
            for expert in group.primaries + group.backups:
                assert expert not in case.reason_of, (expert, case.reason_of[expert])
                assert group.group in case.groups_of[expert], (expert, group.group)

    check_feasible_draws(prop)


def test_each_group_gets_exactly_count_primaries_and_nobody_is_primary_twice() -> None:
    def prop(case: Case, request: DrawRequest, pool: list[Candidate], t: Transcript) -> None:
        everyone = [e for g in t.result.groups for e in g.primaries]
        assert len(everyone) == len(set(everyone))
        for group, result in zip(request.groups, t.result.groups, strict=True):
            assert result.group == group.id
            assert len(result.primaries) == group.count
            left = case.eligible(group.id) - set(everyone)
            assert len(result.backups) == min(group.backups, len(left))
            assert len(set(result.backups)) == len(result.backups)
            assert not set(result.backups) & set(everyone)
        if request.distinct_employers:
            employers = {c.id: c.employer for c in pool}
            named = [employers[e] for e in everyone if employers[e]]
            assert len(named) == len(set(named))

    check_feasible_draws(prop)


def test_the_order_of_candidate_records_never_matters() -> None:
    def prop(case: Case, request: DrawRequest, pool: list[Candidate], t: Transcript) -> None:
        for shuffled in (pool[::-1], pool[1::2] + pool[::2]):
            again = draw_or_none(request, shuffled, t.secret)
            assert again is not None
            assert again.to_json() == t.to_json()

    check_feasible_draws(prop)


def test_a_replay_of_any_draw_verifies() -> None:
    def prop(case: Case, request: DrawRequest, pool: list[Candidate], t: Transcript) -> None:
        assert verify_transcript(t.to_json()) == []

    check_feasible_draws(prop)


def test_the_guard_fails_when_too_few_cases_reach_the_assertions() -> None:
    few = Reach(generated=EXAMPLES, reached=int(REACHED * EXAMPLES) - 1)
    try:
        few.check()
    except AssertionError:
        pass
    else:
        raise AssertionError("the reach guard let 79 % through")
    Reach(generated=EXAMPLES, reached=int(REACHED * EXAMPLES)).check()


@SETTINGS
@given(st.integers(2, 4), st.integers(1, 6), secrets_)
def test_infeasible_requests_raise_and_never_return_a_partial_panel(
    seats, pool_size, secret
) -> None:
    # Everyone works for the same employer, so distinct employers can fill at most one seat.
    pool = [
        Candidate.from_json(make_candidate_json(id=f"E{i}", employer="ORG1"))
        for i in range(max(pool_size, seats))
    ]
    request = DrawRequest.from_json(
        make_request_json(distinct_employers=True, groups=[make_group_json(count=seats)])
    )
    try:
        run_draw(request, pool, secret, ["123456"], TEST_KEY, committed_at="2026-11-28T09:00:00Z")
    except Infeasible as error:
        assert error.code == "infeasible"
    else:
        raise AssertionError("an infeasible draw returned a panel")


def test_overlapping_groups_that_cannot_be_filled_apart_are_infeasible_after_all_attempts() -> None:
    # Group a needs 2 of {E0,E1} and group b 1 of them: no valid panel exists, yet the total
    # check passes (4 seats, 4 distinct eligible experts), so all 1000 attempts are tried.
    pool = [
        Candidate.from_json(make_candidate_json(id="E0", specialties=["A1"])),
        Candidate.from_json(make_candidate_json(id="E1", specialties=["A1"])),
        Candidate.from_json(make_candidate_json(id="E2", specialties=["B1"])),
        Candidate.from_json(make_candidate_json(id="E3", specialties=["B1"])),
    ]
    request = DrawRequest.from_json(
        make_request_json(
            groups=[
                make_group_json(id="a", specialties=["A"], count=2),
                make_group_json(id="b", specialties=["A"], count=1),
                make_group_json(id="c", specialties=["B"], count=1),
            ]
        )
    )
    try:
        run_draw(
            request, pool, "ab" * 32, ["123456"], TEST_KEY, committed_at="2026-11-28T09:00:00Z"
        )
    except Infeasible as error:
        assert error.attempts == 1000
    else:
        raise AssertionError("expected infeasible")


@SETTINGS
@given(
    st.binary(min_size=32, max_size=32),
    st.integers(0, 999),
    st.sampled_from(["g", "tech.1", "A:b-c"]),
    st.lists(
        st.sampled_from(["E1", "x.y", "Z:9", "a-b", "E10"]), min_size=1, max_size=5, unique=True
    ),
)
def test_the_fast_ranker_equals_the_specified_rank_order(key, attempt, group_id, ids) -> None:
    ids = sorted(ids)
    assert _Ranker(key, group_id, ids).first(attempt, len(ids)) == order(
        key, attempt, group_id, ids
    )


def test_the_key_changes_with_every_witness_entry() -> None:
    pool = [Candidate.from_json(make_candidate_json(id=f"E{i:02d}")) for i in range(30)]
    request = DrawRequest.from_json(make_request_json(groups=[make_group_json(count=3)]))
    secret = hashlib.sha256(b"fixed").hexdigest()
    panels = {
        tuple(
            run_draw(request, pool, secret, w, TEST_KEY, committed_at="2026-11-28T09:00:00Z")
            .result.groups[0]
            .primaries
        )
        for w in (["123456"], ["123457"], ["123456", "000000"])
    }
    assert len(panels) == 3
