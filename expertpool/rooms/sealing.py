"""A session's state sealed at rest.

From the opening until the project's close, nothing a reader of the database can see without the
key files may link an expert to the project (docs/sealing.md). A session's state names its
members (user ids and names), so it is stored encrypted: AES-GCM under a key derived from the
sealing key file, bound to the room id, as ``v1:`` and base64. Participant rows hold a keyed
token of the user instead of the user id, and the audit trail names committee members by their
alias in the room.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from expertpool.core.keys import KeyStore

PREFIX = "v1:"
NONCE = 12


def _key(keys: KeyStore) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"expertpool room state v1"
    ).derive(keys.sealing_key())


def seal(keys: KeyStore, room_id: str, text: str) -> str:
    """The stored form of a state's JSON text."""
    nonce = os.urandom(NONCE)
    box = AESGCM(_key(keys)).encrypt(nonce, text.encode("utf-8"), room_id.encode("ascii"))
    return PREFIX + base64.b64encode(nonce + box).decode("ascii")


def open_text(keys: KeyStore, room_id: str, stored: str) -> str:
    """The JSON text of a stored state (states written before sealing are plain JSON)."""
    if not stored.startswith(PREFIX):
        return stored
    raw = base64.b64decode(stored[len(PREFIX) :])
    return (
        AESGCM(_key(keys))
        .decrypt(raw[:NONCE], raw[NONCE:], room_id.encode("ascii"))
        .decode("utf-8")
    )


def open_state(keys: KeyStore, room_id: str, stored: str) -> dict[str, Any]:
    """A stored state as data."""
    data: dict[str, Any] = json.loads(open_text(keys, room_id, stored))
    return data
