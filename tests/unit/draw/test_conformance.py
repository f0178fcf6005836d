"""Conformance with the draw-v1 vectors: every vector verifies and `run` reproduces it."""

from __future__ import annotations

import pytest

from draw import (
    DrawRequest,
    candidates_from_json,
    key_from_seed_hex,
    public_key_b64,
    run_draw,
    verify_transcript,
)
from draw.cjson import dumps

from .conftest import VECTOR_KEYS, VECTORS

IDS = [v["request"]["draw_id"] for v in VECTORS]


def test_the_vectors_cover_a_beacon_and_a_draw_without_one() -> None:
    assert {v["commit"]["beacon_round"] is None for v in VECTORS} == {True, False}


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_each_vector_verifies_with_its_public_key(vector: dict) -> None:
    key = public_key_b64(key_from_seed_hex(VECTOR_KEYS[vector["request"]["draw_id"]]))
    assert key == vector["public_key"]
    assert verify_transcript(vector, key) == []


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_run_reproduces_each_vector_byte_for_byte(vector: dict) -> None:
    signer = key_from_seed_hex(VECTOR_KEYS[vector["request"]["draw_id"]])
    transcript = run_draw(
        DrawRequest.from_json(vector["request"]),
        candidates_from_json(list(reversed(vector["candidates"]))),
        vector["secret"],
        vector["witnesses"],
        signer,
        committed_at=vector["commit"]["committed_at"],
        beacon_round=vector["commit"]["beacon_round"],
        beacon=vector["beacon"],
    )
    assert transcript.to_json() == vector
    assert dumps(transcript.to_json()) == dumps(vector)
