"""Fixtures for the draw engine tests: vectors, keys and small builders."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from draw import Candidate, DrawRequest, Group, key_from_seed_hex

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[3]


def load_vectors() -> list[dict[str, Any]]:
    """The public draw-v1 vectors (copied from the spec)."""
    return json.loads((DATA / "draw-v1-vectors.json").read_text("utf-8"))


def load_vector_keys() -> dict[str, str]:
    """Ed25519 seeds that signed the vectors, by draw id."""
    return json.loads((DATA / "draw-v1-vector-keys.json").read_text("utf-8"))["keys"]


VECTORS = load_vectors()
VECTOR_KEYS = load_vector_keys()
TEST_KEY = key_from_seed_hex("11" * 32)


def run_input(vector: dict[str, Any]) -> dict[str, Any]:
    """The `python -m draw run` input that reproduces a vector."""
    return {
        "request": vector["request"],
        "candidates": vector["candidates"],
        "secret": vector["secret"],
        "witnesses": vector["witnesses"],
        "beacon_round": vector["commit"]["beacon_round"],
        "beacon": vector["beacon"],
        "committed_at": vector["commit"]["committed_at"],
    }


def make_candidate_json(**overrides: Any) -> dict[str, Any]:
    """A valid candidate object with sensible defaults."""
    base: dict[str, Any] = {
        "id": "E0001",
        "status": "active",
        "available": True,
        "specialties": ["A01"],
        "region": "440100",
        "employer": "",
        "avoid_orgs": [],
        "recent_draws": 0,
    }
    base.update(overrides)
    return base


def make_group_json(**overrides: Any) -> dict[str, Any]:
    """A valid group object with sensible defaults."""
    base: dict[str, Any] = {
        "id": "tech",
        "specialties": ["A"],
        "regions_in": [],
        "regions_out": [],
        "count": 1,
        "backups": 0,
    }
    base.update(overrides)
    return base


def make_request_json(**overrides: Any) -> dict[str, Any]:
    """A valid request object with sensible defaults."""
    base: dict[str, Any] = {
        "draw_id": "D-test",
        "project_code": "GD-2026-测试",
        "evaluation_date": "2026-12-01",
        "bidder_orgs": ["BID1"],
        "tenderer_orgs": ["TEN1"],
        "agency_orgs": ["AGE1"],
        "excluded_experts": [],
        "max_recent_draws": None,
        "distinct_employers": False,
        "groups": [make_group_json()],
    }
    base.update(overrides)
    return base


@pytest.fixture
def make_candidate() -> Callable[..., Candidate]:
    """Factory for Candidate objects."""
    return lambda **kw: Candidate.from_json(make_candidate_json(**kw))


@pytest.fixture
def make_request() -> Callable[..., DrawRequest]:
    """Factory for DrawRequest objects; `groups` may be a list of group overrides."""

    def build(groups: list[dict[str, Any]] | None = None, **kw: Any) -> DrawRequest:
        if groups is not None:
            kw["groups"] = [make_group_json(**g) for g in groups]
        return DrawRequest.from_json(make_request_json(**kw))

    return build


__all__ = ["Group"]
