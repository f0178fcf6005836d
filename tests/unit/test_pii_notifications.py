"""Personal data of notifications: bound to its row and column, readable after key rotation."""

from __future__ import annotations

from pathlib import Path

import pytest

from expertpool.core.config import Config
from expertpool.core.keys import KeyStore
from expertpool.core.pii import DecryptionFailed, PiiCipher, normalise_phone


@pytest.fixture()
def keys(tmp_path: Path) -> KeyStore:
    store = KeyStore(Config(instance_path=str(tmp_path)))
    store.init()
    return store


def test_a_sealed_number_opens_only_with_its_own_row_and_column(keys: KeyStore) -> None:
    cipher = PiiCipher.from_keys(keys)
    sealed = cipher.encrypt("+8613812345678", table="outbox", row_id=1, column="to")
    assert b"13812345678" not in sealed
    assert cipher.decrypt(sealed, table="outbox", row_id=1, column="to") == "+8613812345678"
    with pytest.raises(DecryptionFailed):
        cipher.decrypt(sealed, table="outbox", row_id=2, column="to")
    with pytest.raises(DecryptionFailed):
        cipher.decrypt(sealed, table="invitation", row_id=1, column="phone")


def test_values_sealed_before_a_key_rotation_still_open(keys: KeyStore) -> None:
    old = PiiCipher.from_keys(keys).encrypt("李四", table="invitation", row_id=5, column="name")
    keys.rotate_pii()
    cipher = PiiCipher.from_keys(keys)
    new = cipher.encrypt("李四", table="invitation", row_id=5, column="name")
    assert cipher.key_id_of(old) != cipher.key_id_of(new)
    assert cipher.decrypt(old, table="invitation", row_id=5, column="name") == "李四"
    assert cipher.decrypt(new, table="invitation", row_id=5, column="name") == "李四"


def test_the_phone_index_ignores_formatting_but_not_digits(keys: KeyStore) -> None:
    cipher = PiiCipher.from_keys(keys)

    def index(n: str) -> str:
        return cipher.blind_index(normalise_phone(n), "phone")

    assert normalise_phone(" +86 138-1234-5678 ") == "+8613812345678"
    assert index("+86 138 1234 5678") == index("+8613812345678")
    assert index("+8613812345679") != index("+8613812345678")
    assert "13812345678" not in index("+8613812345678")
