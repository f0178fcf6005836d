"""Convert the room's dataclasses to JSON-ready values and back, without floats.

Decimals become strings, datetimes ISO-8601 strings, enums their values; dataclasses become
dicts of their fields. Decoding is driven by the type hints, so a state round-trips exactly.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar, Union

T = TypeVar("T")
_HINTS: dict[type, dict[str, Any]] = {}


def encode(value: Any) -> Any:
    """Return ``value`` as nested dicts, lists, strings, ints, bools and None."""
    if value is None or (isinstance(value, bool | int | str) and not isinstance(value, enum.Enum)):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in room state")
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    raise TypeError(f"cannot encode {type(value).__name__}")


def decode(tp: type[T], data: Any) -> T:
    """Rebuild a value of type ``tp`` from what :func:`encode` produced."""
    return typing.cast(T, _decode(tp, data))


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _decode(tp: Any, data: Any) -> Any:
    if tp is Any:
        return data
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if data is None:
            return None
        if len(args) != 1:
            raise TypeError(f"ambiguous union {tp}")
        return _decode(args[0], data)
    if origin is list:
        (arg,) = typing.get_args(tp)
        return [_decode(arg, v) for v in data]
    if origin is tuple:
        targs = typing.get_args(tp)
        if len(targs) == 2 and targs[1] is Ellipsis:
            return tuple(_decode(targs[0], v) for v in data)
        return tuple(_decode(a, v) for a, v in zip(targs, data, strict=True))
    if origin is dict:
        _, val = typing.get_args(tp)
        return {k: _decode(val, v) for k, v in data.items()}
    if isinstance(tp, type):
        if issubclass(tp, enum.Enum):
            return tp(data)
        if tp is Decimal:
            if not isinstance(data, str | int) or isinstance(data, bool):
                raise TypeError("decimals must be given as strings or integers, not floats")
            return Decimal(data)
        if tp is datetime:
            return datetime.fromisoformat(data)
        if dataclasses.is_dataclass(tp):
            hints = _hints(tp)
            kwargs = {
                f.name: _decode(hints[f.name], data[f.name])
                for f in dataclasses.fields(tp)
                if f.init and f.name in data
            }
            return tp(**kwargs)
        if tp in (str, int, bool):
            if not isinstance(data, tp):
                raise TypeError(f"expected {tp.__name__}, got {type(data).__name__}")
            return data
    raise TypeError(f"cannot decode {tp!r}")
