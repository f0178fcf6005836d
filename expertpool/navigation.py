"""The menu: which entries each role sees."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from expertpool.models import Role

R = Role


@dataclass(frozen=True)
class MenuItem:
    """One menu entry shown to some roles."""

    endpoint: str
    label: object  # a lazy string
    roles: frozenset[Role]
    key: str


MENU: list[MenuItem] = [
    MenuItem("main.dashboard", _l("Home"), frozenset(Role), "home"),
    MenuItem("rooms.index", _l("Evaluation sessions"), frozenset(Role), "rooms"),
    MenuItem("reference.specialties", _l("Specialties"), frozenset(Role), "specialties"),
    MenuItem("reference.centres", _l("Trading centres"), frozenset({R.CENTRE_STAFF, R.SUPERVISOR, R.ADMIN}), "centres"),
    MenuItem("admin.users", _l("Users"), frozenset({R.ADMIN}), "users"),
    MenuItem("admin.audit", _l("Audit trail"), frozenset({R.SUPERVISOR, R.ADMIN}), "audit"),
]


def menu_for(role: Role | None) -> list[MenuItem]:
    """The entries a role sees, in order (nothing for anonymous visitors)."""
    if role is None:
        return []
    return [item for item in MENU if role in item.roles]
