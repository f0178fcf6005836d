"""Ed25519 signatures over canonical JSON, written in canonical standard base64 (draw-v1 §2)."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from draw import cjson
from draw.errors import InvalidInput

_SEED_HEX = re.compile(r"[0-9a-fA-F]{64}")


class Signer(Protocol):
    """Anything that signs bytes with Ed25519 and tells its public key (an Ed25519PrivateKey
    does).
    """

    def sign(self, data: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of `data`."""
        ...

    def public_key(self) -> Ed25519PublicKey:
        """Return the matching public key."""
        ...


def encode_b64(raw: bytes) -> str:
    """Standard base64 with padding."""
    return base64.b64encode(raw).decode("ascii")


def decode_b64(text: Any, length: int, path: str) -> bytes:
    """Decode canonical standard base64 of exactly `length` bytes, else raise InvalidInput."""
    if type(text) is not str or not text.isascii():
        raise InvalidInput(path, "must be a base64 string")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(path, "is not valid standard base64") from None
    if encode_b64(raw) != text:
        raise InvalidInput(path, "is not canonical base64 (re-encoding differs)")
    if len(raw) != length:
        raise InvalidInput(path, f"must decode to {length} bytes, got {len(raw)}")
    return raw


def public_key_b64(signer: Signer) -> str:
    """The signer's raw 32-byte public key in canonical base64."""
    return encode_b64(signer.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def sign_json(value: Any, signer: Signer) -> str:
    """Sign cjson(value) and return the signature in canonical base64."""
    return encode_b64(signer.sign(cjson.dumps(value)))


def verify_json(value: Any, signature: str, public_key: str) -> bool:
    """Return True when `signature` is a valid Ed25519 signature of cjson(value) under
    `public_key`.
    """
    try:
        key = Ed25519PublicKey.from_public_bytes(decode_b64(public_key, 32, "public_key"))
        key.verify(decode_b64(signature, 64, "signature"), cjson.dumps(value))
    except (InvalidInput, InvalidSignature, ValueError):
        return False
    return True


def key_from_seed_hex(text: str, path: str = "signing key") -> Ed25519PrivateKey:
    """Build an Ed25519 private key from its 32-byte seed written as 64 hex digits."""
    seed = text.strip()
    if _SEED_HEX.fullmatch(seed) is None:
        raise InvalidInput(
            path, f"must hold a 32-byte seed as 64 hex digits (found {len(seed)} characters)"
        )
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed))
