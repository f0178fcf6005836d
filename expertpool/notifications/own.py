"""What an expert sees of their own invitations: found by their keyed token, never anyone else's.

Invitations hold the invited expert's token (`core/tokens.py`), not their id; the expert's own
token is computed from their record, so the query can only ever return that expert's rows.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.core.keys import KeyStore
from expertpool.core.tokens import ExpertTokens
from expertpool.notifications.models import InvitationRecord

LIMIT = 100


def invitations_of(session: Session, keys: KeyStore, expert_id: int) -> list[InvitationRecord]:
    """The expert's own invitations, newest session first (at most `LIMIT`)."""
    token = ExpertTokens(keys).token(expert_id)
    return list(
        session.execute(
            select(InvitationRecord)
            .where(InvitationRecord.expert_token == token)
            .order_by(InvitationRecord.starts_at.desc(), InvitationRecord.id.desc())
            .limit(LIMIT)
        ).scalars()
    )
