"""The bundled rule table, regime × method: committee size, timing, leader, price weights,
small-enterprise deduction, ties and qualification, each with the case the old single rule set
got wrong (issue #16).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from evaluation_room.election import Election, TieRule
from evaluation_room.errors import InvalidInput
from evaluation_room.scoring import (
    Bid,
    ItemKind,
    RankingTieRule,
    ScoreForm,
    ScoreItem,
    ScoringSettings,
    check_price_weight,
    compute_results,
)
from expertpool.core.calendar import CST
from expertpool.draws.rules import timing_errors
from expertpool.regimes import rulebook
from expertpool.regimes.models import LegalRegime
from expertpool.regimes.rules import RULE_KEYS, RuleError, RuleSet, committee_errors, resolve

D = Decimal
TL, GP = "tendering_law", "government_procurement"
MILLION_FEN = 1_000_000 * 100


def rules(regime: str, method: str) -> RuleSet:
    return resolve(1, rulebook.bundled_rows(), regime, method)


def lawful(r: RuleSet, experts: int, *, budget_fen: int = 0, complex_: bool = False) -> bool:
    return not committee_errors(
        r, expert_count=experts, representatives=0, budget_fen=budget_fen, is_complex=complex_
    )


def test_every_regime_and_method_resolves_every_rule_with_a_source_and_status() -> None:
    for regime in LegalRegime:
        for method in rulebook.methods_of(regime.value):
            r = rules(regime.value, method)
            assert set(r.sources) == set(RULE_KEYS)
            for source, status in r.sources.values():
                assert source and status in {"quoted", "commonly_cited", "local_practice"}


# Committee size ----------------------------------------------------------------------------------

SIZE_CASES = [
    # regime, method, budget (million CNY), complex, experts, lawful
    (TL, "open_tender", 50, False, 5, True),  # wrongly refused before: 7+ is a GP rule
    (TL, "open_tender", 50, True, 5, True),
    (TL, "open_tender", 1, False, 3, False),
    (TL, "invited_tender", 1, False, 4, False),  # even
    (GP, "open_tender", 10, False, 5, False),  # ≥ 10 million: 7+
    (GP, "open_tender", 10, False, 7, True),
    (GP, "open_tender", 9, False, 5, True),
    (GP, "open_tender", 1, True, 5, False),  # complex: 7+
    (GP, "invited_tender", 1, False, 5, True),
    (GP, "competitive_negotiation", 1, False, 3, True),  # wrongly refused before
    (GP, "competitive_consultation", 1, False, 3, True),  # wrongly refused before
    (GP, "request_for_quotation", 1, False, 3, True),  # wrongly refused before
    (GP, "request_for_quotation", 1, False, 4, False),  # even
    (GP, "competitive_negotiation", 20, False, 3, False),  # ≥ 10 million: 5+
    (GP, "single_source", 1, False, 3, True),
    ("land", "open_tender", 1, False, 5, True),
    ("land", "open_tender", 1, False, 3, False),
]


@pytest.mark.parametrize(("regime", "method", "budget", "complex_", "experts", "ok"), SIZE_CASES)
def test_committee_size_follows_the_regime_and_method(
    regime: str, method: str, budget: int, complex_: bool, experts: int, ok: bool
) -> None:
    r = rules(regime, method)
    assert lawful(r, experts, budget_fen=budget * MILLION_FEN, complex_=complex_) is ok


def test_experts_must_be_two_thirds_of_the_committee() -> None:
    r = rules(TL, "open_tender")
    assert committee_errors(
        r, expert_count=3, representatives=2, budget_fen=0, is_complex=False
    ) == {
        "committee": "experts must be at least two thirds of the committee: 3 of 5, "
        "at least 4 needed"
    }
    assert not committee_errors(
        r, expert_count=4, representatives=1, budget_fen=0, is_complex=False
    )


# Timing ------------------------------------------------------------------------------------------

MON, FRI_BEFORE = "2026-06-08", "2026-06-01"  # five working days apart


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=9, tzinfo=CST)


TIMING_CASES = [
    # regime, method, off-site, allowed five working days ahead
    (GP, "open_tender", True, True),  # off-site: exempt (wrongly refused before)
    (GP, "open_tender", False, False),
    (GP, "competitive_negotiation", False, True),  # negotiation methods: exempt
    (GP, "competitive_consultation", False, True),
    (GP, "request_for_quotation", False, True),
    (TL, "open_tender", True, False),  # the exemption is a GP rule
    (TL, "open_tender", False, False),
]


@pytest.mark.parametrize(("regime", "method", "offsite", "ok"), TIMING_CASES)
def test_the_timing_rule_and_its_exemptions(
    regime: str, method: str, offsite: bool, ok: bool
) -> None:
    lead = rules(regime, method).lead_days(is_offsite=offsite)
    errors = timing_errors(
        now_at=_at(FRI_BEFORE), evaluation_start_at=_at(MON), lead_working_days=lead
    )
    assert (errors == {}) is ok


# Leader ------------------------------------------------------------------------------------------

LEADER_CASES = [(TL, "open_tender", True), (GP, "open_tender", False), (GP, "single_source", False)]


@pytest.mark.parametrize(("regime", "method", "may_lead"), LEADER_CASES)
def test_who_may_be_elected_leader(regime: str, method: str, may_lead: bool) -> None:
    r = rules(regime, method)
    electorate = ["expert1", "expert2", "rep"]
    election = Election(
        electorate, eligible=None if r.representative_may_lead else ["expert1", "expert2"]
    )
    if may_lead:
        election.cast("expert1", "rep", TieRule.LOWEST_ALIAS, "")
        assert election.current.votes == {"expert1": "rep"}
    else:
        with pytest.raises(InvalidInput):  # wrongly allowed before under GP
            election.cast("expert1", "rep", TieRule.LOWEST_ALIAS, "")


# Price weights, deduction, ties ------------------------------------------------------------------


def form(price_max: int) -> ScoreForm:
    return ScoreForm(
        (
            ScoreItem(
                "price", "价格", ItemKind.OBJECTIVE, D(0), D(price_max), formula="lowest_price"
            ),
            ScoreItem("tech", "技术", ItemKind.SUBJECTIVE, D(0), D(100 - price_max)),
        )
    )


def settings(r: RuleSet, kind: str) -> ScoringSettings:
    pair = r.price_weight_pct.get(kind)
    return ScoringSettings(
        tie_rule=RankingTieRule(r.tie_rule),
        small_enterprise_deduction_pct=r.small_enterprise_deduction_pct,
        price_weight_pct=(D(pair[0]), D(pair[1])) if pair else None,
    )


WEIGHT_CASES = [
    (GP, "goods", 30, True),
    (GP, "goods", 60, True),
    (GP, "goods", 20, False),  # wrongly allowed before: nothing checked the weight
    (GP, "goods", 70, False),
    (GP, "services", 10, True),
    (GP, "services", 40, False),
    (TL, "works", 70, True),  # no statutory range under the Tendering Law
]


@pytest.mark.parametrize(("regime", "kind", "weight", "ok"), WEIGHT_CASES)
def test_price_weights_within_the_regimes_range(
    regime: str, kind: str, weight: int, ok: bool
) -> None:
    s = settings(rules(regime, "open_tender"), kind)
    if ok:
        check_price_weight(form(weight), s.price_weight_pct)
    else:
        with pytest.raises(InvalidInput):
            check_price_weight(form(weight), s.price_weight_pct)


def _results(regime: str, bids: list[Bid], tech: dict[str, str]) -> list[tuple[str, int, str]]:
    s = settings(rules(regime, "open_tender"), "goods")
    sheets = {"m1": {code: {"tech": D(v)} for code, v in tech.items()}}
    res = compute_results(form(30), bids, sheets, s)
    return [(r.bidder_code, r.rank, r.decided_by or "") for r in res.ranking]


def test_a_small_enterprise_wins_on_the_deduction_under_government_procurement() -> None:
    bids = [Bid("A", "甲", D(100)), Bid("B", "乙", D(105), is_small_enterprise=True)]
    # 105 less 10 % is 94.5: B holds the benchmark (wrongly ignored before).
    assert _results(GP, bids, {"A": "50", "B": "50"})[0][0] == "B"
    # No deduction under the Tendering Law.
    assert _results(TL, bids, {"A": "50", "B": "50"})[0][0] == "A"


def test_equal_score_and_price_are_tied_not_ranked_by_bidder_code() -> None:
    bids = [Bid("B", "乙", D(100)), Bid("A", "甲", D(100))]
    ranking = _results(GP, bids, {"A": "50", "B": "50"})
    assert {code for code, _, _ in ranking} == {"A", "B"}
    assert [rank for _, rank, _ in ranking] == [1, 1]
    assert ranking[1][2] == "tied"


def _technical_only(regime: str, bids: list[Bid], tech: dict[str, str]) -> list[tuple[str, str]]:
    """Rank a form scored by one subjective item only: equal scores leave the tie rule to act."""
    s = settings(rules(regime, "open_tender"), "works")
    one = ScoreForm((ScoreItem("tech", "技术", ItemKind.SUBJECTIVE, D(0), D(100)),))
    sheets = {"m1": {code: {"tech": D(v)} for code, v in tech.items()}}
    return [
        (r.bidder_code, r.decided_by or "") for r in compute_results(one, bids, sheets, s).ranking
    ]


@pytest.mark.parametrize("regime", [GP, TL])
def test_equal_scores_rank_by_the_lower_price(regime: str) -> None:
    bids = [Bid("A", "甲", D(120)), Bid("B", "乙", D(100))]
    assert _technical_only(regime, bids, {"A": "60", "B": "60"}) == [("B", ""), ("A", "price")]


@pytest.mark.parametrize("regime", [GP, TL])
def test_equal_score_and_price_stay_tied_whatever_the_codes(regime: str) -> None:
    bids = [Bid("Z", "甲", D(100)), Bid("A", "乙", D(100))]
    ranking = _technical_only(regime, bids, {"A": "60", "Z": "60"})
    assert ranking[1][1] == "tied"


# Qualification -----------------------------------------------------------------------------------

QUALIFICATION_CASES = [
    (TL, "deputy_senior", 8, True),
    (TL, "deputy_senior", 7, False),
    (TL, "equivalent", 8, True),  # wrongly refused before: equivalent professional level
    (TL, "intermediate", 20, False),
    (GP, "equivalent", 3, True),
    (GP, "intermediate", 8, True),
    (GP, "intermediate", 7, False),
    ("land", "equivalent", 20, False),  # provincial: senior title only
    ("land", "full_senior", 8, True),
]


@pytest.mark.parametrize(("regime", "level", "years", "ok"), QUALIFICATION_CASES)
def test_qualification_paths(regime: str, level: str, years: int, ok: bool) -> None:
    assert rules(regime, "open_tender").is_qualified(level, years) is ok


# Values ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("committee_min_members", "true"),
        ("committee_min_members", "1000"),
        ("expert_share", "[3, 2]"),
        ("price_weight_pct", '{"goods": [60, 30]}'),
        ("tie_rule", '"bidder_code"'),
        ("qualification_paths", "[]"),
        ("no_such_rule", "1"),
    ],
)
def test_a_value_of_the_wrong_shape_is_refused(key: str, value: str) -> None:
    with pytest.raises(RuleError):
        rulebook.parse_value(key, value)


def test_docs_rules_md_lists_every_bundled_rule_as_the_data_says() -> None:
    from pathlib import Path

    from expertpool.regimes.document import render

    doc = (Path(__file__).resolve().parents[3] / "docs" / "rules.md").read_text("utf-8")
    assert doc == render()
    for row in rulebook.bundled_rows():
        assert f"| `{row['regime']}` | `{row['method']}` | `{row['key']}` |" in doc


@pytest.mark.parametrize(
    ("regime", "kind", "budget", "expected"),
    [
        (GP, "goods", 20, (7, False, (D(30), D(60)), D(10), "price")),
        (GP, "services", 1, (5, False, (D(10), D(30)), D(10), "price")),
        (TL, "works", 50, (5, True, None, D(0), "price_then_technical")),
    ],
)
def test_the_room_receives_the_projects_rules_as_plain_settings(
    regime: str, kind: str, budget: int, expected: tuple[Any, ...]
) -> None:
    from evaluation_room.model import RoomSettings
    from expertpool.rooms.sessions import with_rules

    s = with_rules(
        RoomSettings(),
        rules(regime, "open_tender"),
        kind=kind,
        budget_fen=budget * MILLION_FEN,
        is_complex=False,
    )
    assert (
        s.min_committee_size,
        s.representatives_may_lead,
        s.scoring.price_weight_pct,
        s.scoring.small_enterprise_deduction_pct,
        s.scoring.tie_rule.value,
    ) == expected
