"""Translated labels for enumerations shown in pages."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from expertpool.accounts.models import UserRole

ROLE_LABELS = {
    UserRole.EXPERT: _l("Expert"),
    UserRole.REVIEWER: _l("Reviewer"),
    UserRole.CENTRE_STAFF: _l("Centre staff"),
    UserRole.SUPERVISOR: _l("Supervisor"),
    UserRole.ADMIN: _l("Administrator"),
}


def role_label(value: str) -> str:
    """The translated name of a role."""
    try:
        return str(ROLE_LABELS[UserRole(value)])
    except ValueError:
        return value


# Project, draw-request, draw and appointment states and project kinds share one vocabulary.
STATE_LABELS = {
    "draft": _l("Draft"), "ready": _l("Ready to draw"), "drawn": _l("Drawn"), "opened": _l("Opened"),
    "awarded": _l("Awarded"), "validated": _l("Validated"), "committed": _l("Committed"), "sealed": _l("Sealed"),
    "abandoned": _l("Abandoned"), "failed": _l("Failed"), "requested": _l("Requested"),
    "approved": _l("Approved"), "refused": _l("Refused"),
    "works": _l("Works"), "goods": _l("Goods"), "services": _l("Services"),
}


def state_label(value: object) -> str:
    """The translated name of a state or kind (an enum or its value); unknown values as they are."""
    key = str(getattr(value, "value", value))
    label = STATE_LABELS.get(key)
    return str(label) if label is not None else key


def register_filters(app: Flask) -> None:
    """Install the label filters in Jinja."""
    app.jinja_env.filters["role_label"] = role_label
    app.jinja_env.filters["state_label"] = state_label
    register_expert_filters(app)


EXPERT_STATUS_LABELS = {
    "draft": _l("Draft"), "submitted": _l("Submitted"), "under_review": _l("Under review"),
    "returned": _l("Returned for changes"), "active": _l("Active"), "rejected": _l("Rejected"),
    "on_leave": _l("On leave"), "suspended": _l("Suspended"), "retired": _l("Retired"), "removed": _l("Removed"),
}
TITLE_LEVEL_LABELS = {"full_senior": _l("Full senior"), "deputy_senior": _l("Deputy senior"),
                      "intermediate": _l("Intermediate"), "junior": _l("Junior")}
AVOIDANCE_LABELS = {"declared": _l("Own tie"), "relative": _l("Relative's organisation")}
DECISION_LABELS = {"approve": _l("Approved"), "return": _l("Returned for changes"), "reject": _l("Rejected")}


def _label(table: dict[str, object]) -> object:
    def label(value: str) -> str:
        return str(table.get(value, value))

    return label


def register_expert_filters(app: Flask) -> None:
    """Install the label filters of the expert pages."""
    app.jinja_env.filters["expert_status_label"] = _label(EXPERT_STATUS_LABELS)
    app.jinja_env.filters["title_level_label"] = _label(TITLE_LEVEL_LABELS)
    app.jinja_env.filters["avoidance_label"] = _label(AVOIDANCE_LABELS)
    app.jinja_env.filters["decision_label"] = _label(DECISION_LABELS)
