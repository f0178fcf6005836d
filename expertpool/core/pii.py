"""Personal data at rest: AES-GCM bound to row and column, blind indexes, key rotation.

A stored value is `len(key_id) ‖ key_id ‖ nonce(12) ‖ ciphertext+tag`; the associated data is
`<table>:<row id>:<column>`, so a value copied to another row or column fails to decrypt.
The blind index is HMAC-SHA256 over the normalised value with a per-column key derived by HKDF
from the blind-index key file, which never enters the database.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from expertpool.core import audit
from expertpool.core.keys import KeyRing, KeyStore

NONCE_BYTES = 12
ENCRYPTED_COLUMNS = ("id_number", "phone")


class DecryptionFailed(Exception):
    """A stored value does not decrypt under its key and associated data."""


def _derive(key: bytes, info: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info.encode("ascii")).derive(
        key
    )


@dataclass(frozen=True)
class PiiCipher:
    """Encrypts, decrypts and indexes personal data with the keys of one key store."""

    ring: KeyRing
    blind_key: bytes

    @classmethod
    def from_keys(cls, keys: KeyStore) -> PiiCipher:
        """A cipher over the key files (read once)."""
        return cls(ring=keys.pii_ring(), blind_key=keys.blind_index_key())

    @staticmethod
    def associated_data(table: str, row_id: int, column: str) -> bytes:
        """The associated data binding a value to its row and column."""
        return f"{table}:{row_id}:{column}".encode("ascii")

    def encrypt(self, value: str, *, table: str, row_id: int, column: str) -> bytes:
        """Encrypt under the current key."""
        key_id = self.ring.current.encode("ascii")
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.ring.keys[self.ring.current]).encrypt(
            nonce, value.encode("utf-8"), self.associated_data(table, row_id, column)
        )
        return bytes([len(key_id)]) + key_id + nonce + sealed

    @staticmethod
    def key_id_of(blob: bytes) -> str:
        """The id of the key a stored value was encrypted with."""
        return blob[1 : 1 + blob[0]].decode("ascii")

    def decrypt(self, blob: bytes, *, table: str, row_id: int, column: str) -> str:
        """Decrypt a stored value; raises `DecryptionFailed` on any mismatch."""
        try:
            n = blob[0]
            key_id = blob[1 : 1 + n].decode("ascii")
            nonce = blob[1 + n : 1 + n + NONCE_BYTES]
            sealed = blob[1 + n + NONCE_BYTES :]
            key = self.ring.keys[key_id]
            clear = AESGCM(key).decrypt(nonce, sealed, self.associated_data(table, row_id, column))
        except (IndexError, KeyError, UnicodeDecodeError, InvalidTag, ValueError):
            raise DecryptionFailed(f"{table}:{row_id}:{column} does not decrypt") from None
        return clear.decode("utf-8")

    def blind_index(self, value: str, column: str) -> str:
        """Keyed HMAC-SHA256 (hex) of a normalised value, one derived key per column."""
        key = _derive(self.blind_key, f"expertpool blind index {column} v1")
        return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def normalise_phone(number: str) -> str:
    """The form a phone number is indexed in: digits and a leading `+` only."""
    text = number.strip()
    return ("+" if text.startswith("+") else "") + "".join(ch for ch in text if ch.isdigit())


@dataclass(frozen=True)
class EncryptedTable:
    """A table's encrypted personal data: `{attribute: column name used in the associated data}`."""

    model: Any
    table: str
    columns: dict[str, str]


def _rotate_table(session: Session, cipher: PiiCipher, spec: EncryptedTable, batch: int) -> int:
    """Re-encrypt the encrypted columns of every row of one table; commits per batch."""
    model, table, columns = spec.model, spec.table, spec.columns
    rewritten = 0
    last_id = 0
    attrs = list(columns)
    while True:
        rows = list(
            session.execute(
                select(model.id, *(getattr(model, a) for a in attrs))
                .where(model.id > last_id)
                .order_by(model.id)
                .limit(batch)
            ).all()
        )
        if not rows:
            return rewritten
        for row in rows:
            row_id, blobs = row[0], row[1:]
            values = {}
            for attr, blob in zip(attrs, blobs, strict=True):
                if blob is None or cipher.key_id_of(blob) == cipher.ring.current:
                    continue
                clear = cipher.decrypt(blob, table=table, row_id=row_id, column=columns[attr])
                values[attr] = cipher.encrypt(
                    clear, table=table, row_id=row_id, column=columns[attr]
                )
            if values:
                # Core update: rotation must not bump optimistic-concurrency versions.
                session.execute(
                    update(model)
                    .where(model.id == row_id)
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
                rewritten += len(values)
            last_id = row_id
        session.commit()


def rotate_all(
    session: Session,
    cipher: PiiCipher,
    tables: Sequence[EncryptedTable],
    *,
    actor: str = "cli",
    batch: int = 500,
) -> int:
    """Re-encrypt every stored personal value of `tables` under the current key; commits.

    Each feature lists its encrypted columns (`PII_TABLES` in its models); the caller passes them
    all. Returns how many values were rewritten.
    """
    rewritten = sum(_rotate_table(session, cipher, spec, batch) for spec in tables)
    audit.record(
        session,
        actor=actor,
        action="pii.rotate",
        object_type="key",
        object_id=cipher.ring.current,
        after={"values_rewritten": rewritten},
    )
    session.commit()
    return rewritten
