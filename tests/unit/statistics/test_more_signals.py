"""The other signals: expert-agency and expert-expert pairs, scores favouring one bidder
organisation, and unusual rates of centres and terminals. Each stays within its false-alarm
rate on honest random histories and fires when an anomaly is forced (docs/statistics.md)."""

from __future__ import annotations

import random

from expertpool.statistics.signals import (
    DrawEvent,
    Preference,
    binomial_tail,
    expert_pair_signals,
    favour_signals,
    favourite,
    pair_signals,
    poisson_binomial_tail,
    rate_signals,
)

ALPHA = 0.05
RUNS = 100


def _within_rate(alarms: int, runs: int = RUNS, alpha: float = ALPHA) -> bool:
    # Bonferroni keeps the per-run rate at or under alpha; allow three standard deviations
    return alarms <= runs * alpha + 3 * (runs * alpha) ** 0.5


def draws(rng: random.Random, *, agency_pair: bool = False, expert_pair: bool = False):
    """One stratum of 30 experts, 120 draws of 3, each for one of 6 agencies. Planted: expert
    e0 on every draw of agency a0, or experts e1 and e2 always together."""
    pool = [f"e{i}" for i in range(30)]
    events = []
    for _ in range(120):
        agency = f"a{rng.randrange(6)}"
        chosen = set(rng.sample(pool, 3))
        if agency_pair and agency == "a0" and "e0" not in chosen:
            chosen.pop()
            chosen.add("e0")
        if expert_pair and ("e1" in chosen) != ("e2" in chosen):
            chosen.discard("e1")
            chosen.discard("e2")
            while len(chosen) > 1:
                chosen.pop()
            chosen |= {"e1", "e2"}
        events.append(DrawEvent("s", "t", frozenset(chosen), agency=agency))
    return events


def test_expert_agency_pairs_within_rate_and_fire_when_forced() -> None:
    rng = random.Random(1)
    alarms = sum(bool(pair_signals(draws(rng), alpha=ALPHA, party="agency")) for _ in range(RUNS))
    assert _within_rate(alarms)
    fired = sum(
        any(
            s.expert == "e0" and s.tenderer == "a0"
            for s in pair_signals(draws(rng, agency_pair=True), party="agency")
        )
        for _ in range(10)
    )
    assert fired >= 9


def test_expert_expert_pairs_within_rate_and_fire_when_forced() -> None:
    rng = random.Random(2)
    alarms = sum(bool(expert_pair_signals(draws(rng), alpha=ALPHA)) for _ in range(RUNS))
    assert _within_rate(alarms)
    fired = sum(
        any(
            (s.expert, s.tenderer) == ("e1", "e2")
            for s in expert_pair_signals(draws(rng, expert_pair=True))
        )
        for _ in range(10)
    )
    assert fired >= 9


def scoring(rng: random.Random, *, planted: bool = False) -> list[Preference]:
    """200 sessions of 5 experts (from 40) scoring 3 to 5 of 10 organisations. An honest
    expert's favourite is any of the scored bidders; planted, e0 favours o0 whenever it bids."""
    prefs = []
    for n in range(200):
        experts = rng.sample([f"e{i}" for i in range(40)], 5)
        if planted and n % 2 == 0 and "e0" not in experts:
            experts[0] = "e0"
        bidders = rng.sample([f"o{i}" for i in range(10)], rng.randint(3, 5))
        if planted and n % 2 == 0 and "o0" not in bidders:
            bidders[0] = "o0"
        for e in experts:
            fav = "o0" if planted and e == "e0" and "o0" in bidders else rng.choice(bidders)
            prefs.append(Preference(e, f"s{n}", frozenset(bidders), fav))
    return prefs


def test_favour_signal_within_rate_and_fires_when_forced() -> None:
    rng = random.Random(3)
    alarms = sum(bool(favour_signals(scoring(rng), alpha=ALPHA)) for _ in range(RUNS // 2))
    assert _within_rate(alarms, RUNS // 2)
    fired = sum(
        any(
            (s.expert, s.bidder) == ("e0", "o0") for s in favour_signals(scoring(rng, planted=True))
        )
        for _ in range(10)
    )
    assert fired >= 9


def test_the_favourite_is_the_largest_lead_over_the_panel() -> None:
    assert favourite({"a": 90, "b": 80}, {"a": 85, "b": 70}) == "b"  # +10 against +5
    assert favourite({"a": 90, "b": 80}, {"a": 85, "b": 75}) is None  # a tie
    assert favourite({"a": 90}, {"a": 85}) is None


def test_the_tails_match_hand_computed_cases() -> None:
    assert abs(binomial_tail(2, 3, 0.5) - 0.5) < 1e-12
    assert abs(poisson_binomial_tail(2, [0.5, 0.5, 0.5]) - 0.5) < 1e-12
    assert abs(poisson_binomial_tail(1, [0.25, 0.5]) - (1 - 0.75 * 0.5)) < 1e-12


def rates(rng: random.Random, *, planted: bool = False) -> dict[str, dict[str, tuple[int, int]]]:
    """Ten centres of 40 to 80 closed projects, four kinds of event at 5 % to 15 %; planted,
    centre c0 abandons 40 % of its draws."""
    out: dict[str, dict[str, tuple[int, int]]] = {}
    for kind, rate in (
        ("direct", 0.05),
        ("replacement", 0.1),
        ("supplementary", 0.15),
        ("abandoned", 0.08),
    ):
        out[kind] = {}
        for c in range(10):
            n = rng.randint(40, 80)
            p = 0.4 if planted and c == 0 and kind == "abandoned" else rate
            out[kind][f"c{c}"] = (sum(rng.random() < p for _ in range(n)), n)
    return out


def test_rate_signal_within_rate_and_fires_when_forced() -> None:
    rng = random.Random(4)
    alarms = sum(bool(rate_signals(rates(rng), alpha=ALPHA)) for _ in range(RUNS))
    assert _within_rate(alarms)
    fired = sum(
        any((s.unit, s.kind) == ("c0", "abandoned") for s in rate_signals(rates(rng, planted=True)))
        for _ in range(10)
    )
    assert fired >= 9


def test_a_unit_too_small_is_not_tested() -> None:
    assert rate_signals({"k": {"a": (4, 4), "b": (0, 100)}}) == []
