"""The repository keeps its shape: dependency directions, documented settings."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from expertpool.core.config import Config, ConfigError

ROOT = Path(__file__).resolve().parents[2]


def _imports(package: str) -> set[str]:
    found: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", ["draw", "notify", "evaluation_room"])
def test_inner_packages_never_import_the_application(package: str) -> None:
    assert "expertpool" not in _imports(package)


def test_draw_imports_none_of_the_other_packages() -> None:
    assert (
        _imports("draw")
        & {"notify", "evaluation_room", "expertpool", "flask", "sqlalchemy", "random"}
        == set()
    )


def test_only_notify_imports_twilio() -> None:
    for package in ("draw", "evaluation_room", "expertpool"):
        assert "twilio" not in _imports(package), package


def test_evaluation_room_model_does_not_import_flask_or_sqlalchemy_outside_its_handlers() -> None:
    for path in (ROOT / "evaluation_room").rglob("*.py"):
        if path.name in {"handlers.py", "__init__.py"}:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {
            a.name.split(".")[0]
            for n in ast.walk(tree)
            if isinstance(n, ast.Import)
            for a in n.names
        }
        names |= {
            n.module.split(".")[0]
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and n.module and n.level == 0
        }
        assert names & {"flask", "flask_socketio", "sqlalchemy", "twilio"} == set(), path.name


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    undocumented = [name for name in Config.setting_names() if f"`{name}`" not in readme]
    assert undocumented == []


def test_settings_are_read_from_the_environment() -> None:
    config = Config.from_env(
        {
            "EXPERTPOOL_AGE_CAP": "65",
            "EXPERTPOOL_DROP_EXTREMES": "yes",
            "DATABASE_URL": "sqlite:///x.db",
        }
    )
    assert (config.age_cap, config.drop_extremes, config.database_url) == (
        65,
        True,
        "sqlite:///x.db",
    )


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql://root@localhost/x"}, "not supported"),
        ({"EXPERTPOOL_AGE_CAP": "seventy"}, "EXPERTPOOL_AGE_CAP"),
        ({"EXPERTPOOL_DROP_EXTREMES": "maybe"}, "EXPERTPOOL_DROP_EXTREMES"),
        ({"EXPERTPOOL_NOTIFIER": "twilio"}, "TWILIO_ACCOUNT_SID"),
    ],
)
def test_bad_settings_raise_a_config_error_naming_the_setting(
    env: dict[str, str], fragment: str
) -> None:
    with pytest.raises(ConfigError, match=fragment):
        Config.from_env(env)
