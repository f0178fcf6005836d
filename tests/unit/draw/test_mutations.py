"""Changing any single thing in a vector makes verification fail and name the right step (§10,
§11).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from draw import Step, verify_transcript

from .conftest import VECTORS

Mutation = Callable[[dict[str, Any]], None]


def flip_hex(text: str, at: int = 0) -> str:
    """Change one hex digit."""
    return text[:at] + ("1" if text[at] != "1" else "2") + text[at + 1 :]


def flip_base64(text: str) -> str:
    """Change one base64 character in the middle, keeping the encoding canonical."""
    at = 10
    return text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1 :]


def swap(items: list[Any], i: int, j: int) -> None:
    """Swap two elements in place."""
    items[i], items[j] = items[j], items[i]


def set_candidate(key: str, value: Callable[[Any], Any]) -> Mutation:
    """Change one attribute of the candidate that is the first primary."""

    def mutate(t: dict[str, Any]) -> None:
        first = t["result"]["groups"][0]["primaries"][0]
        candidate = next(c for c in t["candidates"] if c["id"] == first)
        candidate[key] = value(candidate[key])

    return mutate


def set_commit(key: str, value: Callable[[Any], Any]) -> Mutation:
    """Change one field of the commitment."""

    def mutate(t: dict[str, Any]) -> None:
        t["commit"][key] = value(t["commit"][key])

    return mutate


def set_witness_digit(t: dict[str, Any]) -> None:
    """Change the last digit of the first witness entry."""
    w = t["witnesses"][0]
    t["witnesses"][0] = w[:-1] + ("7" if w[-1] != "7" else "8")


MUTATIONS: dict[str, tuple[Mutation, Step]] = {
    "candidate id": (set_candidate("id", lambda v: v + "X"), Step.COMMIT),
    "candidate status": (set_candidate("status", lambda v: "suspended"), Step.COMMIT),
    "candidate available": (set_candidate("available", lambda v: not v), Step.COMMIT),
    "candidate specialties": (set_candidate("specialties", lambda v: [*v, "Z99"]), Step.COMMIT),
    "candidate region": (set_candidate("region", lambda v: "449999"), Step.COMMIT),
    "candidate employer": (set_candidate("employer", lambda v: "ORG-ELSEWHERE"), Step.COMMIT),
    "candidate avoid_orgs": (set_candidate("avoid_orgs", lambda v: [*v, "ORG-X"]), Step.COMMIT),
    "candidate recent_draws": (set_candidate("recent_draws", lambda v: v + 1), Step.COMMIT),
    "a witness digit": (set_witness_digit, Step.SEALED),
    "a witness digit changes the replay": (set_witness_digit, Step.RESULT),
    "the secret": (lambda t: t.update(secret=flip_hex(t["secret"], 5)), Step.COMMIT),
    "the attempt": (lambda t: t["result"].update(attempt=t["result"]["attempt"] + 1), Step.RESULT),
    "the order of two primaries": (
        lambda t: swap(t["result"]["groups"][0]["primaries"], 0, 1),
        Step.RESULT,
    ),
    "the order of two backups": (
        lambda t: swap(t["result"]["groups"][0]["backups"], 0, 1),
        Step.RESULT,
    ),
    "the order of two candidates": (lambda t: swap(t["candidates"], 3, 4), Step.FORM),
    "commit version": (set_commit("version", lambda v: "draw-v2"), Step.FORM),
    "commit draw_id": (set_commit("draw_id", lambda v: v + "-2"), Step.COMMIT),
    "commit request_digest": (set_commit("request_digest", flip_hex), Step.COMMIT),
    "commit pool_digest": (set_commit("pool_digest", flip_hex), Step.COMMIT),
    "commit excluded_digest": (set_commit("excluded_digest", flip_hex), Step.COMMIT),
    "commit eligible count": (
        lambda t: t["commit"]["eligible"][0].update(count=t["commit"]["eligible"][0]["count"] + 1),
        Step.COMMIT,
    ),
    "commit eligible digest": (
        lambda t: t["commit"]["eligible"][0].update(
            digest=flip_hex(t["commit"]["eligible"][0]["digest"])
        ),
        Step.COMMIT,
    ),
    "commit eligible group": (
        lambda t: t["commit"]["eligible"][0].update(group="other"),
        Step.COMMIT,
    ),
    "commit secret_digest": (set_commit("secret_digest", flip_hex), Step.COMMIT),
    "commit beacon_round": (
        set_commit("beacon_round", lambda v: "drand-quicknet:1" if v is None else v + "1"),
        Step.SIGNATURE,
    ),
    "commit committed_at": (
        set_commit("committed_at", lambda v: v[:-2] + ("8" if v[-2] != "8" else "7") + "Z"),
        Step.SIGNATURE,
    ),
    "the commit signature": (
        lambda t: t["signatures"].update(commit=flip_base64(t["signatures"]["commit"])),
        Step.SIGNATURE,
    ),
    "the sealed signature": (
        lambda t: t["signatures"].update(sealed=flip_base64(t["signatures"]["sealed"])),
        Step.SEALED,
    ),
    "the public key": (lambda t: t.update(public_key=flip_base64(t["public_key"])), Step.SIGNATURE),
    "the version": (lambda t: t.update(version="draw-v2"), Step.FORM),
    "an extra top-level key": (lambda t: t.update(note="hello"), Step.FORM),
    "an extra commit key": (lambda t: t["commit"].update(note="hello"), Step.FORM),
    "an extra request key": (lambda t: t["request"].update(note="hello"), Step.FORM),
    "an extra candidate key": (lambda t: t["candidates"][0].update(note="hello"), Step.FORM),
    "an extra result key": (lambda t: t["result"].update(note="hello"), Step.FORM),
    "an extra signatures key": (lambda t: t["signatures"].update(note="hello"), Step.FORM),
    "a missing key": (lambda t: t.pop("beacon"), Step.FORM),
    "a request field": (
        lambda t: t["request"].update(project_code=t["request"]["project_code"] + "x"),
        Step.COMMIT,
    ),
    "a float in a candidate": (set_candidate("recent_draws", float), Step.FORM),
}


@pytest.mark.parametrize("vector", VECTORS, ids=[v["request"]["draw_id"] for v in VECTORS])
@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_verification_fails_and_names_the_step_when_one_thing_changes(
    name: str, vector: dict
) -> None:
    mutate, step = MUTATIONS[name]
    changed = copy.deepcopy(vector)
    mutate(changed)
    assert json.dumps(changed) != json.dumps(vector), "the mutation must change something"
    failures = verify_transcript(changed)
    assert failures, name
    assert step in {f.step for f in failures}, [str(f) for f in failures]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["request"]["draw_id"] for v in VECTORS])
def test_changing_the_beacon_breaks_the_draw(vector: dict) -> None:
    changed = copy.deepcopy(vector)
    if vector["beacon"] is None:
        changed["beacon"] = "some-beacon"  # a beacon without a committed round
        expected = Step.FORM
    else:
        changed["beacon"] = vector["beacon"] + "0"
        expected = Step.SEALED
    assert expected in {f.step for f in verify_transcript(changed)}


def test_every_differing_commit_field_is_reported_not_only_the_first() -> None:
    changed = copy.deepcopy(VECTORS[0])
    for key in ("request_digest", "pool_digest", "secret_digest"):
        changed["commit"][key] = flip_hex(changed["commit"][key])
    fields = {f.field for f in verify_transcript(changed) if f.step is Step.COMMIT}
    assert {"commit.request_digest", "commit.pool_digest", "commit.secret_digest"} <= fields


def test_a_transcript_that_is_not_an_object_is_refused() -> None:
    from draw import InvalidInput

    with pytest.raises(InvalidInput):
        verify_transcript([VECTORS[0]])
