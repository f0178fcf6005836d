"""The withholding rule and the fee schedule, at every band edge, with properties."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from expertpool.fees.schedule import Attendance, Outcome, fee_at_higher, fee_under, parse_schedule
from expertpool.fees.schedules import bundled
from expertpool.fees.tax import TaxRuleError, parse_tax_rule

RULE = parse_tax_rule(bundled()["tax"])
PROVINCE = parse_schedule(bundled()["schedules"][0])
SHENZHEN = parse_schedule(bundled()["schedules"][1])
D = Decimal

# Income at and around every edge: 800 (nothing below), 4,000 (fixed → percentage deduction),
# 25,000 (taxable 20,000: 20 % → 30 %), 62,500 (taxable 50,000: 30 % → 40 %).
EDGES = [
    ("0", "0.00"),
    ("800", "0.00"),
    ("800.01", "0.00"),  # 0.002 rounds half up to 0.00
    ("800.03", "0.01"),  # 0.006 → 0.01
    ("4000", "640.00"),
    ("4000.01", "640.00"),  # 3200.008 × 20 % = 640.0016
    ("25000", "4000.00"),
    ("25000.01", "4000.00"),  # 20000.008 × 30 % − 2000 = 4000.0024
    ("62500", "13000.00"),
    ("62500.01", "13000.00"),  # 50000.008 × 40 % − 7000 = 13000.0032
    ("100000", "25000.00"),
]


@pytest.mark.parametrize(("gross", "tax"), EDGES)
def test_tax_withheld_at_every_band_edge(gross: str, tax: str) -> None:
    assert RULE.withheld(D(gross)) == D(tax)


def test_tax_rule_is_continuous_at_the_band_edges() -> None:
    # The quick deductions make each band meet the next: no jump at an edge.
    for edge in (D("20000"), D("50000")):
        below = next(b for b in RULE.bands if b.up_to is not None and edge <= b.up_to)
        above = RULE.bands[RULE.bands.index(below) + 1]
        assert edge * below.rate_pct / 100 - below.quick_deduction == (
            edge * above.rate_pct / 100 - above.quick_deduction
        )


def test_tax_rule_refuses_a_wrong_shape() -> None:
    data = dict(bundled()["tax"])
    data["bands"] = [{"up_to": "100", "rate_pct": "20", "quick_deduction": "0"}]
    with pytest.raises(TaxRuleError):
        parse_tax_rule(data)


amounts = st.decimals(min_value=0, max_value=200000, places=2, allow_nan=False)


@given(amounts)
def test_net_plus_tax_is_gross_and_tax_is_within_bounds(gross: Decimal) -> None:
    tax = RULE.withheld(gross)
    assert tax >= 0
    assert (gross - tax) + tax == gross
    assert tax <= gross * D("0.4")


@given(amounts, amounts)
def test_tax_and_net_rise_with_the_gross(a: Decimal, b: Decimal) -> None:
    low, high = min(a, b), max(a, b)
    assert RULE.withheld(low) <= RULE.withheld(high)
    assert low - RULE.withheld(low) <= high - RULE.withheld(high)


# Schedule ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "fee"),
    [
        (0, "500"),
        (240, "500"),
        (241, "800"),
        (480, "800"),
        (481, "900"),
        (540, "900"),
        (541, "1000"),
    ],
)
def test_duration_fee_at_every_band_edge(minutes: int, fee: str) -> None:
    assert PROVINCE.duration_fee(minutes) == D(fee)


minutes = st.integers(min_value=0, max_value=24 * 60)


@given(minutes, minutes, st.booleans(), st.booleans(), st.sampled_from(list(Outcome)))
def test_fee_rises_with_the_time_served(
    a: int, b: int, leader: bool, offsite: bool, outcome: Outcome
) -> None:
    low, high = sorted((a, b))
    for schedule in (PROVINCE, SHENZHEN):
        f_low = fee_under(schedule, Attendance(low, leader, offsite, outcome)).gross
        f_high = fee_under(schedule, Attendance(high, leader, offsite, outcome)).gross
        assert f_low <= f_high
        net_low, net_high = f_low - RULE.withheld(f_low), f_high - RULE.withheld(f_high)
        assert net_low <= net_high


@given(minutes, st.booleans())
def test_a_remote_expert_gets_the_higher_of_home_and_host(served: int, leader: bool) -> None:
    att = Attendance(served, leader)
    here = fee_under(PROVINCE, att).gross
    home = fee_under(SHENZHEN, att).gross
    assert fee_at_higher(PROVINCE, SHENZHEN, att).gross == max(here, home)
    assert fee_at_higher(SHENZHEN, PROVINCE, att).gross == max(here, home)


@pytest.mark.parametrize(
    ("outcome", "served", "fee"),
    [
        (Outcome.CANCELLED, 10, "300"),
        (Outcome.FAILED, 60, "300"),
        (Outcome.FAILED, 61, "500"),
        (Outcome.EVALUATED, 10, "500"),
        (Outcome.CANCELLED, 300, "800"),
    ],
)
def test_a_failed_or_cancelled_tender_pays_as_the_schedule_says(
    outcome: Outcome, served: int, fee: str
) -> None:
    assert fee_under(PROVINCE, Attendance(served, outcome=outcome)).duration_fee == D(fee)


def test_leader_travel_and_meal_are_added() -> None:
    fee = fee_under(PROVINCE, Attendance(300, is_leader=True, is_offsite=True))
    # 800 (4–8 h) + leader 200 + travel 50 + off-site 150 + meal 50
    assert (fee.duration_fee, fee.leader_supplement, fee.allowances) == (
        D("800"),
        D("200"),
        D("250"),
    )
    assert fee.gross == D("1250")


# Properties right at the edges: inputs are drawn around each edge by construction, so every
# generated case crosses or touches one.

TAX_EDGES = [D("800"), D("4000"), D("25000"), D("62500")]
"""Gross amounts where the rule changes: no tax below, fixed → percentage deduction, 20 → 30 %,
30 → 40 %."""
near_tax_edge = st.builds(
    lambda edge, fen: edge + D(fen) / 100,
    st.sampled_from(TAX_EDGES),
    st.integers(min_value=-500, max_value=500),
)


@given(near_tax_edge, st.integers(min_value=0, max_value=500))
def test_at_every_tax_edge_net_plus_tax_is_gross_and_both_rise(gross: Decimal, step: int) -> None:
    higher = gross + D(step) / 100
    for amount in (gross, higher):
        tax = RULE.withheld(amount)
        assert (amount - tax) + tax == amount and tax == tax.quantize(D("0.01"))
    assert RULE.withheld(gross) <= RULE.withheld(higher)
    assert gross - RULE.withheld(gross) <= higher - RULE.withheld(higher)


MINUTE_EDGES = [60, 240, 480, 540, 600]
"""Minutes where a fee changes: the short-session limit, the two bands (and the meal), the first
extra hours."""
near_minute_edge = st.builds(
    lambda edge, d: max(0, edge + d),
    st.sampled_from(MINUTE_EDGES),
    st.integers(min_value=-3, max_value=3),
)


@given(
    near_minute_edge,
    st.integers(min_value=0, max_value=5),
    st.booleans(),
    st.sampled_from(list(Outcome)),
)
def test_at_every_band_edge_the_fee_and_net_rise_with_the_minutes(
    served: int, more: int, leader: bool, outcome: Outcome
) -> None:
    for schedule in (PROVINCE, SHENZHEN):
        low = fee_under(schedule, Attendance(served, leader, outcome=outcome)).gross
        high = fee_under(schedule, Attendance(served + more, leader, outcome=outcome)).gross
        assert low <= high
        tax_low, tax_high = RULE.withheld(low), RULE.withheld(high)
        assert (low - tax_low) + tax_low == low
        assert low - tax_low <= high - tax_high
