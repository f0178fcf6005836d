"""User-facing messages of services that also run outside requests (CLI, maintenance, tests)."""

from __future__ import annotations

from flask import has_request_context
from flask_babel import gettext


def _l(text: str, **values: object) -> str:
    """The message translated for the current request, or in English outside a request."""
    if has_request_context():
        return str(gettext(text, **values))
    return text % values if values else text
