"""The `expertpool` command as an operator runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def _run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    full_env.update({"EXPERTPOOL_INSTANCE_PATH": str(tmp_path / "instance"), **env})
    return subprocess.run(
        [sys.executable, "-m", "expertpool.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        check=False,
    )


def test_help_lists_the_command_groups(tmp_path: Path) -> None:
    out = _run(["--help"], tmp_path)
    assert out.returncode == 0
    for name in ("db", "reference", "rules", "demo", "audit", "users", "keys", "quickstart"):
        assert f"  {name} " in out.stdout


def test_the_migration_stores_the_bundled_rules_and_rules_versions_lists_them(
    tmp_path: Path,
) -> None:
    assert _run(["db", "upgrade"], tmp_path).returncode == 0
    out = _run(["rules", "versions"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("1\t2026-01-01\tfile:rules-v1.json")
    assert "(in force)" in out.stdout
    again = _run(["rules", "load"], tmp_path)
    assert again.stdout.strip() == "rule versions stored: 1"


def test_a_malformed_database_url_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    out = _run(["db", "upgrade"], tmp_path, DATABASE_URL="postgres//nonsense")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert out.stderr.strip().count("\n") == 0
    assert "DATABASE_URL" in out.stderr


def test_demo_is_idempotent_and_prints_every_role_login(tmp_path: Path) -> None:
    first = _run(["demo", "--experts", "0"], tmp_path)
    assert first.returncode == 0, first.stderr
    assert "a year of closed draws: 240 closed projects over twelve months" in first.stdout
    second = _run(["demo", "--experts", "0"], tmp_path)
    assert second.returncode == 0, second.stderr
    assert "a year of closed draws: already present" in second.stdout
    for role in (
        "admin",
        "security_admin",
        "audit_admin",
        "reviewer",
        "centre_staff",
        "supervisor",
        "org_contact",
        "expert",
    ):
        assert f"  {role} " in second.stdout
    # The first run loads the reference data and shows each defect it reports, not a count.
    assert "defects reported (rows left out or flagged):" in first.stdout
    assert "  - duplicate_code: A040405" in first.stdout
    assert "open /terminal and enter the centre's credential" in first.stdout
    listing = _run(["users", "list"], tmp_path)
    # The twelve demo logins plus the evaluation room's demo committee (expert.gz2, expert.gz3,
    # expert.sz1, rep.sz), the recommended nominee (nominee.demo) and, made by the second run's
    # experts step like every record without one, the accounts of the batch in publicity (3).
    assert listing.stdout.count("\n") == 12 + 4 + 1 + 3
    verify = _run(["audit", "verify"], tmp_path)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_reference_load_reports_the_known_defects_with_their_rows(tmp_path: Path) -> None:
    assert _run(["db", "upgrade"], tmp_path).returncode == 0
    assert _run(["keys", "init"], tmp_path).returncode == 0
    out = _run(["reference", "load"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "duplicate_code: A040405" in out.stdout
    assert "duplicate_code: B011305" in out.stdout
    assert "code_not_extending_parent: B011305" in out.stdout
    assert "code_not_extending_parent: A040405" in out.stdout


def test_quickstart_links_follow_its_host_and_port_unless_the_setting_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from expertpool.cli import quickstart_config
    from expertpool.core.config import Config

    monkeypatch.delenv("EXPERTPOOL_PUBLIC_BASE_URL", raising=False)
    base = Config(public_base_url="http://127.0.0.1:5000")
    assert quickstart_config(base, "127.0.0.1", 8080).public_base_url == "http://127.0.0.1:8080"
    assert quickstart_config(base, "0.0.0.0", 5001).public_base_url == "http://127.0.0.1:5001"
    assert quickstart_config(base, "::1", 5002).public_base_url == "http://[::1]:5002"
    monkeypatch.setenv("EXPERTPOOL_PUBLIC_BASE_URL", "https://pool.example.cn")
    given = Config(public_base_url="https://pool.example.cn")
    assert quickstart_config(given, "0.0.0.0", 8080).public_base_url == "https://pool.example.cn"
