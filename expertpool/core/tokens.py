"""Keyed stand-ins for experts where the database or the audit trail must not name them.

Before a panel is opened nothing stored may link an expert to a draw or a project (the sealing
rule, docs/sealing.md). Rows that must still work before opening (invitations, seat bookings,
invitees) hold the expert's **token**: HMAC-SHA256 under the expert-token key file, the same for
one expert everywhere, so PostgreSQL can refuse two overlapping bookings of one expert and a
webhook can find its invitation, while a reader of the database without the key file cannot tell
whose it is (nor try every expert id: the key is not in the database). Audit entries written
before opening name experts by a **pseudonym**: the same HMAC over the draw id and the expert
id, so entries of one draw can be followed step by step, entries of two draws cannot be matched
with each other, and after the close the application (holding the key) maps each pseudonym of
that draw back to the expert for the auditors. Neither value is ever stored beside a clear
expert or user id.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from expertpool.core.keys import KeyStore

TOKEN_CHARS = 32
PSEUDONYM_CHARS = 16


def _mac(key: bytes, label: str) -> str:
    return hmac.new(key, label.encode("utf-8"), hashlib.sha256).hexdigest()


@lru_cache(maxsize=1 << 18)
def _token(key: bytes, expert_id: int) -> str:
    # Cached: a draw's snapshot asks for every expert's token, and the key rarely changes.
    return _mac(key, f"expert-token:{expert_id}")[:TOKEN_CHARS]


class ExpertTokens:
    """Tokens and pseudonyms of experts under the key store's expert-token key."""

    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys

    def token(self, expert_id: int | str) -> str:
        """The expert's token (the same in every draw and table)."""
        return _token(self.keys.expert_token_key(), int(expert_id))

    def tokens(self, expert_ids: list[int] | list[str] | set[int] | set[str]) -> dict[str, int]:
        """token -> expert id, for the given experts (one key read)."""
        key = self.keys.expert_token_key()
        return {_token(key, int(e)): int(e) for e in expert_ids}

    def user_token(self, user_id: int | str) -> str:
        """A login account's token (room participant rows name accounts by it, never by id)."""
        return _mac(self.keys.expert_token_key(), f"user-token:{int(user_id)}")[:TOKEN_CHARS]

    def pseudonym(self, scope: str, expert_id: int | str) -> str:
        """The expert's name in the audit entries of one draw (`scope` is the draw id)."""
        key = self.keys.expert_token_key()
        return "x" + _mac(key, f"pseudonym:{scope}:{int(expert_id)}")[:PSEUDONYM_CHARS]
