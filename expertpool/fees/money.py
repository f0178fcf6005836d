"""Yuan as `Decimal` and fen as integers (how amounts are stored)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

FEN = Decimal("0.01")


class AmountError(ValueError):
    """Text that is not an amount in yuan."""


def to_fen(yuan: Decimal) -> int:
    """Whole fen of an amount in yuan (rounded half up)."""
    return int((yuan / FEN).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def yuan(fen: int) -> Decimal:
    """An amount in fen as yuan with two places."""
    return (Decimal(fen) * FEN).quantize(FEN)


def parse_yuan(text: str, *, allow_negative: bool = False) -> Decimal:
    """Text such as "120.50" as yuan; at most two decimal places."""
    try:
        value = Decimal((text or "").strip())
    except ArithmeticError:
        raise AmountError("not an amount") from None
    if not value.is_finite() or value != value.quantize(FEN):
        raise AmountError("not an amount to the fen")
    if value < 0 and not allow_negative:
        raise AmountError("negative")
    if abs(value) >= Decimal(10) ** 9:
        raise AmountError("too large")
    return value
