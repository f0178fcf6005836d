"""The columnar path (draw.columnar, issue #30) writes exactly what the straightforward path
writes, verifies exactly as it does, and leaves every input it does not fully accept to it.
"""

from __future__ import annotations

import gc
import json
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from draw import (
    DrawError,
    DrawRequest,
    candidates_from_json,
    columnar,
    key_from_seed_hex,
    run_draw,
    verify_transcript,
)
from draw.cjson import dumps
from draw.cli import main
from draw.verify import verify_pool_transcript

from .conftest import VECTOR_KEYS, VECTORS, run_input

SIGNER = key_from_seed_hex("11" * 32)
SECRET = "ab" * 32
EMPLOYERS = ["ORG1", "ORG2", "ORG3", "ORG4", "ORG5"]
CODES = ["A01", "A0102", "A02", "B01", "B0201", "C1"]
REGIONS = ["440100", "440300", "440400"]
# Statuses the spec allows besides "active": any text, including what JSON must escape and
# what would confuse a naive split of the array.
STATUSES = ["active", "active", "active", "suspended", "", 'a "quoted" one', "停用", "},{", "\n\t"]


@st.composite
def run_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """A run input of varied shape: sizes, statuses, conflicts, caps, regions, groups."""
    n = draw(st.integers(1, 60))
    ids = draw(
        st.lists(
            st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,8}", fullmatch=True),
            min_size=n,
            max_size=n,
            unique=True,
        )
    )
    candidates = [
        {
            "id": expert,
            "status": draw(st.sampled_from(STATUSES)),
            "available": draw(st.booleans()),
            "specialties": draw(st.lists(st.sampled_from(CODES), max_size=3)),
            "region": draw(st.sampled_from(REGIONS)),
            "employer": draw(st.sampled_from(["", *EMPLOYERS])),
            "avoid_orgs": draw(st.lists(st.sampled_from(EMPLOYERS), max_size=2)),
            "recent_draws": draw(st.integers(0, 5)),
        }
        for expert in ids
    ]
    groups = [
        {
            "id": f"g{i}",
            "specialties": draw(st.lists(st.sampled_from(["A", "A01", "B", "C1"]), min_size=1)),
            "regions_in": draw(st.lists(st.sampled_from(REGIONS), max_size=2)),
            "regions_out": draw(st.lists(st.sampled_from(REGIONS), max_size=1)),
            "count": draw(st.integers(1, 3)),
            "backups": draw(st.integers(0, 3)),
        }
        for i in range(draw(st.integers(1, 3)))
    ]
    request = {
        "draw_id": "COL-1",
        "project_code": draw(st.sampled_from(["P-1", '基准 "项目"'])),
        "evaluation_date": "2026-12-01",
        "bidder_orgs": draw(st.lists(st.sampled_from(EMPLOYERS), max_size=2)),
        "tenderer_orgs": [],
        "agency_orgs": [],
        "excluded_experts": draw(st.lists(st.sampled_from(ids), max_size=3, unique=True)),
        "max_recent_draws": draw(st.one_of(st.none(), st.integers(0, 6))),
        "distinct_employers": draw(st.booleans()),
        "groups": groups,
    }
    return {
        "request": request,
        "candidates": candidates,
        "secret": SECRET,
        "witnesses": ["123456", "654321"],
        "beacon_round": None,
        "beacon": None,
        "committed_at": "2026-11-28T09:00:00Z",
    }


def straightforward(data: dict[str, Any]) -> bytes | str:
    """The transcript bytes of the object path, or the error it raises."""
    try:
        transcript = run_draw(
            DrawRequest.from_json(data["request"]),
            candidates_from_json(data["candidates"]),
            data["secret"],
            data["witnesses"],
            SIGNER,
            committed_at=data["committed_at"],
        )
    except DrawError as error:
        return f"{error.code}: {error.message}"
    return dumps(transcript.to_json())


def fast(raw: bytes) -> bytes | str:
    """The transcript bytes of the columnar path, or the error it raises."""
    loaded = columnar.load_with_pool(raw, ascending=False)
    assert loaded is not None, "the columnar path refused a well-formed compact input"
    document, pool = loaded
    try:
        parts = columnar.run_draw(
            DrawRequest.from_json(document["request"]),
            pool,
            document["secret"],
            document["witnesses"],
            SIGNER,
            committed_at=document["committed_at"],
        )
    except DrawError as error:
        return f"{error.code}: {error.message}"
    return b"".join(parts)


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cut the candidates array into many chunks, so that chunk boundaries are exercised."""
    monkeypatch.setattr(columnar, "CHUNK_BYTES", 300)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(run_inputs(), st.booleans())
def test_the_columnar_and_the_straightforward_path_write_identical_transcripts(
    data: dict[str, Any], reverse: bool
) -> None:
    if reverse:
        data["candidates"].reverse()
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    expected = straightforward(data)
    if any("},{" in c["status"] for c in data["candidates"]):
        # Left to the straightforward path, which the command line then takes.
        assert columnar.load_with_pool(raw, ascending=False) is None
        return
    assert fast(raw) == expected
    if isinstance(expected, bytes):
        # Verifying through the columns agrees, on the transcript and on a tampered one.
        transcript = orjson.loads(expected)
        loaded = columnar.load_with_pool(expected, ascending=True)
        assert loaded is not None
        assert verify_pool_transcript(*loaded) == verify_transcript(transcript) == []
        transcript["candidates"][0]["recent_draws"] += 1
        transcript["candidates"][-1]["available"] = not transcript["candidates"][-1]["available"]
        tampered = dumps(transcript)
        loaded = columnar.load_with_pool(tampered, ascending=True)
        assert loaded is not None
        failures = verify_pool_transcript(*loaded)
        assert failures == verify_transcript(transcript) != []


@pytest.mark.parametrize("vector", VECTORS, ids=[v["request"]["draw_id"] for v in VECTORS])
def test_the_columnar_path_reproduces_and_verifies_each_public_vector(vector: dict) -> None:
    data = run_input(vector)
    data["candidates"] = list(reversed(data["candidates"]))
    signer = key_from_seed_hex(VECTOR_KEYS[vector["request"]["draw_id"]])
    loaded = columnar.load_with_pool(dumps(data), ascending=False)
    assert loaded is not None
    document, pool = loaded
    out = columnar.run_draw(
        DrawRequest.from_json(document["request"]),
        pool,
        document["secret"],
        document["witnesses"],
        signer,
        committed_at=document["committed_at"],
        beacon_round=document["beacon_round"],
        beacon=document["beacon"],
    )
    assert b"".join(out) == dumps(vector)
    loaded = columnar.load_with_pool(dumps(vector), ascending=True)
    assert loaded is not None
    assert verify_pool_transcript(*loaded, vector["public_key"]) == []


def _vector_bytes() -> bytes:
    return dumps(VECTORS[0])


def test_a_transcript_with_a_duplicated_key_in_a_candidate_is_refused(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = _vector_bytes()
    first = raw.index(b'"available":', raw.index(b'"candidates":['))
    value = b"false" if raw[first + 12 : first + 16] == b"true" else b"true"
    # The duplicate comes first: orjson would keep the second (the original) silently.
    doubled = raw[:first] + b'"available":' + value + b"," + raw[first:]
    assert columnar.load_with_pool(doubled, ascending=True) is None
    path = tmp_path / "dup.json"
    path.write_bytes(doubled)
    assert main(["verify", str(path)]) == 2
    assert "duplicate object key 'available'" in capsys.readouterr().err


def test_a_duplicated_key_outside_the_candidates_is_refused(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = _vector_bytes()
    doubled = raw.replace(b'{"beacon":', b'{"secret":"' + b"00" * 32 + b'","beacon":', 1)
    assert columnar.load_with_pool(doubled, ascending=True) is None
    path = tmp_path / "dup.json"
    path.write_bytes(doubled)
    assert main(["verify", str(path)]) == 2
    assert "duplicate object key 'secret'" in capsys.readouterr().err


def test_a_run_input_with_a_duplicated_candidate_key_is_refused(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = dumps(run_input(VECTORS[0]))
    at = raw.index(b'"recent_draws":')
    doubled = raw[:at] + b'"recent_draws":0,' + raw[at:]
    assert columnar.load_with_pool(doubled, ascending=False) is None
    (tmp_path / "in.json").write_bytes(doubled)
    (tmp_path / "key").write_text(VECTOR_KEYS[VECTORS[0]["request"]["draw_id"]])
    code = main(["run", str(tmp_path / "in.json"), "--signing-key", str(tmp_path / "key")])
    assert code == 2
    assert "duplicate object key 'recent_draws'" in capsys.readouterr().err


def test_indented_or_malformed_input_is_left_to_the_straightforward_path() -> None:
    vector = VECTORS[0]
    assert columnar.load_with_pool(json.dumps(vector, indent=1).encode(), ascending=True) is None
    raw = _vector_bytes()
    assert columnar.load_with_pool(raw[:-1], ascending=True) is None
    # A candidate out of form: the object path names it.
    bad = raw.replace(b'"recent_draws":', b'"recent_draws":-', 1)
    assert columnar.load_with_pool(bad, ascending=True) is None
    # Not in ascending order: the verifier reports it.
    swapped = dict(vector, candidates=list(reversed(vector["candidates"])))
    assert columnar.load_with_pool(dumps(swapped), ascending=True) is None


def test_the_collector_state_of_the_caller_is_kept() -> None:
    raw = _vector_bytes()
    assert gc.isenabled()
    assert columnar.load_with_pool(raw, ascending=True) is not None
    assert gc.isenabled()
    gc.disable()
    try:
        assert columnar.load_with_pool(raw, ascending=True) is not None
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.parametrize("indent", [None, 2], ids=["compact", "indented"])
def test_the_command_line_writes_each_vector_whichever_path_reads_it(
    tmp_path: Any, capsysbinary: pytest.CaptureFixture[bytes], indent: int | None
) -> None:
    for vector in VECTORS:
        data = run_input(vector)
        data["candidates"] = list(reversed(data["candidates"]))
        separators = (",", ":") if indent is None else None
        raw = json.dumps(data, ensure_ascii=False, indent=indent, separators=separators)
        took_columns = columnar.load_with_pool(raw.encode("utf-8"), ascending=False) is not None
        assert took_columns == (indent is None)
        (tmp_path / "in.json").write_text(raw, encoding="utf-8")
        (tmp_path / "key").write_text(VECTOR_KEYS[vector["request"]["draw_id"]])
        code = main(["run", str(tmp_path / "in.json"), "--signing-key", str(tmp_path / "key")])
        assert (code, capsysbinary.readouterr().out) == (0, dumps(vector))
        (tmp_path / "t.json").write_bytes(dumps(vector))
        assert main(["verify", str(tmp_path / "t.json"), "--public-key", vector["public_key"]]) == 0
        assert capsysbinary.readouterr().out == b"OK\n"
