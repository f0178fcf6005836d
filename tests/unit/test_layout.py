"""Settings are documented and read from the environment (import boundaries:
tests/unit/foundation/test_import_graph.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from expertpool.core.config import Config, ConfigError

ROOT = Path(__file__).resolve().parents[2]


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
