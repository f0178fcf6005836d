"""A bounded fuzz of every page and form: Hypothesis sends hostile values (control characters,
lone surrogates, huge and non-finite numbers, long text) in the query and in every form field the
templates name, as each role, to every route; any 500 fails (under testing it propagates).

It runs once, on PostgreSQL (the stricter database), as the API's contract tests do for
`/api/v1`; on SQLite it is skipped.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import login_client

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EXAMPLES = int(  # per route
    os.environ.get("EXPERTPOOL_PAGE_FUZZ_EXAMPLES", "8")
)
ROLES = ("admin", "centre_staff", "reviewer", "supervisor", "expert", None)
SKIPPED = ("/static/", "/rooms/static/", "/logout", "/lang/")
TEMPLATES = Path(__file__).parents[3] / "expertpool"
COMMON_FIELDS = {"page", "per_page", "next", "q", "action"}


def _field_names(folder: Path) -> set[str]:
    names: set[str] = set()
    for path in folder.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        names.update(re.findall(r'name="([a-z][a-z0-9_-]*)"', text))
    names.discard("csrf_token")
    return names


FIELDS = sorted(_field_names(TEMPLATES) | COMMON_FIELDS)

hostile_text = st.one_of(
    st.sampled_from(
        [
            "\x00",
            "a\x00b",
            "\ud800",
            "\x1b[31m",
            str(2**63),
            str(-(2**63) - 1),
            "9" * 40,
            "1e308",
            "1e999",
            "NaN",
            "-Infinity",
            "0",
            "-1",
            "abc",
            "'; DROP TABLE users; --",
            "2026-02-30",
            "x" * 12_000,
        ]
    ),
    st.text(max_size=40),
)
# Values a view accepts often enough to run past its parsing (else nearly every case would stop
# at the edge check): numbers, dates, codes, choices and plain text.
plain_text = st.one_of(
    st.sampled_from(["1", "2", "100", "2026-01-05", "2030-06-03T09:00", "on", "440100", "A01"]),
    st.sampled_from(["save", "submit", "approve", "reject", "reveal", "status", "works", "zh"]),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=20),
)
ids = st.one_of(st.sampled_from(["1", "2", "2147483647", "2147483648", str(2**63)]))


def _routes(app: Flask) -> list[tuple[str, str, tuple[str, ...]]]:
    """Every page route and method, with the form fields its feature's templates name."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api/", "/webhooks/")) or rule.rule.startswith(SKIPPED):
            continue
        blueprint = app.blueprints.get(rule.endpoint.split(".")[0])
        folder = Path(blueprint.root_path) if blueprint else TEMPLATES
        fields = tuple(sorted((_field_names(folder) | COMMON_FIELDS) or FIELDS))
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            out.append((rule.rule, method, fields))
    return sorted(out)


def _fill(rule: str, draw_id: Callable[[], str]) -> str:
    def sub(match: re.Match[str]) -> str:
        return draw_id() if match.group(1) == "int" else "D-1"

    return re.sub(r"<(?:(\w+):)?\w+>", sub, rule)


def _admitting_roles(
    app: Flask, people: dict[Any, Any], routes: list[tuple[str, str]]
) -> dict[str, list[str | None]]:
    """For each route, the roles whose plain GET is not refused (401/403)."""
    out: dict[str, list[str | None]] = {}
    for rule, _method, _fields in routes:
        if rule in out:
            continue
        out[rule] = []
        for role in ROLES:
            client = app.test_client()
            if role:
                login_client(client, people[role])
            status = client.get(_fill(rule, lambda: "1")).status_code
            app.extensions["expertpool"].sessions.remove()
            if status not in (401, 403):
                out[rule].append(role)
    return out


@pytest.fixture()
def fuzz_app(app: Flask, make_user: Callable[..., Any]) -> Iterator[tuple[Flask, dict[Any, Any]]]:
    """The app without CSRF (else every form would stop there), and a user of each role."""
    if app.extensions["expertpool"].engine.dialect.name != "postgresql":
        pytest.skip("the page fuzz runs once, on PostgreSQL")
    people = {role: make_user(role) for role in ROLES if role}
    app.config["WTF_CSRF_ENABLED"] = False
    try:
        yield app, people
    finally:
        app.config["WTF_CSRF_ENABLED"] = True


def test_no_page_or_form_answers_a_server_error(
    fuzz_app: tuple[Flask, dict[Any, Any]],
) -> None:
    app, people = fuzz_app
    routes = _routes(app)
    session_factory = app.extensions["expertpool"].sessions
    reachable = _admitting_roles(app, people, routes)

    def probe(route: tuple[str, str, tuple[str, ...]], data: Any) -> None:
        rule, method, fields = route
        values = data.draw(st.dictionaries(st.sampled_from(fields), plain_text, max_size=8))
        values.update(data.draw(st.dictionaries(st.sampled_from(fields), hostile_text, max_size=4)))
        path = _fill(rule, lambda: data.draw(ids))
        # Mostly a role the route admits, so that the case reaches the view.
        roles = reachable[rule] if data.draw(st.integers(0, 3)) and reachable[rule] else ROLES
        role = data.draw(st.sampled_from(roles))
        client = app.test_client()
        if role:
            login_client(client, people[role])
        # Sent as bytes: a lone surrogate reaches the server as the invalid UTF-8 a client sends.
        encoded = urlencode({k: v.encode("utf-8", "surrogatepass") for k, v in values.items()})
        if method == "GET":
            answer = client.get(f"{path}?{encoded}")
        else:
            answer = client.post(
                path, data=encoded, content_type="application/x-www-form-urlencoded"
            )
        session_factory.remove()
        assert answer.status_code < 500, (method, path, role, values)

    # Every route gets its own examples (a draw over all routes at once left most untried).
    for route in routes:
        run = settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        )(given(route=st.just(route), data=st.data())(probe))
        run()
