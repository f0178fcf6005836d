"""AES-GCM for the personal data of notifications, bound to its row and column.

Stored as `key_id|nonce|ciphertext` (the key id as ASCII, then one `|`), so keys can rotate:
new values use the current key of `KeyStore.pii_ring()`, old ones stay readable.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from expertpool.keys import KeyFileError, KeyStore

_SEP = b"|"


def seal(keys: KeyStore, plaintext: str, associated: str) -> bytes:
    """Encrypt `plaintext`; `associated` (e.g. `outbox:12:to`) must be given again to open it."""
    ring = keys.pii_ring()
    nonce = os.urandom(12)
    ciphertext = AESGCM(ring.keys[ring.current]).encrypt(
        nonce, plaintext.encode("utf-8"), associated.encode("utf-8")
    )
    return ring.current.encode("ascii") + _SEP + nonce + ciphertext


def open_sealed(keys: KeyStore, sealed: bytes, associated: str) -> str:
    """Decrypt a value made by `seal` with the same `associated` data."""
    key_id, sep, rest = bytes(sealed).partition(_SEP)
    if not sep or len(rest) < 13:
        raise ValueError("not a sealed value")
    ring = keys.pii_ring()
    key = ring.keys.get(key_id.decode("ascii"))
    if key is None:
        raise KeyFileError(f"personal-data key {key_id.decode('ascii')!r} is not in the key ring")
    return AESGCM(key).decrypt(rest[:12], rest[12:], associated.encode("utf-8")).decode("utf-8")


def normalise_phone(number: str) -> str:
    """The form a phone number is compared in: digits and a leading `+` only."""
    text = number.strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    return ("+" if text.startswith("+") else "") + digits


def phone_index(keys: KeyStore, number: str) -> str:
    """A blind index of a phone number (HMAC-SHA256 under a key kept out of the database)."""
    key = hmac.new(keys.blind_index_key(), b"notify-phone-v1", hashlib.sha256).digest()
    return hmac.new(key, normalise_phone(number).encode("ascii"), hashlib.sha256).hexdigest()
