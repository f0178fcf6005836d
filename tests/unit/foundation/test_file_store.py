"""Uploaded files at rest: sealed under the personal-data key, owner-only, bound to their digest;
rotation moves every file (clear legacy ones included) under the current key."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest

from expertpool.core.config import Config
from expertpool.core.errors import NotFound
from expertpool.core.files import MAGIC, FileDamaged, FileStore
from expertpool.core.keys import KeyStore

SCAN = b"%PDF-1.7 identity card scan 440103198001011234"


@pytest.fixture()
def store(tmp_path: Path) -> FileStore:
    keys = KeyStore(Config(instance_path=str(tmp_path), secret_key="x" * 32))
    keys.init()
    return FileStore(tmp_path / "evidence", keys)


def test_a_file_is_sealed_owner_only_and_read_back(store: FileStore) -> None:
    digest = store.put(SCAN)
    path = store.folder / digest
    at_rest = path.read_bytes()
    assert digest == hashlib.sha256(SCAN).hexdigest()
    assert at_rest.startswith(MAGIC) and b"440103" not in at_rest and b"%PDF" not in at_rest
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.folder.stat().st_mode) == 0o700
    assert store.get(digest) == SCAN
    assert store.put(SCAN) == digest and path.read_bytes() == at_rest  # stored once


def test_a_changed_byte_or_a_file_under_another_name_is_refused(store: FileStore) -> None:
    digest = store.put(SCAN)
    other = store.put(b"another file")
    path = store.folder / digest
    blob = bytearray(path.read_bytes())
    blob[-1] ^= 1
    path.write_bytes(bytes(blob))
    with pytest.raises(FileDamaged):
        store.get(digest)
    (store.folder / other).replace(path)  # a valid file filed under the wrong digest
    with pytest.raises(FileDamaged):
        store.get(digest)
    for bad in ("", "../keys/pii.json", "A" * 64, digest[:-1]):
        with pytest.raises(NotFound):
            store.get(bad)


def test_rotation_moves_every_file_under_the_current_key_and_seals_clear_ones(
    store: FileStore,
) -> None:
    sealed = store.put(SCAN)
    legacy = hashlib.sha256(b"written before encryption").hexdigest()
    (store.folder / legacy).write_bytes(b"written before encryption")
    assert store.get(legacy) == b"written before encryption"
    new_id = store.keys.rotate_pii()
    assert store.rotate() == 2
    for digest, clear in ((sealed, SCAN), (legacy, b"written before encryption")):
        blob = (store.folder / digest).read_bytes()
        assert blob.startswith(MAGIC + bytes([len(new_id)]) + new_id.encode())
        assert store.get(digest) == clear
        assert stat.S_IMODE((store.folder / digest).stat().st_mode) == 0o600
    assert store.rotate() == 0  # nothing left to move
