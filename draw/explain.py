"""Human explanation of a transcript: exclusions, pools, the ranked panel and each expert's
chance.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from draw import cjson
from draw.eligibility import Eligibility, evaluate_eligibility
from draw.engine import _derive_key, _Ranker, rank
from draw.errors import InvalidInput
from draw.model import MAX_ATTEMPTS, Commit, DrawRequest, DrawResult, candidates_from_json
from draw.verify import Failure, verify_transcript

SIMULATIONS = 10_000
"""Simulated draws behind an estimated chance (the issue asks for at least 10,000)."""


@dataclass(frozen=True, slots=True)
class RankedExpert:
    """An expert of the panel with their position in the group's order and their rank value."""

    expert_id: str
    position: int
    rank: str


@dataclass(frozen=True, slots=True)
class GroupExplanation:
    """One group: pool size, ranked primaries and backups, and each eligible expert's chance."""

    group: str
    count: int
    eligible: int
    primaries: tuple[RankedExpert, ...]
    backups: tuple[RankedExpert, ...]
    chances: tuple[tuple[str, Fraction], ...]


@dataclass(frozen=True, slots=True)
class Explanation:
    """Everything `python -m draw explain` prints."""

    draw_id: str
    project_code: str
    attempt: int
    exclusions: tuple[tuple[str, int], ...]
    groups: tuple[GroupExplanation, ...]
    chances_are_exact: bool
    simulations: int
    failures: tuple[Failure, ...]

    @property
    def verifies(self) -> bool:
        """True when the transcript passed every check of §10."""
        return not self.failures


def explain_transcript(transcript: Any, simulations: int = SIMULATIONS) -> Explanation:
    """Explain a parsed transcript; raises InvalidInput when its inputs cannot even be read."""
    failures = tuple(verify_transcript(transcript))
    request = DrawRequest.from_json(transcript.get("request"))
    candidates = candidates_from_json(transcript.get("candidates"))
    result = DrawResult.from_json(transcript.get("result"))
    commit = Commit.from_json(transcript.get("commit"))
    eligibility = evaluate_eligibility(request, candidates)
    exclusions = Counter(e.reason.value for e in eligibility.excluded)
    ranked = _ranked_panel(transcript, request, result, commit, eligibility)
    exact = _chances_are_exact(request, eligibility)
    if exact:
        chances = {
            g.id: {
                e: Fraction(g.count, len(eligibility.eligible[g.id]))
                for e in eligibility.eligible[g.id]
            }
            for g in request.groups
        }
    else:
        chances = _simulate(request, eligibility, simulations)
    groups = []
    for g in request.groups:
        primaries, backups = ranked.get(g.id, ((), ()))
        pool = eligibility.eligible[g.id]
        groups.append(
            GroupExplanation(
                group=g.id,
                count=g.count,
                eligible=len(pool),
                primaries=primaries,
                backups=backups,
                chances=tuple((e, chances[g.id].get(e, Fraction(0))) for e in pool),
            )
        )
    return Explanation(
        draw_id=request.draw_id,
        project_code=request.project_code,
        attempt=result.attempt,
        exclusions=tuple(sorted(exclusions.items())),
        groups=tuple(groups),
        chances_are_exact=exact,
        simulations=0 if exact else simulations,
        failures=failures,
    )


def _chances_are_exact(request: DrawRequest, eligibility: Eligibility) -> bool:
    """Exact count/eligible holds when groups share no eligible expert and employers are free."""
    if request.distinct_employers:
        return False
    seen: set[str] = set()
    for ids in eligibility.eligible.values():
        if not seen.isdisjoint(ids):
            return False
        seen.update(ids)
    return True


def _ranked_panel(
    transcript: dict[str, Any],
    request: DrawRequest,
    result: DrawResult,
    commit: Commit,
    eligibility: Eligibility,
) -> dict[str, tuple[tuple[RankedExpert, ...], ...]]:
    """Positions and rank values of the transcript's primaries and backups at its attempt."""
    secret = transcript.get("secret")
    if type(secret) is not str:
        return {}
    try:
        key = _derive_key(
            secret,
            cjson.digest(commit.to_json()),
            list(transcript.get("witnesses") or []),
            transcript.get("beacon"),
        )
    except (ValueError, TypeError):
        return {}
    panel: dict[str, tuple[tuple[RankedExpert, ...], ...]] = {}
    for g in request.groups:
        try:
            mine = result.group(g.id)
        except InvalidInput:  # a result without this group: nothing to rank
            continue
        pool = eligibility.eligible[g.id]
        head = _Ranker(key, g.id, pool).first(result.attempt, len(pool))
        where = {e: i + 1 for i, e in enumerate(head)}
        panel[g.id] = tuple(
            tuple(RankedExpert(e, where.get(e, 0), rank(key, result.attempt, g.id, e)) for e in ids)
            for ids in (mine.primaries, mine.backups)
        )
    return panel


class _Stream:
    """Deterministic, public pseudo-random integers from SHA-256 in counter mode (no `random`)."""

    def __init__(self, seed: bytes) -> None:
        self._seed = seed
        self._counter = 0
        self._pool = b""

    def below(self, bound: int) -> int:
        """A uniform integer in [0, bound), by rejection so there is no modulo bias."""
        limit = (1 << 64) - (1 << 64) % bound
        while True:
            if not self._pool:
                self._pool = hashlib.sha256(self._seed + self._counter.to_bytes(8, "big")).digest()
                self._counter += 1
            value = int.from_bytes(self._pool[:8], "big")
            self._pool = self._pool[8:]
            if value < limit:
                return value % bound


def _simulate(
    request: DrawRequest, eligibility: Eligibility, simulations: int
) -> dict[str, dict[str, Fraction]]:
    """Estimate each expert's chance by replaying the rejection sampling of §7 on public seeds.

    Within an attempt each group's primaries are a uniform random subset of its eligible
    experts, independent across groups, exactly as ranking by a keyed hash makes them; so a
    sparse Fisher-Yates sample per group, re-drawn until the attempt is acceptable, has the
    distribution of the real draw.
    """
    employers = {c.id: c.employer for c in eligibility.candidates}
    pools = [eligibility.eligible[g.id] for g in request.groups]
    counts: dict[str, Counter[str]] = {g.id: Counter() for g in request.groups}
    accepted = 0
    for i in range(simulations):
        stream = _Stream(hashlib.sha256(f"draw-v1/explain:{request.draw_id}:{i}".encode()).digest())
        for _ in range(MAX_ATTEMPTS):
            chosen = [
                _sample(pool, g.count, stream)
                for g, pool in zip(request.groups, pools, strict=True)
            ]
            everyone = [e for ids in chosen for e in ids]
            if len(set(everyone)) != len(everyone):
                continue
            if request.distinct_employers:
                named = [employers[e] for e in everyone if employers[e] != ""]
                if len(set(named)) != len(named):
                    continue
            accepted += 1
            for g, ids in zip(request.groups, chosen, strict=True):
                counts[g.id].update(ids)
            break
    return {
        g.id: {e: Fraction(n, simulations) for e, n in counts[g.id].items()} for g in request.groups
    }


def _sample(pool: tuple[str, ...], k: int, stream: _Stream) -> list[str]:
    """k distinct elements of `pool`, uniformly (sparse Fisher-Yates: O(k) work)."""
    swapped: dict[int, int] = {}
    picked = []
    n = len(pool)
    for j in range(k):
        r = j + stream.below(n - j)
        picked.append(pool[swapped.get(r, r)])
        swapped[r] = swapped.get(j, j)
    return picked


def _percent(value: Fraction) -> str:
    """A fraction as a percentage with two decimals, by integer arithmetic."""
    hundredths = (value * 10000).numerator * 2 // (value * 10000).denominator
    hundredths = (hundredths + 1) // 2
    return f"{hundredths // 100}.{hundredths % 100:02d}%"


_TEXT = {
    "en": {
        "title": "Draw {draw_id} for project {project}",
        "verifies": "Verifies: yes",
        "fails": "Verifies: NO ({n} failures)",
        "excluded": "Excluded experts, by reason:",
        "none": "  (none)",
        "eligible": "Eligible experts per group:",
        "group_line": "  {group}: {eligible} eligible for {count} seats",
        "panel": "Panel at accepted attempt {attempt} (position in the group's order, rank):",
        "primaries": "  {group} primaries:",
        "backups": "  {group} backups:",
        "chance_exact": "Chance of being a primary (exact: seats / eligible):",
        "chance_estimate": (
            "Chance of being a primary (ESTIMATE from {n} simulated draws with public seeds):"
        ),
        "not_accepted": "(no attempt accepted)",
    },
    "zh": {
        "title": "抽取 {draw_id}（项目 {project}）",
        "verifies": "验证结果：通过",
        "fails": "验证结果：未通过（{n} 项失败）",
        "excluded": "被排除的专家（按原因统计）：",
        "none": "  （无）",
        "eligible": "各组符合条件的专家人数：",
        "group_line": "  {group}：{eligible} 人符合条件，需 {count} 人",
        "panel": "第 {attempt} 次尝试被接受时的名单（组内排序位置，排序值）：",
        "primaries": "  {group} 正选：",
        "backups": "  {group} 备选：",
        "chance_exact": "成为正选的概率（精确值：席位数 / 符合条件人数）：",
        "chance_estimate": "成为正选的概率（估计值，基于 {n} 次公开种子的模拟抽取）：",
        "not_accepted": "（无被接受的尝试）",
    },
}

REASONS_ZH = {
    "not_active": "非在库状态",
    "unavailable": "不可出席",
    "excluded": "指定排除",
    "employer_conflict": "工作单位回避",
    "avoidance_conflict": "回避单位冲突",
    "frequency_cap": "抽取次数上限",
}


def render(explanation: Explanation, lang: str = "en") -> str:
    """Render an explanation as text in English ("en") or Chinese ("zh")."""
    text = _TEXT[lang]
    lines = [text["title"].format(draw_id=explanation.draw_id, project=explanation.project_code)]
    if explanation.verifies:
        lines.append(text["verifies"])
    else:
        lines.append(text["fails"].format(n=len(explanation.failures)))
        lines.extend(f"  {failure}" for failure in explanation.failures)
    lines.append(text["excluded"])
    if not explanation.exclusions:
        lines.append(text["none"])
    for reason, n in explanation.exclusions:
        label = f"{REASONS_ZH[reason]} ({reason})" if lang == "zh" else reason
        lines.append(f"  {label}: {n}")
    lines.append(text["eligible"])
    for g in explanation.groups:
        lines.append(text["group_line"].format(group=g.group, eligible=g.eligible, count=g.count))
    lines.append(text["panel"].format(attempt=explanation.attempt))
    for g in explanation.groups:
        for label, people in (("primaries", g.primaries), ("backups", g.backups)):
            lines.append(text[label].format(group=g.group))
            lines.extend(f"    #{p.position} {p.expert_id} {p.rank}" for p in people)
    if explanation.chances_are_exact:
        lines.append(text["chance_exact"])
    else:
        lines.append(text["chance_estimate"].format(n=explanation.simulations))
    for g in explanation.groups:
        lines.append(f"  {g.group}:")
        for expert, chance in g.chances:
            shown = (
                f"{chance.numerator}/{chance.denominator}" if explanation.chances_are_exact else "~"
            )
            lines.append(
                f"    {expert} {_percent(chance)} ({shown})"
                if shown != "~"
                else f"    {expert} ~{_percent(chance)}"
            )
    return "\n".join(lines)
