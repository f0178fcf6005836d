"""A draw at a registered terminal in a real browser: the operator and a supervisor, each in their
own context.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from expertpool.core.db import utcnow
from tests.conftest import PASSWORD
from tests.integration.draws.conftest import add_experts, expert_name, expert_phone, make_setup

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

POOL = 12


@dataclass(frozen=True)
class Scene:
    """What the browsers need: the project, the terminal credential and the two people's
    usernames.
    """

    project_id: int
    terminal_token: str
    operator: str
    supervisor: str
    expert_ids: tuple[int, ...]


@pytest.fixture()
def scene(app: Flask, make_user: Callable[..., Any]) -> Any:
    """A ready project with a pool of experts, a venue, a registered terminal, an operator and a
    supervisor.
    """
    s = make_setup(app, make_user)
    ids = add_experts(app, POOL)
    yield Scene(
        project_id=s.project_id,
        terminal_token=s.terminal_token,
        operator=s.operator.username,
        supervisor=s.supervisor.username,
        expert_ids=tuple(ids),
    )
    app.extensions["expertpool"].clock = utcnow


def _log_in(page: Any, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button.primary[type=submit]")
    page.wait_for_url("**/dashboard")


def _no_drawn_identity(html: str, scene: Scene) -> None:
    for n in range(1, POOL + 1):
        assert expert_name(n) not in html and expert_phone(n) not in html
    for expert_id in scene.expert_ids:
        assert f"/experts/{expert_id}" not in html


def test_operator_and_supervisor_draw_a_sealed_panel_at_the_terminal_and_see_no_names(
    browser: Any, live_server: Any, scene: Scene
) -> None:
    base = live_server.url
    contexts = [
        browser.new_context(locale="zh-CN", viewport={"width": 1200, "height": 900})
        for _ in range(2)
    ]
    try:
        for context in contexts:
            context.set_default_timeout(15_000)
        operator, supervisor = (context.new_page() for context in contexts)
        _log_in(operator, base, scene.operator)
        _log_in(supervisor, base, scene.supervisor)

        # The operator's browser becomes the registered terminal.
        operator.goto(base + "/terminal")
        operator.fill("input[name=token]", scene.terminal_token)
        operator.click("main button.primary[type=submit]")
        operator.wait_for_selector('[data-testid="terminal-current"]')

        # The request, the preview (numbers only) and prepare.
        operator.goto(f"{base}/projects/{scene.project_id}")
        operator.click('[data-testid="draw-request"]')
        operator.fill("input[name=group0_specialties]", "A01")
        operator.fill("input[name=group0_count]", "5")
        operator.fill("input[name=group0_backups]", "3")
        operator.click('[data-testid="draw-request-form"] button[type=submit]')
        operator.wait_for_selector('[data-testid="request-status"]')
        operator.click('[data-testid="preview-link"]')
        assert operator.locator('[data-testid="eligible-g1"]').inner_text() == str(POOL)
        operator.click('[data-testid="prepare"]')
        operator.wait_for_url(re.compile(r".*/draws/D[^/]+$"))
        draw_url = operator.url
        digest = operator.locator('[data-testid="commit-digest"]').inner_text().strip()
        assert re.fullmatch(r"[0-9a-f]{64}", digest)
        assert operator.locator('[data-testid="draw-status"]').inner_text() == "committed"

        # The supervisor, in their own browser, sees the same fingerprint before any digits are
        # entered.
        supervisor.goto(base + "/draws")
        supervisor.locator("main table a", has_text="D").first.click()
        assert supervisor.url == draw_url
        assert supervisor.locator('[data-testid="commit-digest"]').inner_text().strip() == digest
        assert supervisor.locator('[data-testid="operator-form"]').count() == 0  # not a terminal

        # The operator's digits, then the supervisor authenticates at the terminal with their own
        # digits.
        operator.fill('[data-testid="operator-form"] input[name=digits]', "31415926")
        operator.click('[data-testid="operator-form"] button[type=submit]')
        operator.wait_for_selector('[data-testid="operator-form"]', state="detached")
        form = operator.locator('[data-testid="supervisor-form"]')
        form.locator("select[name=username]").select_option(scene.supervisor)
        form.locator("input[name=password]").fill(PASSWORD)
        form.locator("input[name=digits]").fill("27182818")
        form.locator("button[type=submit]").click()
        operator.wait_for_selector('[data-testid="supervisor-form"]', state="detached")
        assert operator.locator('[data-testid="witness-progress"]').inner_text().count("✓") == 2

        operator.click('[data-testid="run"]')
        operator.wait_for_selector('[data-testid="sealed-record"]')
        assert operator.locator('[data-testid="draw-status"]').inner_text() == "sealed"
        sealed = operator.locator('[data-testid="sealed-record"]').inner_text()
        assert '"result_digest"' in sealed
        assert "31415926" in sealed and "27182818" in sealed  # the witnesses are part of the record
        assert "0/5" in operator.locator('[data-testid="progress"]').inner_text()
        _no_drawn_identity(operator.content(), scene)

        supervisor.reload()
        assert supervisor.locator('[data-testid="draw-status"]').inner_text() == "sealed"
        assert supervisor.locator('[data-testid="sealed-record"]').inner_text() == sealed
        _no_drawn_identity(supervisor.content(), scene)
        assert supervisor.goto(draw_url + "/panel").status == 403
    finally:
        for context in contexts:
            context.close()
