"""The expert-tenderer signal: within its false-alarm rate on honest draws, fires on a planted
pair."""

from __future__ import annotations

import random

from expertpool.statistics.signals import DrawEvent, hypergeometric_tail, pair_signals


def honest_history(rng: random.Random, *, planted: bool = False) -> list[DrawEvent]:
    """Two strata of 30 experts; 120 draws each of 3 experts for one of 8 tenderers. With
    `planted`, expert s0-e0 is forced onto every draw of tenderer t0 in stratum s0."""
    events = []
    for s in range(2):
        pool = [f"s{s}-e{i}" for i in range(30)]
        for _ in range(120):
            tenderer = f"t{rng.randrange(8)}"
            chosen = set(rng.sample(pool, 3))
            if planted and s == 0 and tenderer == "t0" and "s0-e0" not in chosen:
                chosen.pop()
                chosen.add("s0-e0")
            events.append(DrawEvent(f"s{s}", tenderer, frozenset(chosen)))
    return events


def test_the_tail_matches_a_hand_computed_case() -> None:
    # 10 draws, the expert on 3, the tenderer's 2: P(X >= 2) = C(3,2)·C(7,0)/C(10,2) = 3/45
    assert abs(hypergeometric_tail(2, 10, 3, 2) - 3 / 45) < 1e-12
    assert hypergeometric_tail(0, 10, 3, 2) == 1.0
    assert hypergeometric_tail(3, 10, 3, 2) == 0.0


def test_honest_random_draws_stay_within_the_false_alarm_rate() -> None:
    alpha = 0.05
    runs = 200
    rng = random.Random(20261203)
    alarms = sum(bool(pair_signals(honest_history(rng), alpha=alpha)) for _ in range(runs))
    # Bonferroni keeps the per-run rate at or under alpha (10 expected at most); allow sampling
    # noise of about three standard deviations.
    assert alarms <= runs * alpha + 3 * (runs * alpha) ** 0.5


def test_a_pair_forced_together_fires() -> None:
    rng = random.Random(7)
    fired = 0
    for _ in range(20):
        signals = pair_signals(honest_history(rng, planted=True))
        fired += any(s.expert == "s0-e0" and s.tenderer == "t0" for s in signals)
    assert fired >= 19
