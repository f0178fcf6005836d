"""Personal-data encryption: binding to row and column, key ids, blind indexes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from expertpool.core.keys import KeyRing
from expertpool.core.pii import DecryptionFailed, PiiCipher

K1, K2 = bytes(range(32)), bytes(range(1, 33))
CIPHER = PiiCipher(KeyRing("k1", {"k1": K1}), blind_key=b"b" * 32)


@settings(max_examples=100, deadline=None)
@given(value=st.text(min_size=0, max_size=40), row=st.integers(1, 10**9))
def test_values_round_trip_and_never_appear_in_clear(value: str, row: int) -> None:
    blob = CIPHER.encrypt(value, table="expert", row_id=row, column="phone")
    assert CIPHER.decrypt(blob, table="expert", row_id=row, column="phone") == value
    if len(value) >= 4:
        assert value.encode() not in blob


def test_a_value_moved_to_another_row_or_column_does_not_decrypt() -> None:
    blob = CIPHER.encrypt("11010519491231002X", table="expert", row_id=7, column="id_number")
    with pytest.raises(DecryptionFailed):
        CIPHER.decrypt(blob, table="expert", row_id=8, column="id_number")
    with pytest.raises(DecryptionFailed):
        CIPHER.decrypt(blob, table="expert", row_id=7, column="phone")


def test_a_tampered_value_does_not_decrypt() -> None:
    blob = bytearray(CIPHER.encrypt("x", table="expert", row_id=1, column="phone"))
    blob[-1] ^= 1
    with pytest.raises(DecryptionFailed):
        CIPHER.decrypt(bytes(blob), table="expert", row_id=1, column="phone")


def test_old_values_decrypt_after_a_new_key_becomes_current() -> None:
    blob = CIPHER.encrypt("+8613812345678", table="expert", row_id=1, column="phone")
    rotated = PiiCipher(KeyRing("k2", {"k1": K1, "k2": K2}), blind_key=b"b" * 32)
    assert rotated.key_id_of(blob) == "k1"
    assert rotated.decrypt(blob, table="expert", row_id=1, column="phone") == "+8613812345678"
    assert rotated.key_id_of(rotated.encrypt("a", table="expert", row_id=1, column="phone")) == "k2"


def test_blind_indexes_are_stable_per_column_and_depend_on_the_key() -> None:
    a = CIPHER.blind_index("11010519491231002X", "id_number")
    assert a == CIPHER.blind_index("11010519491231002X", "id_number")
    assert a != CIPHER.blind_index("11010519491231002X", "phone")
    other = PiiCipher(CIPHER.ring, blind_key=b"c" * 32)
    assert a != other.blind_index("11010519491231002X", "id_number")
