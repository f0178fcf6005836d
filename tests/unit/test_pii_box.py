"""Sealed personal data of notifications: bound to its row and column, readable after key rotation."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag

from expertpool.config import Config
from expertpool.keys import KeyStore
from expertpool.services.pii_box import normalise_phone, open_sealed, phone_index, seal


@pytest.fixture()
def keys(tmp_path: Path) -> KeyStore:
    store = KeyStore(Config(instance_path=str(tmp_path)))
    store.init()
    return store


def test_a_sealed_number_opens_only_with_its_own_associated_data(keys: KeyStore) -> None:
    sealed = seal(keys, "+8613812345678", "outbox:1:to")
    assert b"13812345678" not in sealed
    assert open_sealed(keys, sealed, "outbox:1:to") == "+8613812345678"
    with pytest.raises(InvalidTag):
        open_sealed(keys, sealed, "outbox:2:to")


def test_values_sealed_before_a_key_rotation_still_open(keys: KeyStore) -> None:
    old = seal(keys, "李四", "invitation:5:name")
    keys.rotate_pii()
    new = seal(keys, "李四", "invitation:5:name")
    assert old.split(b"|")[0] != new.split(b"|")[0]
    assert open_sealed(keys, old, "invitation:5:name") == open_sealed(keys, new, "invitation:5:name") == "李四"


def test_the_phone_index_ignores_formatting_but_not_digits(keys: KeyStore) -> None:
    assert normalise_phone(" +86 138-1234-5678 ") == "+8613812345678"
    assert phone_index(keys, "+86 138 1234 5678") == phone_index(keys, "+8613812345678")
    assert phone_index(keys, "+8613812345679") != phone_index(keys, "+8613812345678")
    assert "13812345678" not in phone_index(keys, "+8613812345678")
