"""Uniformity without flakes: fixed secrets sha256(str(i)), chi-square against p = 1e-4.

Critical values of the chi-square distribution for an upper tail of 1e-4 (computed once
offline from the regularised incomplete gamma function, and checked against the known
df=1 value 15.137 and the closed form -2 ln(1e-4) = 18.421 for df=2):
df=11 -> 37.367, df=14 -> 42.579, df=23 -> 57.075. The secrets are fixed, so the test
is deterministic: it either always passes or always fails for a given implementation.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import Counter

from draw import Candidate, DrawRequest, evaluate_eligibility
from draw.engine import _derive_key, build_commit, select_from_eligibility

from .conftest import make_candidate_json, make_group_json, make_request_json

CRITICAL = {11: 37.367, 14: 42.579, 23: 57.075}


def chi_square(observed: Counter, cells: list, n: int) -> float:
    """Pearson's statistic against the uniform distribution over `cells`."""
    expected = n / len(cells)
    assert set(observed) <= set(cells), "an outcome outside the allowed cells"
    return sum((observed[c] - expected) ** 2 / expected for c in cells)


def draws(request: DrawRequest, pool: list[Candidate], n: int):
    """Results of the draw for secrets sha256(str(i)), i in range(n)."""
    eligibility = evaluate_eligibility(request, pool)
    for i in range(n):
        secret = hashlib.sha256(str(i).encode()).hexdigest()
        commit = build_commit(
            request, (), secret, committed_at="2026-11-28T09:00:00Z", eligibility=eligibility
        )
        key = _derive_key(secret, commit.digest, ["123456", "654321"], None)
        yield select_from_eligibility(request, eligibility, key)


def test_six_candidates_choose_two_gives_all_fifteen_pairs_uniformly() -> None:
    n = 3000  # 200 expected per pair
    pool = [Candidate.from_json(make_candidate_json(id=f"E{i}")) for i in range(6)]
    request = DrawRequest.from_json(make_request_json(groups=[make_group_json(count=2)]))
    pairs = Counter(frozenset(r.groups[0].primaries) for r in draws(request, pool, n))
    cells = [frozenset(p) for p in itertools.combinations([f"E{i}" for i in range(6)], 2)]
    assert len(pairs) == 15
    assert chi_square(pairs, cells, n) < CRITICAL[14]


def test_backup_order_is_uniform_over_all_orders_of_a_small_group() -> None:
    n = 2400  # 4 experts: 1 primary + 3 backups give a full order, 24 orders, 100 expected each
    pool = [Candidate.from_json(make_candidate_json(id=f"E{i}")) for i in range(4)]
    request = DrawRequest.from_json(make_request_json(groups=[make_group_json(count=1, backups=3)]))
    orders = Counter(r.groups[0].primaries + r.groups[0].backups for r in draws(request, pool, n))
    cells = list(itertools.permutations([f"E{i}" for i in range(4)]))
    assert len(orders) == 24
    assert chi_square(orders, cells, n) < CRITICAL[23]


def test_with_distinct_employers_accepted_panels_are_uniform_over_the_feasible_ones() -> None:
    employers = {"E0": "ORG1", "E1": "ORG1", "E2": "ORG2", "E3": "", "E4": "ORG2"}
    pool = [
        Candidate.from_json(
            make_candidate_json(id=e, employer=o, specialties=["A1" if e < "E3" else "B1", "C1"])
        )
        for e, o in employers.items()
    ]
    request = DrawRequest.from_json(
        make_request_json(
            distinct_employers=True,
            groups=[
                make_group_json(id="a", specialties=["A", "B"], count=2),
                make_group_json(id="b", specialties=["C"], count=1),
            ],
        )
    )
    # Enumerate the feasible panels: group a takes 2, group b 1 of anyone, all distinct people and
    # distinct non-empty employers.
    feasible = []
    for a in itertools.combinations(sorted(employers), 2):
        for b in sorted(employers):
            people = [*a, b]
            named = [employers[p] for p in people if employers[p]]
            if len(set(people)) == 3 and len(set(named)) == len(named):
                feasible.append((frozenset(a), b))
    assert len(feasible) == 12
    n = 2400  # 200 expected per panel
    panels = Counter(
        (frozenset(r.groups[0].primaries), r.groups[1].primaries[0])
        for r in draws(request, pool, n)
    )
    assert chi_square(panels, feasible, n) < CRITICAL[len(feasible) - 1]
