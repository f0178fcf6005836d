"""One-time check-in codes: only a salted hash and an expiry are stored; checks are constant-time.

A code is six random digits from :mod:`secrets`. Its hash is HMAC-SHA256 keyed by a random
per-code salt; that is enough because a code lives minutes and allows few attempts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from evaluation_room.errors import CheckInCodeExpired, CheckInFailed, TooManyAttempts

CODE_DIGITS = 6


@dataclass
class CheckInCode:
    """The stored side of a one-time code: hash, salt, expiry, wrong attempts, whether used."""

    code_hash: str
    salt: str
    issued_at: datetime
    expires_at: datetime
    attempts: int = 0
    is_used: bool = False


def new_code() -> str:
    """Return a fresh random code of :data:`CODE_DIGITS` digits."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def hash_code(code: str, salt: str) -> str:
    """Return the hex HMAC-SHA256 of ``code`` keyed by ``salt``."""
    return hmac.new(bytes.fromhex(salt), code.strip().encode(), hashlib.sha256).hexdigest()


def issue_code(now: datetime, ttl: timedelta) -> tuple[str, CheckInCode]:
    """Create a code; return the plaintext (to send, never to store) and its stored record."""
    code = new_code()
    salt = secrets.token_hex(16)
    return code, CheckInCode(hash_code(code, salt), salt, now, now + ttl)


def verify_code(record: CheckInCode | None, code: str, now: datetime, max_attempts: int) -> None:
    """Check ``code`` against ``record`` and mark it used; raise a typed error on failure.

    A wrong code counts as an attempt; after ``max_attempts`` wrong codes the record is
    locked until a new code is issued.
    """
    if record is None or record.is_used or now >= record.expires_at:
        raise CheckInCodeExpired("no valid check-in code: ask for a new one")
    if record.attempts >= max_attempts:
        raise TooManyAttempts("too many wrong codes: ask for a new one")
    if not isinstance(code, str) or not hmac.compare_digest(
        hash_code(code, record.salt), record.code_hash
    ):
        record.attempts += 1
        left = max_attempts - record.attempts
        raise CheckInFailed("wrong check-in code", attempts_left=left)
    record.is_used = True
