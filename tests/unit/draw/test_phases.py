"""The two-phase API the application uses: prepare (commit) before witnesses, draw after."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from draw import (
    Commit,
    DrawRequest,
    InvalidInput,
    build_sealed,
    build_transcript,
    candidates_from_json,
    canonical_digest,
    canonical_json,
    generate_secret,
    key_from_seed_hex,
    load_json,
    prepare_commit,
    select,
    sign_sealed,
    verify_json,
    verify_sealed,
    verify_transcript,
)

from .conftest import TEST_KEY, VECTOR_KEYS, VECTORS


def test_a_draw_in_two_phases_gives_a_transcript_that_verifies_under_the_expected_key() -> None:
    vector = VECTORS[0]
    request = DrawRequest.from_json(vector["request"])
    pool = candidates_from_json(vector["candidates"])
    secret = generate_secret()
    committed_at = datetime(2026, 11, 28, 17, 0, 5, 123, tzinfo=timezone(timedelta(hours=8)))
    prepared = prepare_commit(request, pool, secret, TEST_KEY, committed_at=committed_at)
    assert prepared.commit.committed_at == "2026-11-28T09:00:05Z"
    assert verify_json(prepared.commit.to_json(), prepared.signature, prepared.public_key)
    # Stored, then reloaded for phase two.
    stored = Commit.from_json(load_json(canonical_json(prepared.commit.to_json())))
    result = select(request, list(reversed(pool)), secret, stored, ["38291045", "77120938"], None)
    sealed = build_sealed(stored, ["38291045", "77120938"], None, result, secret)
    sealed_signature = sign_sealed(sealed, TEST_KEY)
    assert (
        verify_sealed(sealed.to_json(), prepared.public_key, prepared.signature, sealed_signature)
        == []
    )
    assert (
        verify_sealed(
            sealed.to_json(),
            prepared.public_key,
            prepared.signature,
            sealed_signature,
            secret=secret,
            result=result.to_json(),
        )
        == []
    )
    transcript = build_transcript(
        request,
        pool,
        secret,
        stored,
        ["38291045", "77120938"],
        None,
        result,
        public_key=prepared.public_key,
        commit_signature=prepared.signature,
        sealed_signature=sealed_signature,
    )
    assert (
        verify_transcript(json.loads(canonical_json(transcript.to_json())), prepared.public_key)
        == []
    )
    assert len(prepared.digest) == 64 and prepared.digest == canonical_digest(stored.to_json())


def test_select_refuses_a_snapshot_that_differs_from_the_commitment() -> None:
    vector = VECTORS[0]
    request = DrawRequest.from_json(vector["request"])
    pool = candidates_from_json(vector["candidates"])
    commit = Commit.from_json(vector["commit"])
    with pytest.raises(InvalidInput, match="pool_digest"):
        select(request, pool[1:], vector["secret"], commit, vector["witnesses"], None)


def test_select_after_prepare_reproduces_the_vector_panel() -> None:
    vector = VECTORS[1]
    result = select(
        DrawRequest.from_json(vector["request"]),
        candidates_from_json(vector["candidates"]),
        vector["secret"],
        Commit.from_json(vector["commit"]),
        vector["witnesses"],
        vector["beacon"],
    )
    assert result.to_json() == vector["result"]


def test_a_supervisor_detects_a_released_result_that_does_not_match_the_sealed_digest() -> None:
    vector = VECTORS[1]
    signer = key_from_seed_hex(VECTOR_KEYS["D-remote"])
    commit = Commit.from_json(vector["commit"])
    from draw import DrawResult

    result = DrawResult.from_json(vector["result"])
    sealed = build_sealed(commit, vector["witnesses"], vector["beacon"], result, vector["secret"])
    signature = sign_sealed(sealed, signer)
    assert signature == vector["signatures"]["sealed"]
    swapped = json.loads(json.dumps(vector["result"]))
    swapped["groups"][0]["primaries"][0] = "EREM00099"
    failures = verify_sealed(
        sealed.to_json(),
        vector["public_key"],
        vector["signatures"]["commit"],
        signature,
        secret=vector["secret"],
        result=swapped,
    )
    assert [f.field for f in failures] == ["result_digest"]


def test_a_naive_timestamp_is_refused() -> None:
    vector = VECTORS[0]
    with pytest.raises(InvalidInput):
        prepare_commit(
            DrawRequest.from_json(vector["request"]),
            candidates_from_json(vector["candidates"]),
            generate_secret(),
            TEST_KEY,
            committed_at=datetime(2026, 1, 1),
        )
    assert datetime.now(UTC)  # aware clocks are what the application passes
