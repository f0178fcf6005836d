"""Convert the room's dataclasses to JSON-ready values and back, without floats.

Decimals become strings, datetimes ISO-8601 strings, enums their values; dataclasses become
dicts of their fields. Decoding is driven by the type hints, so a state round-trips exactly.

Both directions run on every room event (the state is saved whole, every viewer gets a
snapshot), so each dataclass gets its encoder and each type its decoder built once from the
type hints, and values are then converted without asking ``typing`` again.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar, Union

T = TypeVar("T")
Fn = Callable[[Any], Any]
_HINTS: dict[type, dict[str, Any]] = {}
_ENCODERS: dict[type, Fn] = {}
_DECODERS: dict[Any, Fn] = {}


def encode(value: Any) -> Any:
    """Return ``value`` as nested dicts, lists, strings, ints, bools and None."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict:
        return {str(k): encode(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [encode(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return _encode_datetime(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _dataclass_encoder(kind)(value)
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    raise TypeError(f"cannot encode {kind.__name__}")


def _encode_datetime(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime in room state")
    return value.isoformat()


def _dataclass_encoder(cls: type) -> Fn:
    fn = _ENCODERS.get(cls)
    if fn is None:
        hints = _hints(cls)
        parts = [(f.name, _field_encoder(hints.get(f.name, Any))) for f in dataclasses.fields(cls)]

        def fn(value: Any) -> Any:
            return {name: enc(getattr(value, name)) for name, enc in parts}

        _ENCODERS[cls] = fn
    return fn


def _field_encoder(tp: Any) -> Fn:
    """An encoder specialised for a declared type; anything unexpected goes to :func:`encode`."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) != 1:
            return encode
        inner = _field_encoder(args[0])
        return lambda v: None if v is None else inner(v)
    if origin is list or origin is tuple:
        targs = typing.get_args(tp)
        item = (
            _field_encoder(targs[0])
            if origin is list or (len(targs) == 2 and targs[1] is Ellipsis)
            else encode
        )
        return lambda v: [item(x) for x in v] if type(v) is list or type(v) is tuple else encode(v)
    if origin is dict:
        val = _field_encoder(typing.get_args(tp)[1])
        return lambda v: {str(k): val(x) for k, x in v.items()} if type(v) is dict else encode(v)
    if tp in (str, int, bool):
        return lambda v: v if type(v) is tp else encode(v)
    if tp is Decimal:
        return lambda v: str(v) if type(v) is Decimal else encode(v)
    if tp is datetime:
        return lambda v: _encode_datetime(v) if type(v) is datetime else encode(v)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return lambda v: v.value if type(v) is tp else encode(v)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return lambda v: _dataclass_encoder(type(v))(v) if type(v) is tp else encode(v)
    return encode


def decode(tp: type[T], data: Any) -> T:
    """Rebuild a value of type ``tp`` from what :func:`encode` produced."""
    return typing.cast(T, _decoder(tp)(data))


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _decoder(tp: Any) -> Fn:
    try:
        fn = _DECODERS.get(tp)
    except TypeError:  # an unhashable type form
        return _build_decoder(tp)
    if fn is None:
        # A placeholder first, so that a self-referencing dataclass finds its own decoder.
        cell: list[Fn] = []
        _DECODERS[tp] = lambda data: cell[0](data)
        try:
            fn = _build_decoder(tp)
        except BaseException:
            del _DECODERS[tp]
            raise
        cell.append(fn)
        _DECODERS[tp] = fn
    return fn


def _build_decoder(tp: Any) -> Fn:
    if tp is Any:
        return lambda data: data
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) != 1:

            def ambiguous(data: Any) -> Any:
                if data is None:
                    return None
                raise TypeError(f"ambiguous union {tp}")

            return ambiguous
        inner = _decoder(args[0])
        return lambda data: None if data is None else inner(data)
    if origin is list:
        (arg,) = typing.get_args(tp)
        item = _decoder(arg)
        return lambda data: [item(v) for v in data]
    if origin is tuple:
        targs = typing.get_args(tp)
        if len(targs) == 2 and targs[1] is Ellipsis:
            each = _decoder(targs[0])
            return lambda data: tuple(each(v) for v in data)
        fixed = [_decoder(a) for a in targs]
        return lambda data: tuple(f(v) for f, v in zip(fixed, data, strict=True))
    if origin is dict:
        val = _decoder(typing.get_args(tp)[1])
        return lambda data: {k: val(v) for k, v in data.items()}
    if isinstance(tp, type):
        if issubclass(tp, enum.Enum):
            return tp
        if tp is Decimal:
            return _decode_decimal
        if tp is datetime:
            return datetime.fromisoformat
        if dataclasses.is_dataclass(tp):
            return _dataclass_decoder(tp)
        if tp in (str, int, bool):
            return _plain_decoder(tp)
    raise TypeError(f"cannot decode {tp!r}")


def _decode_decimal(data: Any) -> Decimal:
    if not isinstance(data, str | int) or isinstance(data, bool):
        raise TypeError("decimals must be given as strings or integers, not floats")
    return Decimal(data)


def _plain_decoder(tp: type) -> Fn:
    def check(data: Any) -> Any:
        if not isinstance(data, tp):
            raise TypeError(f"expected {tp.__name__}, got {type(data).__name__}")
        return data

    return check


def _dataclass_decoder(cls: type) -> Fn:
    hints = _hints(cls)
    parts = [(f.name, _decoder(hints[f.name])) for f in dataclasses.fields(cls) if f.init]

    def build(data: Any) -> Any:
        return cls(**{name: dec(data[name]) for name, dec in parts if name in data})

    return build
