"""Translated names of user roles."""

from __future__ import annotations

from expertpool.accounts.models import UserRole
from expertpool.core.texts import _l

ROLE_LABELS = {
    UserRole.EXPERT: _l("Expert"),
    UserRole.REVIEWER: _l("Reviewer"),
    UserRole.CENTRE_STAFF: _l("Centre staff"),
    UserRole.SUPERVISOR: _l("Supervisor"),
    UserRole.ADMIN: _l("System administrator"),
    UserRole.SECURITY_ADMIN: _l("Security administrator"),
    UserRole.AUDIT_ADMIN: _l("Audit administrator"),
    UserRole.ORG_CONTACT: _l("Tenderer or agency contact"),
    UserRole.REPRESENTATIVE: _l("Tenderer's representative"),
}


def role_label(value: str) -> str:
    """The translated name of a role."""
    try:
        return str(ROLE_LABELS[UserRole(value)])
    except ValueError:
        return value
