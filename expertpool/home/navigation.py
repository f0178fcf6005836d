"""The menu: which entries each role sees."""

from __future__ import annotations

from dataclasses import dataclass

from expertpool.accounts.models import UserRole
from expertpool.core.texts import _l

R = UserRole


@dataclass(frozen=True)
class MenuItem:
    """One menu entry shown to some roles."""

    endpoint: str
    label: object  # a lazy string
    roles: frozenset[UserRole]
    key: str


MENU: list[MenuItem] = [
    MenuItem("main.dashboard", _l("Home"), frozenset(UserRole), "home"),
    MenuItem("rooms.index", _l("Evaluation sessions"), frozenset(UserRole), "rooms"),
    MenuItem("reference.specialties", _l("Specialties"), frozenset(UserRole), "specialties"),
    MenuItem(
        "reference.centres",
        _l("Trading centres"),
        frozenset({R.CENTRE_STAFF, R.SUPERVISOR, R.ADMIN}),
        "centres",
    ),
    MenuItem("experts.mine", _l("My application"), frozenset({R.EXPERT}), "my_application"),
    MenuItem("experts.my_leave", _l("My leave"), frozenset({R.EXPERT}), "my_leave"),
    MenuItem(
        "experts.review_queue", _l("Review queue"), frozenset({R.REVIEWER, R.ADMIN}), "review_queue"
    ),
    MenuItem(
        "experts.search",
        _l("Expert search"),
        frozenset({R.REVIEWER, R.CENTRE_STAFF, R.SUPERVISOR, R.ADMIN}),
        "expert_search",
    ),
    MenuItem(
        "projects.project_list",
        _l("Projects"),
        frozenset({R.CENTRE_STAFF, R.SUPERVISOR, R.ADMIN}),
        "projects",
    ),
    MenuItem(
        "projects.terminal_enrol", _l("Draw terminal"), frozenset({R.CENTRE_STAFF}), "terminal"
    ),
    MenuItem("draws.draw_list", _l("Draws"), frozenset({R.CENTRE_STAFF, R.SUPERVISOR}), "draws"),
    MenuItem("terminals.terminal_list", _l("Terminals"), frozenset({R.ADMIN}), "terminals"),
    MenuItem("terminals.venue_list", _l("Venues"), frozenset({R.ADMIN}), "venues"),
    MenuItem("admin.users", _l("Users"), frozenset({R.ADMIN}), "users"),
    # Invitation progress is per draw, on the draw's page, for the owning centre and the
    # witnessing supervisor only; the outbox page shows administrators numbers, never people
    # (the console notifier's simulation page is linked from there).
    MenuItem("outbox.index", _l("Outbox"), frozenset({R.ADMIN}), "outbox"),
    MenuItem("admin.audit", _l("Audit trail"), frozenset({R.SUPERVISOR, R.ADMIN}), "audit"),
    # The described JSON API, for whoever connects a trading system or a tool.
    MenuItem("apidocs.docs", _l("API reference"), frozenset({R.CENTRE_STAFF, R.ADMIN}), "api"),
]


def menu_for(role: UserRole | None) -> list[MenuItem]:
    """The entries a role sees, in order (nothing for anonymous visitors)."""
    if role is None:
        return []
    return [item for item in MENU if role in item.roles]
