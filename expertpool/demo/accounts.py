"""Demo accounts: one per role, all with the same published demo password."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.accounts import users
from expertpool.accounts.models import User, UserRole

DEMO_PASSWORD = "demo-pass-2026"


@dataclass(frozen=True)
class DemoLogin:
    """A fixed demo account."""

    username: str
    display_name: str
    role: UserRole
    centre: str | None


DEMO_LOGINS = (
    DemoLogin("admin", "系统管理员", UserRole.ADMIN, None),
    DemoLogin("reviewer", "省发改委审核员", UserRole.REVIEWER, None),
    DemoLogin("staff.gz", "广州中心工作人员", UserRole.CENTRE_STAFF, "440100"),
    DemoLogin("staff.sz", "深圳中心工作人员", UserRole.CENTRE_STAFF, "440300"),
    DemoLogin("supervisor", "监督员", UserRole.SUPERVISOR, None),
    DemoLogin("expert", "演示专家", UserRole.EXPERT, None),
)


def ensure_accounts(session: Session) -> list[DemoLogin]:
    """Create the demo accounts that do not exist yet."""
    existing = set(session.execute(select(User.username)).scalars())
    for login in DEMO_LOGINS:
        if login.username not in existing:
            users.create_user(
                session,
                actor="demo",
                username=login.username,
                display_name=login.display_name,
                password=DEMO_PASSWORD,
                role=login.role.value,
                centre_code=login.centre,
            )
    return list(DEMO_LOGINS)
