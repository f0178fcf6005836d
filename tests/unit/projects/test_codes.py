"""The unified social credit code check character (GB 32100-2015)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from expertpool.projects.codes import (
    CHARSET,
    credit_code_check_char,
    is_valid_credit_code,
    normalise_credit_code,
)

# Codes of real, well-known organisations (published on their licences).
REAL_CODES = [
    "91350100M000100Y43",
    "91110000600037341L",
    "911100001000079554",
    "91440300708461136T",
]

first17 = st.text(alphabet=CHARSET, min_size=17, max_size=17)


@pytest.mark.parametrize("code", REAL_CODES)
def test_published_codes_are_valid(code: str) -> None:
    assert is_valid_credit_code(code)


@pytest.mark.parametrize("code", REAL_CODES)
def test_a_wrong_check_character_is_refused(code: str) -> None:
    wrong = next(ch for ch in CHARSET if ch != code[17])
    assert not is_valid_credit_code(code[:17] + wrong)


@pytest.mark.parametrize(
    "code",
    [
        "",
        "91350100M000100Y4",
        "91350100M000100Y433",
        "91350100M00010OY43",
        "91350100m000100Y43",
        "91350100M000100I43",
    ],
)
def test_malformed_codes_are_refused(code: str) -> None:
    assert not is_valid_credit_code(code)


def test_the_check_character_of_a_short_prefix_is_an_error() -> None:
    with pytest.raises(ValueError):
        credit_code_check_char("9135010")


@settings(max_examples=200, deadline=None)
@given(first17)
def test_any_prefix_with_its_check_character_is_valid(prefix: str) -> None:
    assert is_valid_credit_code(prefix + credit_code_check_char(prefix))


@settings(max_examples=200, deadline=None)
@given(first17, st.integers(0, 16), st.sampled_from(CHARSET))
def test_changing_one_character_breaks_the_check(prefix: str, pos: int, ch: str) -> None:
    code = prefix + credit_code_check_char(prefix)
    changed = code[:pos] + ch + code[pos + 1 :]
    assert is_valid_credit_code(changed) == (changed == code)


def test_typed_codes_are_normalised() -> None:
    assert normalise_credit_code(" 91350100m000100y43 ") == "91350100M000100Y43"
