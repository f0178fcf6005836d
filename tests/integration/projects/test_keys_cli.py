"""`expertpool keys public` and `expertpool keys rotate-draw` as an operator runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def _run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["EXPERTPOOL_INSTANCE_PATH"] = str(tmp_path / "instance")
    return subprocess.run(
        [sys.executable, "-m", "expertpool.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_rotation_keeps_the_old_public_key_published(tmp_path: Path) -> None:
    assert _run(["keys", "init"], tmp_path).returncode == 0
    first = _run(["keys", "public"], tmp_path).stdout.split()
    assert first[0] == "d1" and first[2] == "current" and len(first) == 3
    assert "d2" in _run(["keys", "rotate-draw"], tmp_path).stdout
    lines = sorted(_run(["keys", "public"], tmp_path).stdout.splitlines())
    assert lines[0] == f"d1 {first[1]} retired"
    assert lines[1].startswith("d2 ") and lines[1].endswith(" current")


def test_keys_public_without_keys_is_one_line(tmp_path: Path) -> None:
    out = _run(["keys", "public"], tmp_path)
    assert out.returncode == 2 and "keys init" in out.stderr and "Traceback" not in out.stderr
