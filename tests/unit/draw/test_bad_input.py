"""Every kind of bad input gives a typed error in the library and one line plus an exit code in the
CLI.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from draw import (
    Commit,
    DrawRequest,
    InsufficientPool,
    InvalidInput,
    candidates_from_json,
    key_from_seed_hex,
    load_json,
    run_draw,
)
from draw.cli import main

from .conftest import TEST_KEY, VECTORS, make_candidate_json, run_input

BASE = run_input(VECTORS[1])  # the vector with a beacon


def library_run(data: dict[str, Any]) -> Any:
    """Run the library the way the CLI does, from a parsed input object."""
    return run_draw(
        DrawRequest.from_json(data["request"]),
        candidates_from_json(data["candidates"]),
        data["secret"],
        data["witnesses"],
        TEST_KEY,
        committed_at=data["committed_at"],
        beacon_round=data["beacon_round"],
        beacon=data["beacon"],
    )


def edit(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """A deep copy of the base input with one change."""
    data = copy.deepcopy(BASE)
    change(data)
    return data


BAD_INPUTS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "a float count": (
        lambda d: d["request"]["groups"][0].update(count=2.0),
        "request.groups[0].count",
    ),
    "a float cap": (
        lambda d: d["request"].update(max_recent_draws=3.5),
        "request.max_recent_draws",
    ),
    "a float in a candidate": (
        lambda d: d["candidates"][2].update(recent_draws=1.0),
        "candidates[2].recent_draws",
    ),
    "a float witness": (lambda d: d.update(witnesses=[123456.0]), "witnesses[0]"),
    "a missing request key": (lambda d: d["request"].pop("agency_orgs"), "request"),
    "an extra request key": (lambda d: d["request"].update(venue="x"), "request"),
    "a missing group key": (
        lambda d: d["request"]["groups"][0].pop("backups"),
        "request.groups[0]",
    ),
    "an extra candidate key": (lambda d: d["candidates"][0].update(phone="1"), "candidates[0]"),
    "a missing candidate key": (lambda d: d["candidates"][0].pop("region"), "candidates[0]"),
    "duplicate candidate ids": (
        lambda d: d["candidates"].append(dict(d["candidates"][0])),
        "candidates[60].id",
    ),
    "duplicate group ids": (
        lambda d: d["request"]["groups"][1].update(id=d["request"]["groups"][0]["id"]),
        "request.groups[1].id",
    ),
    "an id with a space": (lambda d: d["candidates"][0].update(id="E 1"), "candidates[0].id"),
    "an id starting with a dash": (lambda d: d["request"].update(draw_id="-D1"), "request.draw_id"),
    "an id of 65 characters": (
        lambda d: d["request"].update(bidder_orgs=["A" * 65]),
        "request.bidder_orgs[0]",
    ),
    "a non-ASCII id": (lambda d: d["candidates"][0].update(region="广州"), "candidates[0].region"),
    "an empty employer prefix list": (
        lambda d: d["request"]["groups"][0].update(specialties=[]),
        "request.groups[0].specialties",
    ),
    "count zero": (lambda d: d["request"]["groups"][0].update(count=0), "request.groups[0].count"),
    "negative backups": (
        lambda d: d["request"]["groups"][0].update(backups=-1),
        "request.groups[0].backups",
    ),
    "a boolean count": (
        lambda d: d["request"]["groups"][0].update(count=True),
        "request.groups[0].count",
    ),
    "a huge integer": (
        lambda d: d["candidates"][0].update(recent_draws=2**53),
        "candidates[0].recent_draws",
    ),
    "an impossible date": (
        lambda d: d["request"].update(evaluation_date="2026-02-30"),
        "request.evaluation_date",
    ),
    "a short witness": (lambda d: d.update(witnesses=["12345"]), "witnesses[0]"),
    "a long witness": (lambda d: d.update(witnesses=["1" * 65]), "witnesses[0]"),
    "a witness with a letter": (lambda d: d.update(witnesses=["12345a"]), "witnesses[0]"),
    "a witness with full-width digits": (
        lambda d: d.update(witnesses=["１２３４５６"]),
        "witnesses[0]",
    ),
    "no witness": (lambda d: d.update(witnesses=[]), "witnesses"),
    "a beacon without a committed round": (lambda d: d.update(beacon_round=None), "beacon"),
    "a committed round without its beacon": (lambda d: d.update(beacon=None), "beacon"),
    "a secret too short": (lambda d: d.update(secret=d["secret"][:-1]), "secret"),
    "a secret in upper case": (lambda d: d.update(secret=d["secret"].upper()), "secret"),
    "a committed_at without Z": (
        lambda d: d.update(committed_at=d["committed_at"][:-1]),
        "committed_at",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_the_library_refuses_bad_input_with_a_typed_error_naming_the_field(name: str) -> None:
    change, field = BAD_INPUTS[name]
    data = edit(change)
    with pytest.raises(InvalidInput) as caught:
        library_run(data)
    assert caught.value.code == "invalid_input"
    assert caught.value.field == field


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_the_command_line_refuses_bad_input_with_one_line_and_exit_2(
    name: str, tmp_path, capsys
) -> None:
    change, _ = BAD_INPUTS[name]
    (tmp_path / "in.json").write_text(json.dumps(edit(change), ensure_ascii=False), "utf-8")
    (tmp_path / "key").write_text("11" * 32)
    code = main(["run", str(tmp_path / "in.json"), "--signing-key", str(tmp_path / "key")])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("invalid_input: ")


def run_cli_with(tmp_path, capsys, text: str | bytes, key: str = "11" * 32) -> tuple[int, str]:
    """Run `run` in-process on raw input text; return the exit code and stderr."""
    path = tmp_path / "in.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    (tmp_path / "key").write_text(key)
    code = main(["run", str(path), "--signing-key", str(tmp_path / "key")])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    "text",
    [
        '{"request": ',
        "[1, 2]",
        json.dumps(BASE)[:-1] + ', "secret": "' + BASE["secret"] + '"}',
        json.dumps({k: v for k, v in BASE.items() if k != "beacon"}),
        json.dumps({**BASE, "version": "draw-v1"}),
        b"\xff\xfe{}",
        "NaN",
    ],
    ids=[
        "truncated",
        "not an object",
        "duplicate key",
        "missing key",
        "extra key",
        "not UTF-8",
        "NaN",
    ],
)
def test_malformed_run_input_exits_2_with_one_line(text, tmp_path, capsys) -> None:
    code, err = run_cli_with(tmp_path, capsys, text)
    assert code == 2
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "key", ["11" * 31, "11" * 33, "zz" * 32, ""], ids=["short", "long", "not hex", "empty"]
)
def test_a_key_file_of_the_wrong_length_is_refused(key, tmp_path, capsys) -> None:
    code, err = run_cli_with(tmp_path, capsys, json.dumps(BASE), key)
    assert code == 2
    assert "signing key" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(InvalidInput):
        key_from_seed_hex(key)


def test_a_missing_file_exits_2_without_a_traceback(tmp_path, capsys) -> None:
    code = main(["verify", str(tmp_path / "absent.json")])
    err = capsys.readouterr().err
    assert code == 2
    assert "cannot read" in err and "Traceback" not in err


def test_verify_exits_2_on_duplicate_keys_and_non_objects(tmp_path, capsys) -> None:
    text = json.dumps(VECTORS[0])
    (tmp_path / "dup.json").write_text(text[:-1] + ', "version": "draw-v1"}')
    (tmp_path / "list.json").write_text("[" + text + "]")
    assert main(["verify", str(tmp_path / "dup.json")]) == 2
    assert main(["verify", str(tmp_path / "list.json")]) == 2
    assert main(["verify", str(tmp_path / "list.json"), "--public-key", "not base64"]) == 2


def test_verify_of_another_version_exits_1_naming_the_form_step(tmp_path, capsys) -> None:
    (tmp_path / "t.json").write_text(json.dumps({**VECTORS[0], "version": "draw-v2"}))
    assert main(["verify", str(tmp_path / "t.json")]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert "form: version: must be 'draw-v1', got 'draw-v2'" in lines


def test_the_library_refuses_another_commit_version() -> None:
    with pytest.raises(InvalidInput) as caught:
        Commit.from_json({**VECTORS[0]["commit"], "version": "draw-v2"})
    assert caught.value.field == "commit.version"


def test_duplicate_json_keys_are_refused_by_the_loader() -> None:
    with pytest.raises(InvalidInput, match="duplicate object key 'a'"):
        load_json('{"a": 1, "b": {"a": 2}, "a": 3}')


def test_an_insufficient_pool_names_the_group_the_need_and_the_eligible_count(
    tmp_path, capsys
) -> None:
    data = edit(lambda d: d["request"]["groups"][0].update(count=500))
    with pytest.raises(InsufficientPool) as caught:
        library_run(data)
    group = data["request"]["groups"][0]["id"]
    assert (caught.value.group, caught.value.needed) == (group, 500)
    assert caught.value.eligible == VECTORS[1]["commit"]["eligible"][0]["count"]
    code, err = run_cli_with(tmp_path, capsys, json.dumps(data))
    assert code == 3
    assert err.startswith(f"insufficient_pool: group {group} needs 500")


def test_an_insufficient_total_is_reported_as_total(make_request, make_candidate) -> None:
    pool = [
        make_candidate(id="E1", specialties=["A1"]),
        make_candidate(id="E2", specialties=["A1"]),
    ]
    request = make_request(groups=[{"id": "a", "count": 2}, {"id": "b", "count": 1}])
    with pytest.raises(InsufficientPool) as caught:
        run_draw(
            request, pool, "00" * 32, ["123456"], TEST_KEY, committed_at="2026-11-28T09:00:00Z"
        )
    assert (caught.value.scope, caught.value.needed, caught.value.eligible) == ("total", 3, 2)


def test_an_infeasible_draw_exits_4_with_one_line(tmp_path, capsys) -> None:
    data = edit(lambda d: d["request"].update(distinct_employers=True))
    for candidate in data["candidates"]:
        candidate["employer"] = "ORG-SAME"
    code, err = run_cli_with(tmp_path, capsys, json.dumps(data))
    assert code == 4
    assert err.startswith("infeasible: ") and len(err.strip().splitlines()) == 1


def test_a_lone_surrogate_in_free_text_is_refused() -> None:
    with pytest.raises(InvalidInput):
        DrawRequest.from_json({**BASE["request"], "project_code": "GD\ud800"})
    with pytest.raises(InvalidInput):
        candidates_from_json([make_candidate_json(status="\udfff")])
