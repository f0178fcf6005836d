"""Deterministic demo data, step by step: accounts, experts, projects, draws, a room.

Every step is safe to run twice. The steps get what they need (settings, keys, the
notification context) from the `DemoContext` the command builds; nothing is looked up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy.orm import Session

from expertpool.demo import actors as demo_actors
from expertpool.demo import draws as demo_draws
from expertpool.demo import entry as demo_entry
from expertpool.demo import events as demo_events
from expertpool.demo import experts as demo_experts
from expertpool.demo import fees as demo_fees
from expertpool.demo import history as demo_history
from expertpool.demo import methods as demo_methods
from expertpool.demo import pool as demo_pool
from expertpool.demo import projects as demo_projects
from expertpool.demo import record as demo_record
from expertpool.demo import regimes as demo_regimes
from expertpool.demo import remote as demo_remote
from expertpool.demo import rooms as demo_rooms
from expertpool.demo.accounts import DEMO_LOGINS, DEMO_PASSWORD, ensure_accounts
from expertpool.demo.context import DemoContext

Step = Callable[[Session, DemoContext, int, dict[str, int]], str]

STEPS: tuple[tuple[str, Step], ...] = (
    ("departments and organisations", demo_actors.departments_step),
    ("experts", demo_experts.demo_step),
    ("pool over time", demo_pool.run_step),
    ("entry to the pool", demo_entry.demo_step),
    ("projects", demo_projects.run_step),
    ("scoring-method templates", demo_methods.templates_step),
    ("representatives", demo_actors.representatives_step),
    ("event subscriptions", demo_events.subscribe_step),
    ("draws", demo_draws.run_step),
    ("sealed draw", demo_draws.sealed_step),
    ("remote draws (secondary venues picked)", demo_remote.run_step),
    ("evaluation session", demo_rooms.demo_session),
    ("regimes and outcomes", demo_regimes.run_step),
    ("fees", demo_fees.demo_step),
    ("record", demo_record.demo_step),
    ("a year of closed draws", demo_history.run_step),
)

__all__ = ["DEMO_LOGINS", "DEMO_PASSWORD", "STEPS", "run"]


def run(
    session: Session,
    ctx: DemoContext,
    *,
    seed: int = 2016,
    options: dict[str, int] | None = None,
    steps: Iterable[tuple[str, Step]] = STEPS,
) -> list[str]:
    """Create the demo data; running it twice changes nothing. Returns one line per step.

    `steps` is `STEPS` or an iterator over it (the command's progress bar)."""
    lines = [f"accounts: {len(ensure_accounts(session))}"]
    for name, step in steps:
        lines.append(f"{name}: {step(session, ctx, seed, options or {})}")
    return lines
