"""Individual income tax withheld on 劳务报酬 (remuneration for labour services), as data.

Pure: no database. The rule comes from the fee data file (`data/fees-v1.json`, key `tax`), with
its source; `withheld` applies it to one payment (per session and payer, see docs/fees.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

FEN = Decimal("0.01")
HUNDRED = Decimal(100)


class TaxRuleError(ValueError):
    """A tax rule of the wrong shape."""


@dataclass(frozen=True)
class TaxBand:
    """Taxable income up to `up_to` (None: no limit) at `rate_pct` less `quick_deduction`."""

    up_to: Decimal | None
    rate_pct: Decimal
    quick_deduction: Decimal


@dataclass(frozen=True)
class TaxRule:
    """The withholding rule: which deduction applies, then the progressive bands."""

    small_income_limit: Decimal
    fixed_deduction: Decimal
    percent_deduction: Decimal
    bands: tuple[TaxBand, ...]
    source: str = ""
    status: str = ""

    def taxable(self, gross: Decimal) -> Decimal:
        """Taxable income of one payment: up to the limit less the fixed deduction, above it
        less the percentage; never negative."""
        if gross <= self.small_income_limit:
            return max(gross - self.fixed_deduction, Decimal(0))
        return gross * (HUNDRED - self.percent_deduction) / HUNDRED

    def withheld(self, gross: Decimal) -> Decimal:
        """Tax withheld on one payment of `gross` yuan, rounded half up to the fen."""
        if gross < 0:
            raise TaxRuleError("a payment is not negative")
        taxable = self.taxable(gross)
        band = next(b for b in self.bands if b.up_to is None or taxable <= b.up_to)
        tax = taxable * band.rate_pct / HUNDRED - band.quick_deduction
        return max(tax, Decimal(0)).quantize(FEN, rounding=ROUND_HALF_UP)


def _money(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TaxRuleError(f"{name}: a number written as a string")
    try:
        out = Decimal(str(value))
    except ArithmeticError:
        raise TaxRuleError(f"{name}: not a number") from None
    if not out.is_finite() or out < 0:
        raise TaxRuleError(f"{name}: a number not below zero")
    return out


def parse_tax_rule(data: Mapping[str, Any]) -> TaxRule:
    """The tax rule from its data (raises `TaxRuleError` on a wrong shape)."""
    try:
        bands = []
        last: Decimal | None = Decimal(0)
        raw_bands = list(data["bands"])
        for i, b in enumerate(raw_bands):
            up_to = None if b["up_to"] is None else _money(b["up_to"], f"bands[{i}].up_to")
            if up_to is None and i != len(raw_bands) - 1:
                raise TaxRuleError("only the last band has no upper limit")
            if up_to is not None and last is not None and up_to <= last:
                raise TaxRuleError("bands rise")
            bands.append(
                TaxBand(
                    up_to,
                    _money(b["rate_pct"], f"bands[{i}].rate_pct"),
                    _money(b["quick_deduction"], f"bands[{i}].quick_deduction"),
                )
            )
            last = up_to
        if not bands or bands[-1].up_to is not None:
            raise TaxRuleError("the last band has no upper limit")
        rule = TaxRule(
            small_income_limit=_money(data["small_income_limit"], "small_income_limit"),
            fixed_deduction=_money(data["fixed_deduction"], "fixed_deduction"),
            percent_deduction=_money(data["percent_deduction"], "percent_deduction"),
            bands=tuple(bands),
            source=str(data.get("source", "")),
            status=str(data.get("status", "")),
        )
    except (KeyError, TypeError) as exc:
        raise TaxRuleError(f"missing or wrong field: {exc}") from None
    if rule.percent_deduction > HUNDRED:
        raise TaxRuleError("percent_deduction: at most 100")
    return rule
