"""The demo's outbound events: the Guangzhou centre's trading system subscribed before the draws,
so the demo's draws, openings, sign-off and outcomes queue signed events for it.

The address is on the loopback interface (nothing listens there in the demo), so the page
`/events/subscriptions` shows deliveries being retried; nothing leaves the machine.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.accounts.models import User
from expertpool.core.db import utcnow
from expertpool.demo.context import DemoContext
from expertpool.events import events
from expertpool.events.models import EventSubscription

DEMO_URL = "http://127.0.0.1:9/hooks/expertpool"


def subscribe_step(session: Session, ctx: DemoContext, seed: int, options: dict[str, int]) -> str:
    """Subscribe the Guangzhou trading system to every scope (once)."""
    staff = session.execute(select(User).where(User.username == "staff.gz")).scalar_one()
    existing = session.execute(
        select(EventSubscription.scope).where(EventSubscription.centre_id == staff.centre_id)
    ).scalars()
    have = set(existing)
    for scope in events.SUBSCRIBABLE_SCOPES:
        if scope in have:
            continue
        events.subscribe(
            session,
            user=staff,
            token_scopes=None,
            client="demo-trading-system",
            scope=scope,
            url=DEMO_URL,
            cipher=ctx.notify.cipher,
            allow_http=True,
            now=utcnow(),
        )
    return f"{len(events.SUBSCRIBABLE_SCOPES)} subscriptions of staff.gz"
