"""Parsers of submitted values that every feature's forms and JSON bodies share."""

from __future__ import annotations

from typing import Any


def parse_flag(value: Any) -> bool:
    """A checkbox or JSON boolean."""
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes", "on")
    return bool(value)
