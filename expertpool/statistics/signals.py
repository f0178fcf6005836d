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
    agency: str = ""


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


def pair_signals(
    events: Iterable[DrawEvent], *, alpha: float = ALPHA, party: str = "tenderer"
) -> list[PairSignal]:
    """The expert-tenderer pairs (or expert-agency pairs, with `party="agency"`) whose meetings
    are far above chance, strongest first. In a signal, `tenderer` holds the party's code."""
    strata: dict[Hashable, list[DrawEvent]] = defaultdict(list)
    for event in events:
        strata[event.stratum].append(event)
    tested: list[tuple[Hashable, str, str, int, int, int, int]] = []
    for stratum, items in strata.items():
        n = len(items)
        per_expert = Counter(e for ev in items for e in ev.experts)
        side = [getattr(ev, party) for ev in items]
        per_tenderer = Counter(p for p in side if p)
        met = Counter((e, p) for ev, p in zip(items, side, strict=True) for e in ev.experts)
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


# Expert-expert pairs --------------------------------------------------------------------------


def expert_pair_signals(events: Iterable[DrawEvent], *, alpha: float = ALPHA) -> list[PairSignal]:
    """Two experts who sat together far more often than random draws make plausible.

    Null model: within a stratum of `n` draws, the draws of expert A (`m`) and of expert B (`k`)
    are independent uniformly random subsets, so their meetings follow H(n, m, k). In a signal
    `expert` and `tenderer` hold the two experts' tokens (in sorted order)."""
    strata: dict[Hashable, list[DrawEvent]] = defaultdict(list)
    for event in events:
        strata[event.stratum].append(event)
    tested: list[tuple[Hashable, str, str, int, int, int, int]] = []
    for stratum, items in strata.items():
        n = len(items)
        per_expert = Counter(e for ev in items for e in ev.experts)
        met = Counter((a, b) for ev in items for a in ev.experts for b in ev.experts if a < b)
        often = sorted(e for e, m in per_expert.items() if 2 <= m < n)
        for i, a in enumerate(often):
            for b in often[i + 1 :]:
                tested.append((stratum, a, b, met[(a, b)], n, per_expert[a], per_expert[b]))
    if not tested:
        return []
    threshold = alpha / len(tested)
    found = []
    for stratum, a, b, x, n, m, k in tested:
        if x < 2:
            continue  # P(X >= 0 or 1) is never below a Bonferroni threshold worth reporting
        p = hypergeometric_tail(x, n, m, k)
        if p < threshold:
            found.append(PairSignal(a, b, stratum, x, m * k / n, n, m, k, p, threshold))
    return sorted(found, key=lambda s: (s.p_value, s.expert, s.tenderer))


# Scores favouring one bidder organisation --------------------------------------------------


@dataclass(frozen=True)
class Preference:
    """One expert's scoring in one session: the bidder organisations scored and the one the
    expert favoured most against the panel (own total minus the panel's mean total, largest;
    None on a tie)."""

    expert: str
    session: str
    bidders: frozenset[str]
    favoured: str | None


@dataclass(frozen=True)
class FavourSignal:
    """An expert favoured one bidder organisation in more sessions than chance makes plausible."""

    expert: str
    bidder: str
    observed: int  # sessions where the expert favoured the bidder
    sessions: int  # sessions where the expert scored the bidder
    expected: float
    p_value: float
    threshold: float


def favourite(own: dict[str, float], panel_mean: dict[str, float]) -> str | None:
    """The bidder whose own total is furthest above the panel's mean; None on a tie or when
    fewer than two bidders were scored."""
    if len(own) < 2:
        return None
    lead = sorted(((own[b] - panel_mean.get(b, own[b]), b) for b in own), reverse=True)
    if lead[0][0] == lead[1][0]:
        return None
    return lead[0][1]


def poisson_binomial_tail(x: int, probabilities: Iterable[float]) -> float:
    """P(X >= x) where X is the number of successes of independent trials with these chances."""
    dist = [1.0]
    for p in probabilities:
        nxt = [0.0] * (len(dist) + 1)
        for i, q in enumerate(dist):
            nxt[i] += q * (1 - p)
            nxt[i + 1] += q * p
        dist = nxt
    return min(1.0, sum(dist[max(x, 0) :]))


def favour_signals(prefs: Iterable[Preference], *, alpha: float = ALPHA) -> list[FavourSignal]:
    """Experts whose favourite is the same bidder organisation across sessions.

    Null model: an honest expert's deviation from the panel is noise, so in a session with `b`
    scored bidders each is the expert's favourite with chance 1/b, independently across sessions;
    the count of sessions favouring one organisation is Poisson-binomial. A pair is tested when
    the expert scored that organisation in 3 sessions or more; Bonferroni over pairs tested."""
    chances: dict[tuple[str, str], list[float]] = defaultdict(list)
    hits: Counter[tuple[str, str]] = Counter()
    for pref in prefs:
        if len(pref.bidders) < 2:
            continue
        for b in pref.bidders:
            chances[(pref.expert, b)].append(1 / len(pref.bidders))
        if pref.favoured is not None:
            hits[(pref.expert, pref.favoured)] += 1
    tested = [(key, ps) for key, ps in chances.items() if len(ps) >= 3]
    if not tested:
        return []
    threshold = alpha / len(tested)
    found = []
    for (expert, bidder), ps in tested:
        x = hits[(expert, bidder)]
        if x < 2:
            continue
        p = poisson_binomial_tail(x, ps)
        if p < threshold:
            found.append(FavourSignal(expert, bidder, x, len(ps), sum(ps), p, threshold))
    return sorted(found, key=lambda s: (s.p_value, s.expert, s.bidder))


# Unusual rates (centres, terminals) --------------------------------------------------------


@dataclass(frozen=True)
class RateSignal:
    """A unit (a centre, a terminal) with far more events of one kind than the others' rate."""

    unit: str
    kind: str
    observed: int
    total: int
    expected: float
    rate_elsewhere: float
    p_value: float
    threshold: float


def binomial_tail(x: int, n: int, p: float) -> float:
    """P(X >= x) for X ~ Binomial(n, p)."""
    if x <= 0:
        return 1.0
    if x > n:
        return 0.0
    return min(1.0, sum(comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(x, n + 1)))


def rate_signals(
    counts: dict[str, dict[str, tuple[int, int]]], *, alpha: float = ALPHA, min_total: int = 5
) -> list[RateSignal]:
    """Units whose rate of an event is far above what chance spreads onto them.

    `counts[kind][unit] = (events, opportunities)`. Null model: every opportunity (a closed
    project, a draw) is as likely as any other to carry the event, whichever unit it falls in.
    Given `E` events over `N` opportunities in all, a unit's share of them is then
    hypergeometric H(N, E, n) for its `n` opportunities (Fisher's exact test, one-sided). A unit
    with fewer than `min_total` opportunities is not tested; Bonferroni over every unit and kind
    tested. `rate_elsewhere` is the other units' rate, for the explanation."""
    tested: list[tuple[str, str, int, int, int, int]] = []
    for kind, units in counts.items():
        all_x = sum(x for x, _n in units.values())
        all_n = sum(n for _x, n in units.values())
        for unit, (x, n) in units.items():
            if n < min_total or all_n - n < min_total:
                continue
            tested.append((kind, unit, x, n, all_x, all_n))
    if not tested:
        return []
    threshold = alpha / len(tested)
    found = []
    for kind, unit, x, n, all_x, all_n in tested:
        if x < 2:
            continue
        p = hypergeometric_tail(x, all_n, all_x, n)
        if p < threshold:
            elsewhere = (all_x - x) / (all_n - n)
            found.append(RateSignal(unit, kind, x, n, n * all_x / all_n, elsewhere, p, threshold))
    return sorted(found, key=lambda s: (s.p_value, s.kind, s.unit))
