"""Organisation codes: the unified social credit code (GB 32100-2015) and its check character."""

from __future__ import annotations

# GB 32100: 31 characters, the letters I, O, Z, S and V are never used.
CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {ch: i for i, ch in enumerate(CHARSET)}


def credit_code_check_char(first17: str) -> str:
    """The 18th (check) character for the first 17 characters of a credit code.

    Raises ValueError when `first17` is not 17 characters of the GB 32100 character set.
    """
    if len(first17) != 17 or any(ch not in _VALUE for ch in first17):
        raise ValueError(
            "a credit code starts with 17 characters from 0-9 and A-Y (no I, O, S, V, Z)"
        )
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def is_valid_credit_code(code: str) -> bool:
    """Whether `code` is an 18-character unified social credit code with the right check
    character.
    """
    if not isinstance(code, str) or len(code) != 18 or any(ch not in _VALUE for ch in code):
        return False
    return credit_code_check_char(code[:17]) == code[17]


def normalise_credit_code(raw: str) -> str:
    """Strip spaces and upper-case a typed code (it still needs `is_valid_credit_code`)."""
    return "".join(raw.split()).upper()
