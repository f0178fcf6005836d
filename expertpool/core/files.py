"""Uploaded files at rest: encrypted with the personal-data keys, readable by the owner only.

Evidence (ID scans, diplomas) and training certificates are kept under the SHA-256 of their
content (stored once however often attached) in one folder (mode 0700). Each file (mode 0600) is
sealed with AES-GCM under the current personal-data key and bound to its digest:

    b"EPF1" | key id length (1 byte) | key id | nonce (12 bytes) | ciphertext and tag

Reading decrypts with the key the header names and checks that the content still has the digest
it is filed under. Files written before encryption (no header) are read as they are and
re-encrypted by :meth:`FileStore.rotate`, which `expertpool keys rotate` runs after a new
personal-data key: every file then sits under the current key. Only the application's routes that
check who may read a file serve it (nothing under the folder is served statically).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from expertpool.core.errors import Conflict, NotFound
from expertpool.core.keys import KeyRing, KeyStore
from expertpool.core.texts import _l

MAGIC = b"EPF1"
NONCE_BYTES = 12
_DIGEST = re.compile(r"[0-9a-f]{64}")


class FileDamaged(Conflict):
    """A stored file does not decrypt, or its content no longer has its digest: the reader is
    told to ask the centre (the file must be restored from a backup), never given the bytes."""

    code = "file_damaged"
    default_message = _l("This stored file is damaged; the centre must restore it from a backup.")


class FileStore:
    """The encrypted store of uploaded files in one folder, under the key store's data keys."""

    def __init__(self, folder: Path, keys: KeyStore) -> None:
        self.folder = folder
        self.keys = keys

    # Writing ---------------------------------------------------------------------------------
    def put(self, data: bytes) -> str:
        """Keep `data` (written atomically, once, owner-only); returns its SHA-256."""
        digest = hashlib.sha256(data).hexdigest()
        target = self._path(digest)
        if not target.exists():
            self._write(target, self._seal(self.keys.pii_ring(), digest, data))
        return digest

    def _write(self, target: Path, blob: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        tmp = self.folder / f".{target.name}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, blob)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)

    @staticmethod
    def _seal(ring: KeyRing, digest: str, data: bytes) -> bytes:
        key_id = ring.current.encode("ascii")
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(ring.keys[ring.current]).encrypt(nonce, data, _ad(digest))
        return MAGIC + bytes([len(key_id)]) + key_id + nonce + sealed

    # Reading ---------------------------------------------------------------------------------
    def get(self, digest: str) -> bytes:
        """The content filed under `digest`; `NotFound` when there is none, `FileDamaged` when
        it does not decrypt or no longer matches its digest."""
        path = self._path(digest)
        if not path.exists():
            raise NotFound()
        data = self._open(self.keys.pii_ring(), digest, path.read_bytes())
        if hashlib.sha256(data).hexdigest() != digest:
            raise FileDamaged()
        return data

    @staticmethod
    def _open(ring: KeyRing, digest: str, blob: bytes) -> bytes:
        if not blob.startswith(MAGIC):
            return blob  # written before files were encrypted: `rotate` seals it
        try:
            n = blob[len(MAGIC)]
            start = len(MAGIC) + 1
            key_id = blob[start : start + n].decode("ascii")
            nonce = blob[start + n : start + n + NONCE_BYTES]
            sealed = blob[start + n + NONCE_BYTES :]
            return AESGCM(ring.keys[key_id]).decrypt(nonce, sealed, _ad(digest))
        except (InvalidTag, KeyError, IndexError, UnicodeDecodeError, ValueError):
            raise FileDamaged() from None

    # Upkeep ----------------------------------------------------------------------------------
    def rotate(self) -> int:
        """Re-encrypt under the current key every file that is not (clear ones included), and
        make every file owner-only; returns how many were rewritten."""
        if not self.folder.exists():
            return 0
        ring = self.keys.pii_ring()
        current = MAGIC + bytes([len(ring.current)]) + ring.current.encode("ascii")
        rewritten = 0
        for path in sorted(self.folder.iterdir()):
            if not _DIGEST.fullmatch(path.name):
                continue
            blob = path.read_bytes()
            if blob.startswith(current):
                os.chmod(path, 0o600)
                continue
            data = self._open(ring, path.name, blob)
            if hashlib.sha256(data).hexdigest() != path.name:
                raise FileDamaged()
            self._write(path, self._seal(ring, path.name, data))
            rewritten += 1
        return rewritten

    def _path(self, digest: str) -> Path:
        if not _DIGEST.fullmatch(digest or ""):
            raise NotFound()
        return self.folder / digest


def _ad(digest: str) -> bytes:
    return f"expertpool-file:{digest}".encode("ascii")
