"""Settings refuse malformed values in one line; `next` targets stay on this site."""

from __future__ import annotations

import pytest

from expertpool.accounts.pages import is_local_path
from expertpool.core.config import Config, ConfigError


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"DATABASE_URL": "postgres//nonsense"}, "DATABASE_URL is malformed"),
        ({"DATABASE_URL": "mysql://u@h/db"}, "scheme 'mysql' is not supported"),
        ({"EXPERTPOOL_TESTING": "maybe"}, "EXPERTPOOL_TESTING must be a bool"),
        (
            {"EXPERTPOOL_API_TOKEN_TTL_HOURS": "twelve"},
            "EXPERTPOOL_API_TOKEN_TTL_HOURS must be a int",
        ),
    ],
)
def test_a_malformed_setting_is_one_line_naming_it(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        Config.from_env(env)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_well_formed_settings_are_read() -> None:
    cfg = Config.from_env(
        {
            "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/x",
            "EXPERTPOOL_SESSION_COOKIE_SECURE": "yes",
            "EXPERTPOOL_API_TOKEN_TTL_HOURS": "2",
        }
    )
    assert (cfg.session_cookie_secure, cfg.api_token_ttl_hours, cfg.is_sqlite) == (True, 2, False)


@pytest.mark.parametrize(
    "target", ["/dashboard", "/specialties?parent=A", "/centres/440100#staff", "/%0a"]
)  # an escaped newline is just text in a path
def test_local_paths_are_accepted(target: str) -> None:
    assert is_local_path(target)


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "dashboard",
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "\\/evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
    ],
)
def test_anything_that_could_leave_the_site_is_refused(target: str | None) -> None:
    assert not is_local_path(target)
