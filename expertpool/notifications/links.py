"""The expert's one-time answer link: found by the hash of its token, single use, until the
deadline.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

import notify
from expertpool.core.errors import NotFound
from expertpool.notifications.context import (
    NotifyContext,
)
from expertpool.notifications.invitations import (
    move,
)
from expertpool.notifications.models import (
    InvitationRecord,
    InvitationState,
)
from expertpool.notifications.outbox import (
    hash_token,
    invitation_content,
)

log = logging.getLogger(__name__)


def invitation_by_token(
    session: Session, token: str, *, now: datetime, for_update: bool = False
) -> InvitationRecord:
    """The invitation a one-time link names; NotFound when unknown, used or expired."""
    stmt = select(InvitationRecord).where(InvitationRecord.link_token_hash == hash_token(token))
    if for_update:
        stmt = stmt.with_for_update()
    invitation = session.execute(stmt).scalar_one_or_none()
    if (
        invitation is None
        or invitation.link_used_at is not None
        or invitation.deadline_at <= now
        or not invitation.state.is_open
    ):
        raise NotFound(code="invitation_link_invalid")
    return invitation


def answer_by_link(
    session: Session, token: str, *, is_accepted: bool, now: datetime, ctx: NotifyContext
) -> InvitationRecord:
    """Accept or decline through the one-time link, and commit; the link then stops working."""
    try:
        invitation = invitation_by_token(session, token, now=now, for_update=True)
        invitation.link_used_at = now
        target = InvitationState.ACCEPTED if is_accepted else InvitationState.DECLINED
        move(session, invitation, target, now=now, ctx=ctx, via="link")
        session.commit()
    except Exception:
        session.rollback()
        raise
    return invitation


def link_summary(ctx: NotifyContext, invitation: InvitationRecord) -> notify.Invitation:
    """What the link page shows the expert: name, time, venue, deadline."""
    return invitation_content(ctx, invitation)
