"""Canonical JSON (draw-v1 §2): sorted keys, no whitespace, UTF-8, no floats, |int| < 2^53.

This is the one canonical JSON of the code base: the draw engine and its verifier, and the
application for everything it hashes or signs (audit entries and checkpoints, draw-ledger
entries and their payloads, evaluation-room report digests) all serialise through `dumps`.
Its bytes are those of ``json.dumps(value, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)`` in UTF-8, which is what the application's own canonical JSON produced
before it was folded into this module, so chains and digests made earlier still verify.

Nothing is converted: a value of any other type (datetime, date, Decimal, enum member, tuple,
float, ...) raises `NotCanonical` (an `InvalidInput`), naming where it is. Callers convert
their types explicitly first (``.isoformat()``, ``.value``, ``str(decimal)``; the room's
report goes through ``evaluation_room._codec.encode``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from draw.errors import InvalidInput, NotCanonical

MAX_SAFE = 2**53
"""Integers must have an absolute value below this bound."""


def check(value: Any, path: str = "$") -> None:
    """Raise NotCanonical unless `value` holds only the JSON types draw-v1 allows."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        kind = type(item)
        if kind is str:
            _check_text(item, where)
        elif kind is bool or item is None:
            continue
        elif kind is int:
            if not -MAX_SAFE < item < MAX_SAFE:
                raise NotCanonical(where, "integer out of range (|n| must be below 2^53)")
        elif kind is float:
            raise NotCanonical(where, "floats are not allowed")
        elif kind is list:
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(item))
        elif kind is dict:
            for key, v in item.items():
                if type(key) is not str:
                    raise NotCanonical(where, "object keys must be strings")
                _check_text(key, where)
                stack.append((v, f"{where}.{key}"))
        else:
            raise NotCanonical(where, f"type {kind.__name__} is not allowed in canonical JSON")


def _check_text(text: str, where: str) -> None:
    """Refuse strings that cannot be encoded as UTF-8 (lone surrogates)."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise NotCanonical(where, "string is not valid Unicode (lone surrogate)") from None


def dumps(value: Any) -> bytes:
    """Return cjson(value), raising NotCanonical for floats, large integers and other types."""
    check(value)
    return dumps_checked(value)


def dumps_checked(value: Any) -> bytes:
    """Return cjson(value) for a value already known to hold only allowed types."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def digest(value: Any) -> str:
    """Return H(value): the lowercase hex SHA-256 of cjson(value)."""
    return hashlib.sha256(dumps(value)).hexdigest()


def digest_checked(value: Any) -> str:
    """Return H(value) for a value already known to hold only allowed types."""
    return hashlib.sha256(dumps_checked(value)).hexdigest()


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Build an object, refusing a key seen twice."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InvalidInput("", f"duplicate object key {key!r}")
        result[key] = value
    return result


def _refuse_constant(name: str) -> Any:
    """Refuse NaN and the infinities, which JSON does not have."""
    raise InvalidInput("", f"{name} is not JSON")


def loads(data: bytes | str) -> Any:
    """Parse JSON text strictly: UTF-8 only, duplicate keys and NaN refused.

    Floats are kept as Python floats so that the caller can name where they are
    (the model refuses them); nothing is rounded.
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput("", f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    else:
        text = data
    try:
        return json.loads(
            text,
            object_pairs_hook=_object_without_duplicates,
            parse_constant=_refuse_constant,
        )
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            "", f"malformed JSON: {exc.msg} (line {exc.lineno} column {exc.colno})"
        ) from None
    except RecursionError:
        raise InvalidInput("", "malformed JSON: nested too deeply") from None
