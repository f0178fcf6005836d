"""Parsers of submitted values that every feature's forms and JSON bodies share."""

from __future__ import annotations

from typing import Any

from expertpool.core.errors import ValidationFailed
from expertpool.core.texts import translated


def parse_flag(value: Any) -> bool:
    """A checkbox or JSON boolean."""
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes", "on")
    return bool(value)


MAX_ID = 2**31 - 1
"""The largest id a row can have (the databases' INTEGER)."""


def parse_id(value: Any, field: str) -> int:
    """A row id sent in a form field; a field-level error unless a whole number from 1 to
    `MAX_ID`."""
    text = str(value if value is not None else "").strip()
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_ID:
        raise ValidationFailed(fields={field: translated("Choose an existing entry.")})
    return int(text)
