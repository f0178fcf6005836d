"""The draw's command line (`python -m draw run | verify | explain`) in a subprocess: it
reproduces and verifies the vectors, names a wrong key, explains in both languages and never
prints a traceback. The same code is tested in-process in tests/unit/draw/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from draw.cjson import dumps
from tests.unit.draw.conftest import REPO, VECTOR_KEYS, VECTORS, run_input

IDS = [v["request"]["draw_id"] for v in VECTORS]


def cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run `python -m draw` in a subprocess from the repository root."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "draw", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        input=stdin,
        timeout=60,
    )


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_the_command_line_reproduces_and_verifies_a_vector(vector: dict, tmp_path) -> None:
    draw_id = vector["request"]["draw_id"]
    (tmp_path / "in.json").write_text(
        json.dumps(run_input(vector), ensure_ascii=False, indent=1), "utf-8"
    )
    (tmp_path / "key").write_text(VECTOR_KEYS[draw_id] + "\n")
    done = cli("run", str(tmp_path / "in.json"), "--signing-key", str(tmp_path / "key"))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == vector
    assert done.stdout == dumps(vector)
    (tmp_path / "t.json").write_bytes(done.stdout)
    checked = cli("verify", str(tmp_path / "t.json"), "--public-key", vector["public_key"])
    assert checked.returncode == 0
    assert checked.stdout.decode().splitlines() == ["OK"]


def test_verify_without_a_key_says_the_signer_is_unauthenticated(tmp_path) -> None:
    (tmp_path / "t.json").write_text(json.dumps(VECTORS[0]), "utf-8")
    done = cli("verify", str(tmp_path / "t.json"))
    lines = done.stdout.decode().splitlines()
    assert done.returncode == 0
    assert lines[0] == "OK"
    assert "unauthenticated" in lines[1]


def test_verify_with_another_key_fails_and_names_the_signature_step(tmp_path) -> None:
    (tmp_path / "t.json").write_text(json.dumps(VECTORS[0]), "utf-8")
    done = cli("verify", str(tmp_path / "t.json"), "--public-key", VECTORS[1]["public_key"])
    assert done.returncode == 1
    assert done.stdout.decode().splitlines() == [
        "signature: public_key: is not the expected public key"
    ]


def test_explain_reports_a_vector_in_both_languages(tmp_path) -> None:
    (tmp_path / "t.json").write_text(json.dumps(VECTORS[1]), "utf-8")
    english = cli("explain", str(tmp_path / "t.json"), "--lang", "en")
    chinese = cli("explain", str(tmp_path / "t.json"), "--lang", "zh")
    assert english.returncode == 0 and chinese.returncode == 0
    assert "Verifies: yes" in english.stdout.decode()
    assert "验证结果：通过" in chinese.stdout.decode()
    for group in VECTORS[1]["result"]["groups"]:
        for expert in group["primaries"] + group["backups"]:
            assert expert in english.stdout.decode()


def test_the_real_command_line_never_prints_a_traceback(tmp_path) -> None:
    (tmp_path / "in.json").write_text('{"request": 1.5}')
    (tmp_path / "key").write_text(VECTOR_KEYS["D-basic"])
    done = cli("run", str(tmp_path / "in.json"), "--signing-key", str(tmp_path / "key"))
    assert done.returncode == 2
    assert b"Traceback" not in done.stderr
    assert done.stderr.decode().count("\n") == 1
