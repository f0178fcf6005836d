"""`expertpool users ...` as an operator runs it, against the test database (SQLite or
PostgreSQL).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from tests.integration.test_cli import _run

pytestmark = pytest.mark.integration

Cli = Callable[[list[str]], subprocess.CompletedProcess[str]]


@pytest.fixture()
def cli(app: Flask, tmp_path: Path) -> Cli:
    """Run `expertpool ...` on the test app's database and instance folder."""
    cfg = app.extensions["expertpool"].config
    app.extensions["expertpool"].sessions.remove()
    return lambda args: _run(
        args, tmp_path, DATABASE_URL=cfg.database_url, EXPERTPOOL_INSTANCE_PATH=cfg.instance_path
    )


def _ok(cli: Cli, *args: str) -> str:
    out = cli(list(args))
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def _refused(cli: Cli, *args: str) -> str:
    out = cli(list(args))
    assert out.returncode != 0, out.stdout
    assert "Traceback" not in out.stderr
    assert out.stderr.strip().count("\n") == 0, out.stderr
    return out.stderr


def test_users_commands_create_change_deactivate_and_list(cli: Cli, app: Flask) -> None:
    from expertpool.accounts import users

    _ok(
        cli,
        "users",
        "create",
        "zhang.san",
        "--name",
        "张三",
        "--role",
        "expert",
        "--password",
        "first-password-1",
    )
    assert "centre" in _refused(
        cli,
        "users",
        "create",
        "li.si",
        "--name",
        "李四",
        "--role",
        "centre_staff",
        "--password",
        "first-password-1",
    )
    _ok(cli, "users", "set-role", "zhang.san", "--role", "centre_staff", "--centre", "440300")
    _ok(cli, "users", "set-password", "zhang.san", "--password", "second-password-2")
    session = app.extensions["expertpool"].sessions()
    assert (
        users.authenticate(session, "zhang.san", "second-password-2").centre.region_code == "440300"
    )
    session.close()
    _ok(cli, "users", "deactivate", "zhang.san")
    listing = _ok(cli, "users", "list")
    assert [line.split() for line in listing.splitlines()] == [
        ["zhang.san", "centre_staff", "440300", "inactive"]
    ]
    assert "nobody" in _refused(cli, "users", "deactivate", "nobody")
    assert _ok(cli, "audit", "verify").startswith("OK")
