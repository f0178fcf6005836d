"""The described API: what its draw operations may answer, pinned field by field.

Every draw answer's schema is closed (no undocumented field passes the response check), and its
fields are exactly the ones below: what was asked, the status, ids and counts the requester set.
A new field here must be reviewed against the visibility table (docs/sealing.md) before this list
changes: machine clients see status and ids only before the close, never who.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

pytestmark = pytest.mark.integration

DRAW_REQUEST_FIELDS = {
    "id",
    "project_id",
    "lot",
    "parent_id",
    "status",
    "is_offsite",
    "distinct_employers",
    "max_recent_draws",
    "frequency_window_days",
    "expert_count",
    "committee_size",
    "evaluation_start_at",
    "evaluation_end_at",
    "terminal_id",
    "created_at",
    "groups",
}
GROUP_FIELDS = {"id", "specialties", "regions_in", "regions_out", "count", "backups"}
# Words of a property that would name, count or point at people tied to a draw.
PERSONAL = ("expert", "member", "invite", "booking", "seat", "phone", "id_number", "alias")
# How many experts the requester asked for (its own input), not how many were drawn or answered.
ASKED = {"expert_count"}


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        return doc["components"]["schemas"][ref.rsplit("/", 1)[-1]]  # type: ignore[no-any-return]
    return schema


def _properties(doc: dict[str, Any], schema: dict[str, Any], seen: set[str]) -> set[str]:
    """Every property name reachable from `schema`."""
    names: set[str] = set()
    ref = schema.get("$ref")
    if ref:
        if ref in seen:
            return names
        seen.add(ref)
    schema = _resolve(doc, schema)
    for name, sub in schema.get("properties", {}).items():
        names.add(name)
        names |= _properties(doc, sub, seen)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            names |= _properties(doc, schema[key], seen)
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            names |= _properties(doc, sub, seen)
    return names


def test_draw_answers_are_closed_and_hold_only_the_reviewed_fields(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    request_out = schemas["DrawRequestOut"]
    assert set(request_out["properties"]) == DRAW_REQUEST_FIELDS
    assert request_out.get("additionalProperties") is False
    group_out = schemas["GroupOut"]
    assert set(group_out["properties"]) == GROUP_FIELDS
    assert group_out.get("additionalProperties") is False


def test_no_draw_operation_answers_a_property_about_people(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    checked = 0
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if "draws" not in op.get("tags", []):
                continue
            for status, answer in op["responses"].items():
                if not status.startswith("2"):
                    continue
                for media in answer.get("content", {}).values():
                    names = _properties(doc, media["schema"], set())
                    checked += 1
                    bad = [n for n in names - ASKED if any(word in n for word in PERSONAL)]
                    assert not bad, f"{method.upper()} {path} {status} answers {bad}"
    # The draw requests (create, read) and the keys: the check above looked at them.
    assert checked >= 3
