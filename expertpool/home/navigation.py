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
    MenuItem("experts.my_relatives", _l("My relatives"), frozenset({R.EXPERT}), "my_relatives"),
    MenuItem("training.mine", _l("My training"), frozenset({R.EXPERT}), "my_training"),
    MenuItem(
        "training.courses",
        _l("Continuing education"),
        frozenset({R.REVIEWER, R.ADMIN}),
        "training_courses",
    ),
    MenuItem("experts.review_queue", _l("Review queue"), frozenset({R.REVIEWER}), "review_queue"),
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
    # Published figures: closed projects only, small cells hidden (docs/statistics.md).
    MenuItem(
        "statistics.index",
        _l("Statistics"),
        frozenset({R.CENTRE_STAFF, R.SUPERVISOR, R.ADMIN}),
        "statistics",
    ),
    MenuItem("terminals.terminal_list", _l("Terminals"), frozenset({R.ADMIN}), "terminals"),
    MenuItem("terminals.venue_list", _l("Venues"), frozenset({R.ADMIN}), "venues"),
    MenuItem("admin.users", _l("Users"), frozenset({R.ADMIN}), "users"),
    # Invitation progress is per draw, on the draw's page, for the owning centre and the
    # witnessing supervisor only; the outbox page shows administrators numbers, never people
    # (the console notifier's simulation page is linked from there).
    MenuItem("outbox.index", _l("Outbox"), frozenset({R.ADMIN}), "outbox"),
    MenuItem(
        "organisations.my_projects", _l("Our projects"), frozenset({R.ORG_CONTACT}), "org_projects"
    ),
    MenuItem(
        "recommendations.mine",
        _l("Recommend experts"),
        frozenset({R.ORG_CONTACT}),
        "recommendations",
    ),
    MenuItem(
        "departments.index",
        _l("Departments"),
        frozenset({R.ADMIN, R.REVIEWER, R.SUPERVISOR, R.SECURITY_ADMIN}),
        "departments",
    ),
    MenuItem("organisations.register", _l("Organisations"), frozenset({R.ADMIN}), "organisations"),
    MenuItem("admin.role_grants", _l("Roles"), frozenset({R.SECURITY_ADMIN}), "roles"),
    MenuItem("admin.key_status", _l("Key management"), frozenset({R.SECURITY_ADMIN}), "keys"),
    MenuItem("admin.audit", _l("Audit trail"), frozenset({R.AUDIT_ADMIN}), "audit"),
    # The described JSON API, for whoever connects a trading system or a tool.
    MenuItem("apidocs.docs", _l("API reference"), frozenset({R.CENTRE_STAFF, R.ADMIN}), "api"),
    # Statements exist only after a project's close (docs/fees.md).
    MenuItem("fees.mine", _l("My fees"), frozenset({R.EXPERT}), "my_fees"),
    # The record: ratings after each close, credit, objections, the archive (docs/record.md).
    MenuItem("record.mine", _l("My record"), frozenset({R.EXPERT}), "my_record"),
    MenuItem(
        "record.session_list",
        _l("Assessments"),
        frozenset({R.CENTRE_STAFF, R.SUPERVISOR, R.ORG_CONTACT}),
        "assessments",
    ),
    MenuItem(
        "record.reviews",
        _l("Objections and sanctions"),
        frozenset({R.REVIEWER, R.SUPERVISOR}),
        "record_reviews",
    ),
    MenuItem(
        "fees.statement_list",
        _l("Fees"),
        frozenset({R.CENTRE_STAFF, R.SUPERVISOR, R.ORG_CONTACT}),
        "fees",
    ),
]

SINGLE_ADMIN_EXTRA = frozenset({R.SECURITY_ADMIN, R.AUDIT_ADMIN})


def menu_for(role: UserRole | None, *, single_admin: bool = False) -> list[MenuItem]:
    """The entries a role sees, in order (nothing for anonymous visitors). In single-person mode
    the system administrator also sees the security and audit administrators' entries."""
    if role is None:
        return []
    return [
        item
        for item in MENU
        if role in item.roles
        or (single_admin and role is R.ADMIN and item.roles & SINGLE_ADMIN_EXTRA)
    ]
