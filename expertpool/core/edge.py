"""Input checked at the edge: every page, API call and room event passes one check before any
view or handler sees it.

The check refuses what no field of this application accepts and what the databases cannot
hold, each with a translated message naming the field (422; the room answers an error
acknowledgement):

- text with NUL or another control character (tab, line feed and carriage return allowed), or
  with an unpaired surrogate (PostgreSQL refuses both; neither is ever typed by a person);
- text longer than `MAX_TEXT` characters (fields keep their own, tighter limits);
- JSON numbers that are not finite (`NaN`, `Infinity`, `1e999`) or beyond ±2^53, the range every
  JSON reader holds exactly;
- the paging parameters `page` and `per_page` unless whole numbers from 1 to `MAX_PAGE` (an
  offset beyond PostgreSQL's BIGINT was a 500).

Ids in URLs are bounded by the route converter (`expertpool.core.api.BoundedIntegerConverter`);
money goes through `Decimal` parsers with stated ranges in its feature. Everything else about a
field's meaning stays with the feature that owns it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Flask, request

from expertpool.core.errors import ValidationFailed
from expertpool.core.texts import translated

MAX_TEXT = 10_000
"""Characters in any one submitted value (the longest field, a written reason, allows 2,000)."""
MAX_JSON_INTEGER = 2**53 - 1
"""The largest JSON number accepted (in absolute value): exact in every JSON reader."""
MAX_PAGE = 100_000
"""The largest `page` or `per_page` a query may ask for."""
PAGE_ARGS = ("page", "per_page")
MAX_DEPTH = 32
"""Nesting of JSON bodies and event payloads (deeper is refused as a whole)."""

# C0 controls but tab, line feed and carriage return; DEL; C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_WHOLE = re.compile(r"[0-9]{1,6}")


def text_problem(value: str) -> str | None:
    """Why `value` cannot be accepted as text, in the request's language; None when it can."""
    if len(value) > MAX_TEXT:
        return translated("At most %(n)s characters.", n=MAX_TEXT)
    if _CONTROL.search(value):
        return translated("Remove the control characters (such as NUL) from this value.")
    if _SURROGATE.search(value):
        return translated("This text is not valid Unicode.")
    return None


def number_problem(value: float | int) -> str | None:
    """Why a JSON number cannot be accepted; None when it can."""
    if isinstance(value, float) and not math.isfinite(value):
        return translated("Use a finite number.")
    if abs(value) > MAX_JSON_INTEGER:
        return translated("The value is out of range.")
    return None


def value_problems(value: Any, name: str, depth: int = 0) -> dict[str, str]:
    """Every problem in a decoded JSON value (or event payload), by dotted field name."""
    if depth > MAX_DEPTH:
        return {name: translated("Nested too deeply.")}
    if isinstance(value, str):
        problem = text_problem(value)
        return {name: problem} if problem else {}
    if isinstance(value, bool) or value is None:
        return {}
    if isinstance(value, int | float):
        problem = number_problem(value)
        return {name: problem} if problem else {}
    found: dict[str, str] = {}
    if isinstance(value, Mapping):
        for key, item in value.items():
            key_text = str(key)
            key_problem = text_problem(key_text)
            child = f"{name}.{key_text}" if name else key_text
            if key_problem:
                found[name or "body"] = key_problem
                continue
            found.update(value_problems(item, child, depth + 1))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found.update(value_problems(item, f"{name}.{index}" if name else str(index), depth + 1))
    return found


def pairs_problems(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Every problem in form or query fields (names and values)."""
    found: dict[str, str] = {}
    for key, value in pairs:
        key_problem = text_problem(key)
        if key_problem:
            found["field"] = key_problem
            continue
        problem = text_problem(value)
        if problem and key not in found:
            found[key] = problem
    return found


def page_problems(args: Mapping[str, str]) -> dict[str, str]:
    """The paging parameters: whole numbers from 1 to `MAX_PAGE`, else a problem each."""
    found: dict[str, str] = {}
    for name in PAGE_ARGS:
        raw = args.get(name)
        if raw is None or raw == "":
            continue
        if not _WHOLE.fullmatch(raw) or not 1 <= int(raw) <= MAX_PAGE:
            found[name] = translated("A whole number from 1 to %(n)s.", n=MAX_PAGE)
    return found


def request_problems() -> dict[str, str]:
    """Every problem in the current request's query, form, file names and JSON body."""
    found = pairs_problems(request.args.items(multi=True))
    found.update(page_problems(request.args))
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return found
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        found.update(pairs_problems(request.form.items(multi=True)))
        for key, upload in request.files.items(multi=True):
            if upload.filename:
                problem = text_problem(upload.filename)
                if problem:
                    found[key] = problem
    elif request.is_json:
        # Invalid JSON is left to the view (it answers its own "expected a JSON object").
        body = request.get_json(silent=True)
        found.update(value_problems(body, ""))
    return found


def check_request() -> None:
    """Refuse the current request with field-level errors when any input fails the edge check."""
    found = request_problems()
    if found:
        raise ValidationFailed(fields={name or "body": message for name, message in found.items()})


def install(app: Flask) -> None:
    """Check every request at the edge, before CSRF, access and the view (call it before the
    extensions that add their own request checks)."""
    app.before_request(check_request)
