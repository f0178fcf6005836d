"""Draw terminals: registration with a one-time credential, disabling, and recognising a
terminal.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from expertpool.accounts.models import Centre
from expertpool.core import audit
from expertpool.core.db import utcnow
from expertpool.core.errors import Forbidden, NotFound, ValidationFailed
from expertpool.core.texts import _l
from expertpool.projects.models import Terminal

TOKEN_PREFIX = "term_"
HEADER = "X-Terminal-Token"
COOKIE = "ep_terminal"


def token_hash(clear: str) -> str:
    """SHA-256 of a terminal credential (it is 256 random bits, so a plain hash suffices)."""
    return hashlib.sha256(clear.encode("utf-8")).hexdigest()


def terminal_view(t: Terminal) -> dict[str, object]:
    """A terminal as JSON (never its credential)."""
    return {
        "id": t.id,
        "name": t.name,
        "centre": t.centre.region_code,
        "is_active": t.is_active,
        "created_at": t.created_at.isoformat(),
        "last_seen_at": t.last_seen_at.isoformat() if t.last_seen_at else None,
    }


def register_terminal(
    session: Session, *, actor: str, centre_code: str, name: str
) -> tuple[str, Terminal]:
    """Register a terminal of a centre; returns the credential, shown once and never stored.
    Commits.
    """
    fields: dict[str, str] = {}
    centre = session.execute(
        select(Centre).where(Centre.region_code == (centre_code or "").strip())
    ).scalar_one_or_none()
    if centre is None:
        fields["centre"] = str(_l("Unknown centre."))
    clean = (name or "").strip()
    if not clean or len(clean) > 100:
        fields["name"] = str(_l("Required (at most 100 characters)."))
    if fields:
        raise ValidationFailed(fields=fields)
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    terminal = Terminal(centre=centre, name=clean, token_hash=token_hash(clear))
    session.add(terminal)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise ValidationFailed(
            fields={"name": str(_l("This centre already has a terminal with this name."))}
        ) from None
    audit.record(
        session,
        actor=actor,
        action="terminal.register",
        object_type="terminal",
        object_id=terminal.id,
        after={"centre": centre.region_code if centre else None, "name": clean},
    )
    session.commit()
    return clear, terminal


def disable_terminal(session: Session, *, actor: str, terminal_id: int) -> Terminal:
    """Disable a terminal: its credential is refused from now on. Commits."""
    terminal = session.get(Terminal, terminal_id)
    if terminal is None:
        raise NotFound()
    if terminal.is_active:
        terminal.is_active = False
        terminal.disabled_at = utcnow()
        audit.record(
            session,
            actor=actor,
            action="terminal.disable",
            object_type="terminal",
            object_id=terminal.id,
            before={"is_active": True},
            after={"is_active": False},
        )
        session.commit()
    return terminal


def list_terminals(session: Session) -> list[Terminal]:
    """All terminals by centre and name."""
    return list(
        session.execute(
            select(Terminal).join(Centre).order_by(Centre.region_code, Terminal.name)
        ).scalars()
    )


def resolve_terminal(session: Session, clear: str | None) -> Terminal:
    """The registered, active terminal holding this credential; `Forbidden` otherwise (no
    commit).
    """
    if not clear:
        raise Forbidden(
            str(_l("Draws are accepted only from a registered draw terminal.")),
            code="terminal_required",
        )
    terminal = session.execute(
        select(Terminal).where(Terminal.token_hash == token_hash(clear))
    ).scalar_one_or_none()
    if terminal is None:
        raise Forbidden(str(_l("This terminal is not registered.")), code="terminal_unregistered")
    if not terminal.is_active:
        raise Forbidden(str(_l("This terminal has been disabled.")), code="terminal_disabled")
    return terminal


def check_terminal_for(terminal: Terminal, centre_id: int | None) -> None:
    """Staff draw only at a terminal of their own centre."""
    if centre_id is not None and terminal.centre_id != centre_id:
        raise Forbidden(
            str(_l("This terminal belongs to another centre.")), code="terminal_other_centre"
        )
