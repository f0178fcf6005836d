"""Browser-test fixtures: an app of their own behind a live server, and logged-in pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.conftest import LiveServer, build_app, login_client, make_test_config


@pytest.fixture(scope="module")
def e2e_app(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, _app: Flask
) -> Iterator[Flask]:
    """An app of its own on the test database (no Socket.IO test client has touched its
    server), for a live server that browsers and python-socketio clients talk to."""
    # Every process of a deployment shares the key files (personal data is encrypted with them).
    app = build_app(
        make_test_config(
            tmp_path_factory.mktemp("e2e"),
            database_url,
            key_dir=str(_app.extensions["expertpool"].config.keys_path),
        )
    )
    yield app
    app.extensions["expertpool"].engine.dispose()


def browser_for(
    browser: Any, server: LiveServer, app: Flask, user: Any, errors: list[str] | None = None
) -> Any:
    """A page in its own browser context, logged in as ``user``; uncaught page errors are
    appended to ``errors``."""
    cookie = login_client(app.test_client(), user).get_cookie("session")
    assert cookie is not None
    context = browser.new_context(locale="zh-CN", viewport={"width": 1300, "height": 1000})
    context.set_default_timeout(15_000)
    context.add_cookies([{"name": "session", "value": cookie.value, "url": server.url}])
    page = context.new_page()
    if errors is not None:
        page.on("pageerror", lambda e: errors.append(str(e)))
    return page


def enter_bidders(
    page: Any,
    base: str,
    room_id: str,
    bids: list[tuple[str, str, str]],
    checks: dict[tuple[int, str], str] | None = None,
) -> None:
    """As the main host, enter the bidders as rows on the session's bidders page (code, name,
    price; ``checks`` sets a purchaser's qualification check of a row to pass or fail), save, and
    wait until the room page is back and connected."""
    settle(page)
    page.goto(f"{base}/rooms/{room_id}/bidders")
    for n, (code, name, price) in enumerate(bids):
        if page.locator("[data-testid=bidder-row]").count() <= n:
            page.click("[data-testid=add-bidder]")
        page.fill(f"input[name=bidders-{n}-code]", code)
        page.fill(f"input[name=bidders-{n}-name]", name)
        page.fill(f"input[name=bidders-{n}-price]", price)
    for (n, item_id), value in (checks or {}).items():
        page.select_option(f"select[name=bidders-{n}-check-{item_id}]", value)
    with page.expect_navigation():
        page.click("[data-testid=save-bidders]")
    page.wait_for_selector("[data-testid=conn][data-state=connected]")
    page.wait_for_function(
        f"document.querySelectorAll('[data-testid=bids] tr[data-bidder]').length === {len(bids)}"
    )


def settle(page: Any) -> None:
    """On a room page, wait until its join was acknowledged (the first snapshot is shown), so
    that leaving the page does not cut a join the server is still answering."""
    page.wait_for_function(
        "!document.querySelector('[data-testid=seq]')"
        " || document.querySelector('[data-testid=seq]').textContent !== ''"
    )
