"""Identifier checks: GB 11643 ID numbers, GB 32100 credit codes, mainland mobiles."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from expertpool.experts import identity
from expertpool.experts.identity import InvalidIdentifier

TODAY = date(2026, 6, 1)
births = st.dates(min_value=date(1930, 1, 1), max_value=date(2000, 12, 31))


@settings(max_examples=150, deadline=None)
@given(
    birth=births, serial=st.integers(0, 999), region=st.sampled_from(["440103", "440304", "110101"])
)
def test_generated_id_numbers_pass_and_yield_their_birth_date(
    birth: date, serial: int, region: str
) -> None:
    number = identity.make_id_number(region, birth, serial)
    assert identity.check_id_number(number.lower(), TODAY) == (number, birth)


@settings(max_examples=150, deadline=None)
@given(birth=births, serial=st.integers(0, 999), wrong=st.sampled_from("0123456789X"))
def test_any_other_check_digit_is_refused(birth: date, serial: int, wrong: str) -> None:
    number = identity.make_id_number("440103", birth, serial)
    if wrong == number[-1]:
        return
    with pytest.raises(InvalidIdentifier, match="check digit"):
        identity.check_id_number(number[:-1] + wrong, TODAY)


def test_an_impossible_birth_date_is_refused_before_the_check_digit() -> None:
    first17 = "44010319990231123"  # 31 February
    with pytest.raises(InvalidIdentifier, match="impossible"):
        identity.check_id_number(first17 + identity.id_check_char(first17), TODAY)


def test_a_birth_date_in_the_future_is_refused() -> None:
    number = identity.make_id_number("440103", TODAY + timedelta(days=1), 1)
    with pytest.raises(InvalidIdentifier, match="impossible"):
        identity.check_id_number(number, TODAY)


@pytest.mark.parametrize(
    "raw", ["", "12345", "44010319800101123", "4401031980010112345", "44010319800101１２３4"]
)
def test_malformed_id_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidIdentifier):
        identity.check_id_number(raw, TODAY)


def test_the_published_example_id_number_passes() -> None:
    # The worked example of GB 11643-1999 appendix: 11010519491231002X.
    assert identity.check_id_number("11010519491231002X", TODAY)[1] == date(1949, 12, 31)


def test_age_counts_completed_years() -> None:
    assert identity.age_on(date(1956, 6, 2), TODAY) == 69
    assert identity.age_on(date(1956, 6, 1), TODAY) == 70


@settings(max_examples=150, deadline=None)
@given(body=st.text(alphabet=identity.USCC_ALPHABET, min_size=17, max_size=17))
def test_generated_credit_codes_pass_and_a_changed_check_character_fails(body: str) -> None:
    code = identity.make_credit_code(body)
    assert identity.check_credit_code(code.lower()) == code
    other = identity.USCC_ALPHABET[(identity.USCC_ALPHABET.index(code[-1]) + 1) % 31]
    with pytest.raises(InvalidIdentifier, match="check character"):
        identity.check_credit_code(code[:-1] + other)


def test_a_real_published_credit_code_passes() -> None:
    # Tencent's (Shenzhen) code as printed on its business licence.
    assert identity.check_credit_code("9144030071526726XG") == "9144030071526726XG"


@pytest.mark.parametrize("raw", ["91440300715267260", "9144030071526726IG", "ABC"])
def test_malformed_credit_codes_are_refused(raw: str) -> None:
    with pytest.raises(InvalidIdentifier):
        identity.check_credit_code(raw)


@pytest.mark.parametrize(
    "raw", ["13812345678", "+86 138 1234 5678", "008613812345678", "138-1234-5678"]
)
def test_mainland_mobiles_are_normalised_to_e164(raw: str) -> None:
    assert identity.check_mobile(raw) == "+8613812345678"


@pytest.mark.parametrize(
    "raw", ["020-83331234", "02083331234", "+852 9123 4567", "+1 415 555 2671", "12345", "abc"]
)
def test_landlines_foreign_and_malformed_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidIdentifier):
        identity.check_mobile(raw)


def test_masks_hide_the_middle_of_personal_data() -> None:
    assert identity.mask_id_number("11010519491231002X") == "110***********002X"
    assert identity.mask_phone("+8613812345678") == "+86 138******78"
