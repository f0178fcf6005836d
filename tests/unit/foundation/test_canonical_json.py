"""The one canonical JSON (draw.cjson) as the application uses it for everything it hashes.

Byte identity with what the application produced before (``json.dumps(..., default=str)``
in ``expertpool/cjson.py`` at commit 0b0131f) is what keeps old audit chains, checkpoints,
ledger entries and report digests verifying; the expected digests below were computed with
that code.
"""

from __future__ import annotations

import ast
import enum
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from draw import InvalidInput, NotCanonical, cjson
from evaluation_room import report
from expertpool.core import audit
from expertpool.draws import ledger

ROOT = Path(__file__).resolve().parents[3]
AT = datetime(2026, 12, 1, 8, 30, 15, 123456)
AFTER = {
    "name": "某区道路改造工程施工",
    "budget": "8500000.00",
    "is_remote": False,
    "lots": [1, None],
}
REASON = {"draw_id": "D20261201-P1-0a1b2c3d", "reason": '终端时钟异常\n"重新"申请'}


def legacy_dumps(value: Any) -> bytes:
    """The application's canonical JSON before it was folded into draw.cjson."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return text.encode("utf-8")


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    ONE = 1


class Plain(enum.Enum):
    A = "a"


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.text(st.characters(exclude_categories=("Cs",))),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.text(st.characters(exclude_categories=("Cs",)), max_size=6), inner, max_size=4
        )
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_the_bytes_are_those_the_application_produced_before(value: Any) -> None:
    assert cjson.dumps(value) == legacy_dumps(value)
    assert cjson.digest(value) == cjson.digest(json.loads(legacy_dumps(value)))


def test_the_bytes_of_a_known_document() -> None:
    value = {"b": 1, "a": ["专家", None, True, False, -7, '"\\\n\u2028\x01'], "": {}}
    expected = '{"":{},"a":["专家",null,true,false,-7,"\\"\\\\\\n\u2028\\u0001"],"b":1}'
    assert cjson.dumps(value) == expected.encode("utf-8") == legacy_dumps(value)


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (datetime(2026, 12, 1, tzinfo=UTC), "datetime"),
        (date(2026, 12, 1), "date"),
        (Decimal("1.50"), "Decimal"),
        (Colour.RED, "Colour"),
        (Level.ONE, "Level"),
        (Plain.A, "Plain"),
        ((1, 2), "tuple"),
        ({1, 2}, "set"),
        (b"x", "bytes"),
        (object(), "object"),
    ],
)
def test_any_other_type_is_refused_with_the_typed_error_naming_where(value: Any, kind: str) -> None:
    """Nothing is stringified behind the caller's back (the old ``default=str`` did)."""
    with pytest.raises(NotCanonical, match=kind) as caught:
        cjson.dumps({"after": {"items": [0, value]}})
    assert isinstance(caught.value, InvalidInput) and caught.value.code == "invalid_input"
    assert caught.value.field == "$.after.items[1]"


@pytest.mark.parametrize(
    "value", [1.5, float("nan"), 2**53, -(2**53), {1: "int key"}, {"a": "\ud800"}, ["\udfff"]]
)
def test_floats_large_integers_non_string_keys_and_lone_surrogates_are_refused(value: Any) -> None:
    with pytest.raises(NotCanonical):
        cjson.dumps(value)
    with pytest.raises(NotCanonical):
        cjson.digest(value)


def test_an_audit_entry_hashes_as_before() -> None:
    after = cjson.dumps(AFTER).decode("utf-8")
    assert after.encode("utf-8") == legacy_dumps(AFTER)
    digest = audit._entry_hash(
        7, AT, "staff.gz", "project.create", "project", "12", "{}", after, "ab" * 32
    )
    assert digest == "8f5b6dffed4d7d23a41e84bb101243d642e8f968e4f731b41eaa66a8d6c2d76d"


def test_a_checkpoint_signs_the_same_bytes_as_before() -> None:
    assert audit._checkpoint_body(7, "cd" * 32, "2026-12-01T08:30:15Z") == (
        b'{"at":"2026-12-01T08:30:15Z","hash":"' + b"cd" * 32 + b'","seq":7}'
    )


def test_a_ledger_entry_hashes_as_before() -> None:
    payload = ledger._payload_text(REASON)
    assert payload.encode("utf-8") == legacy_dumps(REASON)
    digest = ledger.entry_hash(
        seq=3,
        draw_id=REASON["draw_id"],
        project_id=1,
        request_id=None,
        kind="abandoned",
        payload=payload,
        signature=None,
        key_id=None,
        terminal_id=2,
        operator="staff.gz",
        supervisor=None,
        at=AT,
        prev_hash="ef" * 32,
    )
    assert digest == "13fdb7bff4f9e78f7eff3c3dfc76e84677e41bf3678e6105b50cb7bb7d7f9c78"


def test_a_report_digest_converts_the_room_s_types_explicitly_as_before() -> None:
    body = {
        "room_id": "r1",
        "score": Decimal("40.50"),
        "at": datetime(2026, 12, 1, 8, tzinfo=UTC),
        "who": ["专家1", "专家2"],
        "n": 3,
    }
    assert (
        report.canonical_json(body)
        == (
            '{"at":"2026-12-01T08:00:00+00:00","n":3,"room_id":"r1","score":"40.50",'
            '"who":["专家1","专家2"]}'
        ).encode()
    )
    assert report.digest(body) == "fa9e527b2e85818803cc9de2e04ae9d80606afe58f86ded5666072649fc38268"
    with pytest.raises(TypeError):
        report.digest({"score": 1.5})


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.text(max_size=5),
        st.decimals(allow_nan=False, allow_infinity=False)
        | st.datetimes(timezones=st.just(UTC))
        | st.sampled_from(list(Colour)),
        max_size=5,
    )
)
def test_room_values_encode_to_the_bytes_the_room_hashed_before(value: dict[str, Any]) -> None:
    from evaluation_room._codec import encode

    before = json.dumps(
        encode(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
    assert report.canonical_json(value) == before


def _json_dumps_calls(package: str) -> list[tuple[str, ast.Call]]:
    calls = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "dumps"
            ):
                calls.append((str(path.relative_to(ROOT)), node))
    return calls


@pytest.mark.parametrize("package", ["draw", "expertpool", "evaluation_room"])
def test_no_serialiser_stringifies_unknown_types(package: str) -> None:
    offenders = [
        path
        for path, call in _json_dumps_calls(package)
        if any(k.arg == "default" for k in call.keywords)
    ]
    assert offenders == []


def test_there_is_one_canonical_json_module() -> None:
    packages = ("draw", "expertpool", "evaluation_room", "notify")
    found = [p for pkg in packages for p in (ROOT / pkg).rglob("*cjson*.py")]
    modules = {p.relative_to(ROOT).as_posix() for p in found}
    assert modules == {"draw/cjson.py"}
