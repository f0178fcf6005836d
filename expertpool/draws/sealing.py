"""Sealing of draw secrets and panels: a per-draw AES-GCM key wrapped by the sealing key file.

Every sealed value is `nonce(12) ‖ ciphertext+tag`, with associated data naming the draw and the
purpose (`draw-v1:<draw id>:<purpose>`), so a value copied to another draw or field fails to open.
"""

from __future__ import annotations

import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import draw
from draw import cjson
from expertpool.core.errors import Conflict
from expertpool.core.keys import KeyStore
from expertpool.core.texts import _l
from expertpool.draws.models import Draw

NONCE_BYTES = 12


class SealBroken(Exception):
    """A sealed value does not open under its key and associated data."""


def _ad(draw_id: str, purpose: str) -> bytes:
    return f"draw-v1:{draw_id}:{purpose}".encode("ascii")


def _seal(key: bytes, data: bytes, ad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, data, ad)


def _open(key: bytes, blob: bytes, ad: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], ad)
    except (InvalidTag, ValueError):
        raise SealBroken(ad.decode("ascii")) from None


def new_draw_key(sealing_key: bytes, draw_id: str) -> tuple[bytes, bytes]:
    """A fresh per-draw key and its wrapped form (to store)."""
    key = AESGCM.generate_key(bit_length=256)
    return key, _seal(sealing_key, key, _ad(draw_id, "key"))


def unwrap_draw_key(sealing_key: bytes, draw_id: str, wrapped: bytes) -> bytes:
    """The per-draw key from its wrapped form."""
    return _open(sealing_key, wrapped, _ad(draw_id, "key"))


def seal_value(draw_key: bytes, draw_id: str, purpose: str, clear: bytes) -> bytes:
    """Encrypt one value of a draw (e.g. purpose "secret" or "result")."""
    return _seal(draw_key, clear, _ad(draw_id, purpose))


def open_value(draw_key: bytes, draw_id: str, purpose: str, blob: bytes) -> bytes:
    """Decrypt one value of a draw; `SealBroken` on any mismatch."""
    return _open(draw_key, blob, _ad(draw_id, purpose))


def draw_key(d: Draw, keys: KeyStore) -> bytes:
    """The draw's own key, unwrapped with the sealing key file."""
    return unwrap_draw_key(keys.sealing_key(), d.draw_id, d.wrapped_key)


def open_secret(d: Draw, keys: KeyStore) -> str:
    """The draw's secret (only for the draw itself and, after opening, the transcript)."""
    return open_value(draw_key(d, keys), d.draw_id, "secret", d.secret_enc).decode("ascii")


def open_result(d: Draw, keys: KeyStore) -> draw.DrawResult:
    """The sealed result (callers record the decryption in the audit trail)."""
    if d.result_enc is None:
        raise Conflict(str(_l("This draw has no result.")), code="no_result")
    raw = open_value(draw_key(d, keys), d.draw_id, "result", d.result_enc)
    return draw.DrawResult.from_json(json.loads(raw))


def seal_record(d: Draw, keys: KeyStore, purpose: str, data: bytes) -> bytes:
    """Seal one of the draw's own records (`snapshot`, `commit`, `sealed`) under its key."""
    return seal_value(draw_key(d, keys), d.draw_id, purpose, data)


def open_snapshot(d: Draw, keys: KeyStore) -> bytes:
    """The stored candidate snapshot (zlib JSON rows) of a draw."""
    return open_value(draw_key(d, keys), d.draw_id, "snapshot", d.snapshot)


def open_commit(d: Draw, keys: KeyStore) -> dict[str, Any]:
    """The draw-v1 commitment (eligible counts and digests)."""
    found: dict[str, Any] = json.loads(
        open_value(draw_key(d, keys), d.draw_id, "commit", d.commit_enc)
    )
    return found


def open_sealed(d: Draw, keys: KeyStore) -> dict[str, Any] | None:
    """The sealed record (None before the draw)."""
    if d.sealed_enc is None:
        return None
    found: dict[str, Any] = json.loads(
        open_value(draw_key(d, keys), d.draw_id, "sealed", d.sealed_enc)
    )
    return found


def open_conflicts(d: Draw, keys: KeyStore) -> dict[str, list[str]]:
    """The typed conflict reasons of a draw by expert id (empty when none were kept)."""
    if d.conflicts_enc is None:
        return {}
    found: dict[str, list[str]] = json.loads(
        open_value(draw_key(d, keys), d.draw_id, "conflicts", d.conflicts_enc)
    )
    return found


def seal_numbers(keys: KeyStore, draw_id: str, numbers: dict[str, Any]) -> bytes:
    """Numbers of a refused prepare, sealed under the sealing key (no draw key exists yet)."""
    return seal_value(keys.sealing_key(), draw_id, "refused", cjson.dumps(numbers))


def public_request(doc: dict[str, Any]) -> dict[str, Any]:
    """The part of a draw-v1 request that may be stored in clear: everything but the excluded
    experts (for a supplementary draw, those already invited for the project) and the cities of
    the secondary venues' groups (`remote-1`, ...: picked at random, hidden until the opening)."""
    out = {k: v for k, v in doc.items() if k != "excluded_experts"}
    if isinstance(out.get("groups"), list):
        out["groups"] = [
            {**g, "regions_in": []} if str(g.get("id", "")).startswith("remote-") else g
            for g in out["groups"]
        ]
    return out


def open_request(d: Draw, keys: KeyStore) -> dict[str, Any]:
    """The draw's whole draw-v1 request (as committed), opened with the key files."""
    if d.request_enc is None:  # pragma: no cover - every draw since 0023 has it
        return dict(json.loads(d.request_json))
    return dict(json.loads(open_value(draw_key(d, keys), d.draw_id, "request", d.request_enc)))
