"""Every expert has a login account.

Applicants create theirs when they register. Experts who arrive otherwise (imported records, the
demo's pool) get one without a password when they are approved, or in bulk
(`expertpool experts accounts`, the demo step): the username is derived from the record (`e` and
the id on five digits, e.g. `e00042`), and the password hash is the `NO_PASSWORD` marker, so the
account cannot log in until its owner sets a password with a one-time SMS code sent to the mobile
on record (the notifications feature's account pages). Bulk creation hashes nothing, so thousands
of accounts take well under a second.
"""

from __future__ import annotations

import re
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from expertpool.accounts.models import User, UserRole
from expertpool.accounts.users import NO_PASSWORD
from expertpool.core import audit
from expertpool.core.db import utcnow
from expertpool.experts.models import Expert

RESERVED_USERNAME = re.compile(r"^e\d{5,}(\.\d+)?$")
"""Usernames of the derived form, which registration refuses so that they stay free."""
BATCH = 2000


def username_for(expert_id: int) -> str:
    """The derived username of an expert's account."""
    return f"e{expert_id:05d}"


def _free(base: str, taken: set[str]) -> str:
    """`base`, or `base.1`, `base.2`... when an older account already holds it."""
    name, n = base, 0
    while name in taken:
        n += 1
        name = f"{base}.{n}"
    return name


def ensure_account(session: Session, expert: Expert, *, actor: str) -> User:
    """The expert's account, created without a password when there is none (in the caller's
    transaction; does not commit)."""
    if expert.user_id is not None:
        user = session.get(User, expert.user_id)
        if user is not None:
            return user
    base = username_for(expert.id)
    taken = set(
        session.execute(select(User.username).where(User.username.like(base + "%"))).scalars()
    )
    user = User(
        username=_free(base, taken),
        display_name=(expert.name or base)[:100],
        password_hash=NO_PASSWORD,
        role=UserRole.EXPERT,
    )
    session.add(user)
    session.flush()
    expert.user_id = user.id
    audit.record(
        session,
        actor=actor,
        action="user.create",
        object_type="user",
        object_id=user.id,
        after={"username": user.username, "role": "expert", "expert": expert.id, "password": None},
    )
    return user


def create_missing_accounts(session: Session, *, actor: str) -> int:
    """Give every expert without an account one without a password, in bulk; commits. Returns how
    many were created (none on a second run)."""
    missing = session.execute(
        select(Expert.id, Expert.name).where(Expert.user_id.is_(None)).order_by(Expert.id)
    ).all()
    if not missing:
        return 0
    taken = set(session.execute(select(User.username).where(User.username.like("e%"))).scalars())
    now = utcnow()
    users: list[dict[str, Any]] = []
    by_name: dict[str, int] = {}
    for expert_id, name in missing:
        username = _free(username_for(expert_id), taken)
        taken.add(username)
        by_name[username] = expert_id
        users.append(
            {
                "username": username,
                "display_name": (name or username)[:100],
                "password_hash": NO_PASSWORD,
                "role": UserRole.EXPERT,
                "centre_id": None,
                "is_active": True,
                "locale": None,
                "created_at": now,
                "password_changed_at": now,
            }
        )
    table = cast(Table, Expert.__table__)
    link = (
        update(table)
        .where(table.c.id == bindparam("expert_id"), table.c.user_id.is_(None))
        .values(user_id=bindparam("new_user_id"), version=table.c.version + 1)
    )
    for k in range(0, len(users), BATCH):
        chunk = users[k : k + BATCH]
        session.execute(insert(cast(Table, User.__table__)), chunk)
        names = [u["username"] for u in chunk]
        ids = session.execute(select(User.username, User.id).where(User.username.in_(names)))
        session.execute(
            link, [{"expert_id": by_name[name], "new_user_id": uid} for name, uid in ids]
        )
    audit.record(
        session,
        actor=actor,
        action="expert.accounts_created",
        object_type="expert",
        object_id=f"{missing[0][0]}..{missing[-1][0]}",
        after={"count": len(users), "password": None},
    )
    session.commit()
    return len(users)
