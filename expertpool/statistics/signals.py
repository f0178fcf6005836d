"""Anomaly signals over closed draws: how often an expert meets a tenderer, against chance.

The null model: within one stratum (draws for the same specialties), honest draws are random, so
the set of draws an expert sits on is a uniformly random subset of the stratum's draws of its size.
If a stratum holds `n` draws, the expert sat on `m` of them and the tenderer's projects account for
`k`, the number `x` of draws where the expert met the tenderer follows the hypergeometric law
H(n, m, k). The signal fires when P(X >= x) is below `alpha / tests` (Bonferroni over every pair
tested in the run), so on honest history the chance that a run shows even one signal is at most
`alpha`. A signal is a prompt to look, never a sanction.

Pure: no database, no Flask. `tests/unit/statistics/test_signals.py` simulates honest random
histories (the false-alarm rate stays under `alpha`) and a planted pair (it fires).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from math import comb

ALPHA = 0.01  # the chance, per run on honest history, of one or more false signals


@dataclass(frozen=True)
class DrawEvent:
    """One closed draw (one group of one lot): its stratum, the tenderer, who sat on it."""

    stratum: Hashable
    tenderer: str
    experts: frozenset[str]


@dataclass(frozen=True)
class PairSignal:
    """An expert met a tenderer more often than random draws make plausible."""

    expert: str
    tenderer: str
    stratum: Hashable
    observed: int
    expected: float
    draws: int  # n: draws in the stratum
    expert_draws: int  # m
    tenderer_draws: int  # k
    p_value: float
    threshold: float


def hypergeometric_tail(x: int, n: int, m: int, k: int) -> float:
    """P(X >= x) for X ~ H(n, m, k): of n draws, m hold the expert, k are the tenderer's."""
    top = min(m, k)
    if x > top:
        return 0.0
    total = comb(n, k)
    return sum(comb(m, i) * comb(n - m, k - i) for i in range(max(x, 0), top + 1)) / total


def pair_signals(events: Iterable[DrawEvent], *, alpha: float = ALPHA) -> list[PairSignal]:
    """The expert-tenderer pairs whose meetings are far above chance, strongest first."""
    strata: dict[Hashable, list[DrawEvent]] = defaultdict(list)
    for event in events:
        strata[event.stratum].append(event)
    tested: list[tuple[Hashable, str, str, int, int, int, int]] = []
    for stratum, items in strata.items():
        n = len(items)
        per_expert = Counter(e for ev in items for e in ev.experts)
        per_tenderer = Counter(ev.tenderer for ev in items)
        met = Counter((e, ev.tenderer) for ev in items for e in ev.experts)
        for expert, m in per_expert.items():
            for tenderer, k in per_tenderer.items():
                # a pair that could not reach two meetings cannot be remarkable: not a test
                if min(m, k) >= 2 and m < n and k < n:
                    tested.append((stratum, expert, tenderer, met[(expert, tenderer)], n, m, k))
    if not tested:
        return []
    threshold = alpha / len(tested)
    found = []
    for stratum, expert, tenderer, x, n, m, k in tested:
        p = hypergeometric_tail(x, n, m, k)
        if p < threshold:
            found.append(PairSignal(expert, tenderer, stratum, x, m * k / n, n, m, k, p, threshold))
    return sorted(found, key=lambda s: (s.p_value, s.expert, s.tenderer))
