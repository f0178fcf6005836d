"""User-facing messages of services that also run outside requests (CLI, workers, threads, tests)."""

from __future__ import annotations

from typing import Any

from flask import has_request_context
from flask_babel import gettext

LOCALES = ("zh", "en")
"""The interface languages, the default first."""


def _l(text: str, **values: object) -> str:
    """The message translated for the current request, or in English outside a request."""
    if has_request_context():
        return str(gettext(text, **values))
    return text % values if values else text


def msg(message: Any) -> str:
    """A lazy translated message as text: translated in a request, the English msgid elsewhere."""
    if has_request_context() or not hasattr(message, "_args"):
        return str(message)
    msgid, kwargs = message._args[0], message._kwargs
    return str(msgid % kwargs) if kwargs else str(msgid)
