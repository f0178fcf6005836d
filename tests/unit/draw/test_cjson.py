"""Canonical JSON of draw-v1 §2."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from draw import InvalidInput, canonical_digest, canonical_json, load_json

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


def test_keys_are_sorted_without_whitespace_and_non_ascii_is_kept() -> None:
    assert (
        canonical_json({"b": 1, "a": ["专家", None, True]})
        == '{"a":["专家",null,true],"b":1}'.encode()
    )


def test_the_digest_is_the_sha256_of_the_canonical_bytes() -> None:
    assert canonical_digest([1, "x"]) == hashlib.sha256(b'[1,"x"]').hexdigest()


@pytest.mark.parametrize("value", [1.0, [0.5], {"a": {"b": 2.5}}, 2**53, -(2**53), float("nan")])
def test_floats_and_integers_beyond_two_to_the_53_are_refused(value) -> None:
    with pytest.raises(InvalidInput):
        canonical_json(value)


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_loading_canonical_bytes_gives_back_the_value(value) -> None:
    try:
        data = canonical_json(value)
    except InvalidInput:
        return  # lone surrogates in generated text
    assert load_json(data) == value
    assert canonical_json(load_json(data)) == data
