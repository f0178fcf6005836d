"""Messages of services that also run outside a request (draw workers, threads, the CLI)."""

from __future__ import annotations

from typing import Any

from flask import has_request_context


def msg(message: Any) -> str:
    """A lazy translated message as text: translated in a request, the English msgid elsewhere."""
    if has_request_context() or not hasattr(message, "_args"):
        return str(message)
    msgid, kwargs = message._args[0], message._kwargs
    return str(msgid % kwargs) if kwargs else str(msgid)
