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


def _security_admin(tmp_path: Path, username: str, role: str = "security_admin") -> None:
    assert _run(["db", "upgrade"], tmp_path).returncode == 0
    made = _run(
        [
            "users",
            "create",
            username,
            "--name",
            "安全管理员",
            "--role",
            role,
            "--password",
            "a-long-password-1",
        ],
        tmp_path,
    )
    assert made.returncode == 0, made.stderr


def test_rotation_keeps_the_old_public_key_published(tmp_path: Path) -> None:
    assert _run(["keys", "init"], tmp_path).returncode == 0
    _security_admin(tmp_path, "sec")
    first = _run(["keys", "public"], tmp_path).stdout.split()
    assert first[0] == "d1" and first[2] == "current" and len(first) == 3
    assert "d2" in _run(["keys", "rotate-draw", "--by", "sec"], tmp_path).stdout
    lines = sorted(_run(["keys", "public"], tmp_path).stdout.splitlines())
    assert lines[0] == f"d1 {first[1]} retired"
    assert lines[1].startswith("d2 ") and lines[1].endswith(" current")


def test_keys_public_without_keys_is_one_line(tmp_path: Path) -> None:
    out = _run(["keys", "public"], tmp_path)
    assert out.returncode == 2 and "keys init" in out.stderr and "Traceback" not in out.stderr


def test_only_a_security_administrator_rotates_keys_and_is_named_for_it(tmp_path: Path) -> None:
    assert _run(["keys", "init"], tmp_path).returncode == 0
    _security_admin(tmp_path, "sysadmin", role="admin")
    for args in (["keys", "rotate-draw", "--by", "sysadmin"], ["keys", "rotate", "--by", "x"]):
        refused = _run(args, tmp_path)
        assert refused.returncode != 0 and "Traceback" not in refused.stderr
        assert "security administrator" in refused.stderr
    assert _run(["keys", "public"], tmp_path).stdout.split()[0] == "d1"
    _security_admin(tmp_path, "sec")
    assert _run(["keys", "rotate", "--by", "sec"], tmp_path).returncode == 0
    assert _run(["keys", "rotate-draw", "--by", "sec"], tmp_path).returncode == 0
    trail = _run(["audit", "verify"], tmp_path)
    assert trail.returncode == 0, trail.stdout + trail.stderr
