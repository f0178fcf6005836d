"""Score forms, formulas (hand-computed examples), aggregates, ranking and deviation flags."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluation_room.errors import InvalidInput, InvalidScore, UnknownFormula
from evaluation_room.scoring import (
    Bid,
    BidderResult,
    ItemKind,
    ScoreForm,
    ScoreItem,
    ScoringSettings,
    aggregate,
    compute_results,
    find_deviations,
    get_formula,
    objective_scores,
    parse_entries,
    rank_bidders,
    register_formula,
    validate_form,
)
from tests.unit.room.support import standard_form

D = Decimal


def price_item(formula: str, **params: str) -> ScoreItem:
    return ScoreItem(
        "price", "价格", ItemKind.OBJECTIVE, D(0), D(30), D("0.01"), formula=formula, params=params
    )


def bid(code: str, price: str, ok: bool = True) -> Bid:
    return Bid(code, f"公司{code}", D(price), {"licence": ok})


def test_lowest_price_scores_the_lowest_compliant_bid_full_points_and_others_pro_rata() -> None:
    form = ScoreForm((price_item("lowest_price"),))
    bids = [bid("A", "1000000"), bid("B", "950000"), bid("C", "1100000"), bid("X", "500000", False)]
    scores = objective_scores(form, bids, 2)
    # benchmark = 950000 (X is excluded): 950000/1000000*30 = 28.5; 950000/1100000*30 = 25.909..
    assert scores == {
        "A": {"price": D("28.50")},
        "B": {"price": D("30.00")},
        "C": {"price": D("25.91")},
    }
    assert "X" not in scores


def test_lowest_price_uses_the_points_parameter_instead_of_the_maximum() -> None:
    item = ScoreItem(
        "price",
        "价格",
        ItemKind.OBJECTIVE,
        D(0),
        D(30),
        D("0.01"),
        formula="lowest_price",
        params={"points": "20"},
    )
    scores = objective_scores(ScoreForm((item,)), [bid("A", "200"), bid("B", "100")], 2)
    assert scores["A"]["price"] == D("10.00")
    assert scores["B"]["price"] == D("20.00")


def test_works_deviation_rate_deducts_more_above_the_mean_than_below() -> None:
    form = ScoreForm((price_item("works_deviation_rate"),))
    # mean 100: 90 is 10 % below -> 30 - 0.5*10 = 25; 110 is 10 % above -> 30 - 1*10 = 20
    scores = objective_scores(form, [bid("A", "90"), bid("B", "110")], 2)
    assert scores == {"A": {"price": D("25.00")}, "B": {"price": D("20.00")}}


def test_works_deviation_rate_applies_the_coefficient_to_the_benchmark() -> None:
    form = ScoreForm((price_item("works_deviation_rate", coefficient="0.9"),))
    # benchmark = 100*0.9 = 90: A scores full 30; B is 20/90 = 22.222 % above -> 7.78
    scores = objective_scores(form, [bid("A", "90"), bid("B", "110")], 2)
    assert scores == {"A": {"price": D("30.00")}, "B": {"price": D("7.78")}}


def test_works_deviation_rate_with_four_bids_rounds_each_score_half_up() -> None:
    form = ScoreForm((price_item("works_deviation_rate"),))
    bids = [bid("A", "100"), bid("B", "110"), bid("C", "90"), bid("D", "120")]
    # mean 105: A -4.7619 % -> 27.619; B +4.7619 % -> 25.238; C -14.2857 % -> 22.857;
    # D +14.2857 % -> 15.714
    scores = {k: v["price"] for k, v in objective_scores(form, bids, 2).items()}
    assert scores == {"A": D("27.62"), "B": D("25.24"), "C": D("22.86"), "D": D("15.71")}


def test_works_deviation_rate_is_floored_at_zero() -> None:
    form = ScoreForm((price_item("works_deviation_rate", e_above="3"),))
    # mean 105, D is 14.2857 % above: 30 - 42.857 < 0 -> 0
    scores = objective_scores(form, [bid("A", "90"), bid("D", "120")], 2)
    assert scores["D"]["price"] == D("0.00")


def test_formulas_are_plug_ins_found_by_name() -> None:
    @register_formula("test_flat_ten")
    def flat(item: ScoreItem, bids: Sequence[Bid]) -> dict[str, Decimal]:
        return {b.bidder_code: D(10) for b in bids}

    assert get_formula("test_flat_ten") is flat
    scores = objective_scores(ScoreForm((price_item("test_flat_ten"),)), [bid("A", "1")], 2)
    assert scores["A"]["price"] == D("10.00")
    with pytest.raises(UnknownFormula):
        get_formula("nope")


def test_a_form_naming_an_unregistered_formula_is_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        validate_form(ScoreForm((price_item("no_such_formula"),)))
    assert "price" in err.value.fields


def test_a_form_whose_step_does_not_divide_the_range_is_refused() -> None:
    item = ScoreItem("tech", "技术", ItemKind.SUBJECTIVE, D(0), D(10), D(3))
    with pytest.raises(InvalidInput):
        validate_form(ScoreForm((item,)))


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("51", "between"),
        ("-1", "between"),
        ("40.3", "multiple"),
        ("abc", "not a number"),
        (40.5, "floating-point"),
        (True, "floating-point"),
        ("NaN", "finite"),
    ],
)
def test_out_of_range_off_step_and_non_decimal_scores_are_refused_with_field_details(
    value: object, why: str
) -> None:
    with pytest.raises(InvalidScore) as err:
        parse_entries(standard_form(), ["B001"], {"B001": {"tech": value}})
    assert why in err.value.fields["B001.tech"]
    assert err.value.code == "invalid_score"


def test_scores_for_unknown_bidders_or_objective_items_are_refused() -> None:
    with pytest.raises(InvalidScore) as err:
        parse_entries(standard_form(), ["B001"], {"B003": {"tech": "1"}, "B001": {"price": "1"}})
    assert set(err.value.fields) == {"B003", "B001.price"}


def test_valid_scores_are_parsed_as_decimals() -> None:
    out = parse_entries(standard_form(), ["B001"], {"B001": {"tech": "40.5", "service": 15}})
    assert out == {"B001": {"tech": D("40.5"), "service": D(15)}}


def test_drop_highest_and_lowest_applies_only_with_seven_or_more_members() -> None:
    seven = [D(v) for v in ("30", "42", "44", "45", "46", "48", "50")]
    assert aggregate(seven, drop_extremes=False) == D(305) / 7
    assert aggregate(seven, drop_extremes=True) == D(45)
    form = ScoreForm((standard_form().items[1],))
    sheets = {f"m{i}": {"A": {"tech": v}} for i, v in enumerate(seven)}
    on = ScoringSettings(drops_extremes=True)
    res = compute_results(form, [bid("A", "1")], sheets, on)
    assert res.has_dropped_extremes
    assert res.bidders[0].subjective["tech"] == D("45.00")
    off = compute_results(form, [bid("A", "1")], sheets, ScoringSettings())
    assert off.bidders[0].subjective["tech"] == D("43.57")
    five = {k: v for k, v in list(sheets.items())[:5]}
    res5 = compute_results(form, [bid("A", "1")], five, on)
    assert not res5.has_dropped_extremes
    assert res5.bidders[0].subjective["tech"] == D("41.40")  # (30+42+44+45+46)/5


def test_totals_weight_items_and_exclude_failed_bidders() -> None:
    items = (
        price_item("lowest_price"),
        ScoreItem("tech", "技术", ItemKind.SUBJECTIVE, D(0), D(10), D("0.5"), weight=D(2)),
    )
    bids = [bid("A", "100"), bid("B", "200"), bid("X", "50", ok=False)]
    sheets = {
        "m1": {"A": {"tech": D(8)}, "B": {"tech": D(10)}},
        "m2": {"A": {"tech": D(9)}, "B": {"tech": D(10)}},
    }
    res = compute_results(ScoreForm(items), bids, sheets, ScoringSettings())
    by = {r.bidder_code: r for r in res.bidders}
    assert by["A"].total == D("30.00") + D("8.50") * 2  # 47.00
    assert by["B"].total == D("15.00") + D("10.00") * 2  # 35.00
    assert [r.bidder_code for r in res.ranking] == ["A", "B"]
    assert res.excluded[0].bidder_code == "X"
    assert res.excluded[0].failed_checks == ["licence"]


def result(code: str, total: str, price: str, subj: str) -> BidderResult:
    return BidderResult(code, D(price), {}, {}, D(total) - D(subj), D(subj), D(total), D(price))


def test_ties_are_broken_by_lower_price_then_higher_subjective_and_never_by_bidder_code() -> None:
    ranking = rank_bidders(
        [
            result("D", "80", "100", "50"),
            result("C", "80", "100", "50"),
            result("B", "80", "100", "60"),
            result("A", "80", "90", "40"),
            result("E", "90", "200", "10"),
        ]
    )
    assert [(r.bidder_code, r.decided_by) for r in ranking] == [
        ("E", None),
        ("A", "total"),
        ("B", "price"),
        ("C", "subjective_total"),
        ("D", "tied"),
    ]
    assert [r.rank for r in ranking] == [1, 2, 3, 4, 4]


def test_at_most_three_candidates_are_named() -> None:
    form = ScoreForm((price_item("lowest_price"),))
    bids = [bid(c, p) for c, p in (("A", "100"), ("B", "110"), ("C", "120"), ("D", "130"))]
    res = compute_results(form, bids, {}, ScoringSettings())
    assert res.candidates == ["A", "B", "C"]
    assert len(res.ranking) == 4


def test_a_score_beyond_thirty_percent_of_the_mean_is_flagged() -> None:
    form = ScoreForm((standard_form().items[1],))
    sheets = {f"m{i}": {"A": {"tech": D(v)}} for i, v in enumerate(["40", "40", "40", "40", "20"])}
    devs = find_deviations(form, ["A"], sheets, D(30))
    # mean 36; |20 - 36| = 16 > 10.8 -> flagged at 44.44 %; |40 - 36| = 4 is not
    assert [(d.member_id, d.mean, d.deviation_pct) for d in devs] == [
        ("m4", D("36.00"), D("44.44"))
    ]
    assert find_deviations(form, ["A"], sheets, D(50)) == []


def test_exactly_thirty_percent_is_not_flagged_nor_are_unanimous_zero_scores() -> None:
    form = ScoreForm((standard_form().items[1],))
    # mean 10; 13 is exactly 30 % above
    at_edge = {
        "m1": {"A": {"tech": D(7)}},
        "m2": {"A": {"tech": D(13)}},
        "m3": {"A": {"tech": D(10)}},
    }
    assert find_deviations(form, ["A"], at_edge, D(30)) == []
    zeros = {"m1": {"A": {"tech": D(0)}}, "m2": {"A": {"tech": D(0)}}}
    assert find_deviations(form, ["A"], zeros, D(30)) == []


scores_list = st.lists(st.integers(0, 100).map(lambda n: D(n) / 2), min_size=1, max_size=11)


@settings(max_examples=150, deadline=None)
@given(scores_list, st.booleans())
def test_an_aggregate_lies_between_the_lowest_and_highest_score(
    values: list[Decimal], drop: bool
) -> None:
    if drop and len(values) < 3:
        return
    mean = aggregate(values, drop)
    assert min(values) <= mean <= max(values)
    if drop:
        assert mean == aggregate(sorted(values)[1:-1], False)


@settings(max_examples=150, deadline=None)
@given(scores_list, st.integers(5, 60))
def test_exactly_the_scores_beyond_the_threshold_are_flagged(
    values: list[Decimal], pct: int
) -> None:
    form = ScoreForm((standard_form().items[1],))
    sheets = {f"m{i:02d}": {"A": {"tech": v}} for i, v in enumerate(values)}
    mean = sum(values, D(0)) / len(values)
    flagged = {d.member_id for d in find_deviations(form, ["A"], sheets, D(pct))}
    expected = {m for m, s in sheets.items() if abs(s["A"]["tech"] - mean) * 100 > mean * pct}
    assert flagged == expected
