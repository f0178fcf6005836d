"""Deterministic demo data: one account per role (later issues add experts, projects, draws)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.accounts import users
from expertpool.accounts.models import User, UserRole
from expertpool.demo import experts as expert_demo

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

# Later features register extra demo steps here: (name, step(session, seed, options)).
EXTRA_STEPS: list[tuple[str, Callable[[Session, int, dict[str, int]], str]]] = [
    ("experts", expert_demo.demo_step),
]


def ensure_accounts(session: Session) -> list[DemoLogin]:
    """Create the demo accounts that do not exist yet."""
    existing = set(session.execute(select(User.username)).scalars())
    for login in DEMO_LOGINS:
        if login.username not in existing:
            users.create_user(session, actor="demo", username=login.username, display_name=login.display_name,
                              password=DEMO_PASSWORD, role=login.role.value, centre_code=login.centre)
    return list(DEMO_LOGINS)


def run(session: Session, *, seed: int = 2016, options: dict[str, int] | None = None) -> list[str]:
    """Create the demo data; running it twice changes nothing. Returns one line per step."""
    lines = [f"accounts: {len(ensure_accounts(session))}"]
    for name, step in EXTRA_STEPS:
        lines.append(f"{name}: {step(session, seed, options or {})}")
    return lines


def _register_project_step() -> None:
    from expertpool.demo import projects as demo_projects

    EXTRA_STEPS.append(("projects", demo_projects.run_step))
    from expertpool.demo import draws as demo_draws

    EXTRA_STEPS.append(("draws", demo_draws.run_step))


_register_project_step()
