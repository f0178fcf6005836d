"""Translated labels shared by every feature's pages: states, kinds, China Standard Time."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask

from expertpool.core.calendar import CST
from expertpool.core.texts import _l

# Project, draw-request, draw and appointment states and project kinds share one vocabulary.
STATE_LABELS = {
    "draft": _l("Draft"),
    "ready": _l("Ready to draw"),
    "drawn": _l("Drawn"),
    "opened": _l("Opened"),
    "awarded": _l("Awarded"),
    "validated": _l("Validated"),
    "committed": _l("Committed"),
    "sealed": _l("Sealed"),
    "abandoned": _l("Abandoned"),
    "failed": _l("Failed"),
    "cancelled": _l("Cancelled"),
    "requested": _l("Requested"),
    "approved": _l("Approved"),
    "refused": _l("Refused"),
    "works": _l("Works"),
    "goods": _l("Goods"),
    "services": _l("Services"),
}


def state_label(value: object) -> str:
    """The translated name of a state or kind (an enum or its value); unknown values as they are."""
    key = str(getattr(value, "value", value))
    label = STATE_LABELS.get(key)
    return str(label) if label is not None else key


def cst_filter(moment: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored moment (an aware or naive UTC datetime, or its ISO text) shown in China Standard
    Time; text that is not a moment is shown as it is."""
    if not moment:
        return ""
    if isinstance(moment, str):
        try:
            when = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        except ValueError:
            return moment
    else:
        when = moment
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(CST).strftime(fmt)


def register_filters(app: Flask) -> None:
    """Install the shared label filters in Jinja (features install their own on their
    blueprints).
    """
    app.jinja_env.filters["state_label"] = state_label
    app.jinja_env.filters["cst"] = cst_filter
