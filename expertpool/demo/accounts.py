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
    DemoLogin("security", "安全管理员", UserRole.SECURITY_ADMIN, None),
    DemoLogin("auditor", "审计管理员", UserRole.AUDIT_ADMIN, None),
    DemoLogin("reviewer", "省发改委审核员", UserRole.REVIEWER, None),
    DemoLogin("reviewer.gz", "广州市住建局审核员", UserRole.REVIEWER, None),
    DemoLogin("staff.gz", "广州中心工作人员", UserRole.CENTRE_STAFF, "440100"),
    DemoLogin("staff.sz", "深圳中心工作人员", UserRole.CENTRE_STAFF, "440300"),
    DemoLogin("supervisor", "广州市发改局监督员", UserRole.SUPERVISOR, None),
    DemoLogin("supervisor.sz", "深圳市住建局监督员", UserRole.SUPERVISOR, None),
    DemoLogin("tenderer", "招标人联系人", UserRole.ORG_CONTACT, None),
    DemoLogin("agency", "招标代理联系人", UserRole.ORG_CONTACT, None),
    DemoLogin("expert", "演示专家", UserRole.EXPERT, None),
)

DEMO_DEPARTMENTS = {
    "reviewer": "440000-coordination",
    "reviewer.gz": "440100-housing",
    "supervisor": "440100-coordination",
    "supervisor.sz": "440300-housing",
}
"""Which department each demo reviewer and supervisor belongs to."""


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
