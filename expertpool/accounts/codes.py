"""One-time codes that let an expert set a password (first activation or a forgotten one).

Only a keyed hash of each code is stored (HMAC-SHA256 under a key derived from the blind-index
key file, bound to the account), so a reader of the database cannot try the million six-digit codes
offline. A code is live until it is used, expires, runs out of attempts or is superseded by a
newer one. Nothing here commits: the callers own the transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from expertpool.accounts.models import AccountCode, AccountCodePurpose, User

CODE_DIGITS = 6


def code_key(blind_index_key: bytes) -> bytes:
    """The HMAC key of account codes, derived from the blind-index key file."""
    return hmac.new(blind_index_key, b"expertpool account code v1", hashlib.sha256).digest()


def _hash(key: bytes, user_id: int, code: str) -> str:
    # Bound to the account: a hash copied onto another account's row proves nothing there.
    return hmac.new(key, f"{user_id}:{code}".encode(), hashlib.sha256).hexdigest()


def issue(
    session: Session,
    *,
    key: bytes,
    user: User,
    purpose: AccountCodePurpose,
    ttl: timedelta,
    now: datetime,
) -> tuple[AccountCode, str]:
    """A new code for the user with its row (the clear code is returned once, never stored);
    earlier live codes of the user end."""
    for row in _live(session, user.id, now):
        row.expires_at = now
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    row = AccountCode(
        user_id=user.id,
        purpose=purpose.value,
        created_at=now,
        expires_at=now + ttl,
        code_hash=_hash(key, user.id, code),
    )
    session.add(row)
    session.flush()
    return row, code


def issued_since(session: Session, user_id: int, since: datetime) -> int:
    """How many codes the user was sent since `since` (the per-account limit)."""
    return int(
        session.execute(
            select(func.count())
            .select_from(AccountCode)
            .where(AccountCode.user_id == user_id, AccountCode.created_at >= since)
        ).scalar_one()
    )


def _live(session: Session, user_id: int, now: datetime) -> list[AccountCode]:
    return list(
        session.execute(
            select(AccountCode)
            .where(
                AccountCode.user_id == user_id,
                AccountCode.used_at.is_(None),
                AccountCode.expires_at > now,
            )
            .order_by(AccountCode.id.desc())
        ).scalars()
    )


def redeem(
    session: Session, *, key: bytes, user: User, code: str, max_attempts: int, now: datetime
) -> AccountCode | None:
    """The user's live code if `code` matches it (it is then used up); else None, and a wrong
    entry counts as one attempt of the live code (it is void after `max_attempts`)."""
    live = [row for row in _live(session, user.id, now) if row.attempts < max_attempts]
    if not live:
        return None
    row = live[0]
    given = code.strip()
    if given.isdigit() and hmac.compare_digest(row.code_hash, _hash(key, user.id, given)):
        row.used_at = now
        session.flush()
        return row
    row.attempts += 1
    session.flush()
    return None
