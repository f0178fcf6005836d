"""Translatable messages: one lazy text for pages, services, commands and workers alike.

`_l("...")` is a message translated when it is shown: in a request, into the visitor's language;
anywhere else (commands, the dispatcher thread, tests without a request), as the English msgid
with its values. `translated("...")` is the same message rendered at once, for code that needs
a plain string now. Both are extraction keywords of `tools/i18n.py`.
"""

from __future__ import annotations

from flask import has_request_context
from flask_babel import gettext
from flask_babel.speaklater import LazyString

LOCALES = ("zh", "en")
"""The interface languages, the default first."""


def translated(msgid: str, **values: object) -> str:
    """The message in the current request's language, or in English outside a request."""
    if has_request_context():
        return str(gettext(msgid, **values))
    return msgid % values if values else msgid


class LazyText(LazyString):  # type: ignore[misc]
    """A message translated each time it is shown (see the module docstring)."""

    def __init__(self, msgid: str, **values: object) -> None:
        super().__init__(translated, msgid, **values)
        self.msgid = msgid
        self.values = values


def _l(msgid: str, **values: object) -> LazyText:
    """A lazily translated message (an extraction keyword)."""
    return LazyText(msgid, **values)
