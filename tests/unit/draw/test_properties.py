"""Hypothesis properties of the draw: exclusions hold, counts are exact, order is irrelevant, replay
works.
"""

from __future__ import annotations

import hashlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from draw import (
    Candidate,
    DrawRequest,
    Infeasible,
    InsufficientPool,
    evaluate_eligibility,
    run_draw,
    verify_transcript,
)
from draw.eligibility import exclusion_reason
from draw.engine import _Ranker, order

from .conftest import TEST_KEY, make_candidate_json, make_group_json, make_request_json

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ORGS = ["", "ORG1", "ORG2", "ORG3", "BID1", "TEN1"]


@st.composite
def candidates(draw: st.DrawFn) -> list[dict[str, Any]]:
    ids = draw(st.lists(st.integers(0, 40), min_size=1, max_size=14, unique=True))
    return [
        make_candidate_json(
            id=f"E{i:03d}",
            status=draw(st.sampled_from(["active", "active", "active", "suspended"])),
            available=draw(st.booleans() | st.just(True)),
            specialties=draw(st.lists(st.sampled_from(["A01", "A0201", "B01", "C9"]), max_size=3)),
            region=draw(st.sampled_from(["R1", "R2", "R3"])),
            employer=draw(st.sampled_from(ORGS)),
            avoid_orgs=draw(st.lists(st.sampled_from(ORGS[1:]), max_size=2)),
            recent_draws=draw(st.integers(0, 4)),
        )
        for i in ids
    ]


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 3))
    groups = [
        make_group_json(
            id=f"g{k}",
            specialties=draw(
                st.lists(st.sampled_from(["A", "A01", "A02", "B", "C9"]), min_size=1, max_size=2)
            ),
            regions_in=draw(st.lists(st.sampled_from(["R1", "R2", "R3"]), max_size=2)),
            regions_out=draw(st.lists(st.sampled_from(["R1", "R2", "R3"]), max_size=1)),
            count=draw(st.integers(1, 3)),
            backups=draw(st.integers(0, 3)),
        )
        for k in range(n)
    ]
    return make_request_json(
        groups=groups,
        excluded_experts=draw(
            st.lists(st.sampled_from([f"E{i:03d}" for i in range(0, 40, 3)]), max_size=3)
        ),
        max_recent_draws=draw(st.none() | st.integers(0, 4)),
        distinct_employers=draw(st.booleans()),
    )


secrets_ = st.binary(min_size=32, max_size=32).map(bytes.hex)


def draw_or_none(request: DrawRequest, pool: list[Candidate], secret: str) -> Any:
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


@SETTINGS
@given(requests(), candidates(), secrets_)
def test_no_excluded_or_unmatched_expert_is_ever_chosen(raw_request, raw_pool, secret) -> None:
    request = DrawRequest.from_json(raw_request)
    pool = [Candidate.from_json(c) for c in raw_pool]
    transcript = draw_or_none(request, pool, secret)
    if transcript is None:
        return
    eligible = evaluate_eligibility(request, pool).eligible
    by_id = {c.id: c for c in pool}
    for group in transcript.result.groups:
        for expert in group.primaries + group.backups:
            assert exclusion_reason(by_id[expert], request) is None
            assert expert in eligible[group.group]


@SETTINGS
@given(requests(), candidates(), secrets_)
def test_each_group_gets_exactly_count_primaries_and_nobody_is_primary_twice(
    raw_request, raw_pool, secret
) -> None:
    request = DrawRequest.from_json(raw_request)
    pool = [Candidate.from_json(c) for c in raw_pool]
    transcript = draw_or_none(request, pool, secret)
    if transcript is None:
        return
    everyone = [e for g in transcript.result.groups for e in g.primaries]
    assert len(everyone) == len(set(everyone))
    employers = {c.id: c.employer for c in pool}
    for group, result in zip(request.groups, transcript.result.groups, strict=True):
        assert result.group == group.id
        assert len(result.primaries) == group.count
        assert len(result.backups) <= group.backups
        assert not set(result.backups) & set(everyone)
    if request.distinct_employers:
        named = [employers[e] for e in everyone if employers[e]]
        assert len(named) == len(set(named))


@SETTINGS
@given(requests(), candidates(), secrets_, st.randoms(use_true_random=False))
def test_the_order_of_candidate_records_never_matters(
    raw_request, raw_pool, secret, shuffler
) -> None:
    request = DrawRequest.from_json(raw_request)
    pool = [Candidate.from_json(c) for c in raw_pool]
    shuffled = list(pool)
    shuffler.shuffle(shuffled)
    first = draw_or_none(request, pool, secret)
    second = draw_or_none(request, shuffled, secret)
    assert (first is None) == (second is None)
    if first is not None:
        assert first.to_json() == second.to_json()


@SETTINGS
@given(requests(), candidates(), secrets_)
def test_a_replay_of_any_draw_verifies(raw_request, raw_pool, secret) -> None:
    request = DrawRequest.from_json(raw_request)
    pool = [Candidate.from_json(c) for c in raw_pool]
    transcript = draw_or_none(request, pool, secret)
    if transcript is None:
        return
    assert verify_transcript(transcript.to_json()) == []


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
