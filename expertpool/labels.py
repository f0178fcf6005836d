"""Translated labels for enumerations shown in pages."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from expertpool.models import Role

ROLE_LABELS = {
    Role.EXPERT: _l("Expert"),
    Role.REVIEWER: _l("Reviewer"),
    Role.CENTRE_STAFF: _l("Centre staff"),
    Role.SUPERVISOR: _l("Supervisor"),
    Role.ADMIN: _l("Administrator"),
}


def role_label(value: str) -> str:
    """The translated name of a role."""
    try:
        return str(ROLE_LABELS[Role(value)])
    except ValueError:
        return value


def register_filters(app: Flask) -> None:
    """Install the label filters in Jinja."""
    app.jinja_env.filters["role_label"] = role_label
