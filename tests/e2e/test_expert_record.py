"""The expert's record in a real browser: a host's rating form (a low mark refused without a
comment), the supervisor's posting after the close, the expert's objection, and the archive."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from expertpool.core.db import utcnow
from tests.conftest import PASSWORD
from tests.integration.fees.conftest import DAY, ClosedSession
from tests.integration.fees.conftest import example as example  # the fixture
from tests.integration.record.conftest import covered

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.fixture()
def after_the_room(app: Flask) -> Iterator[None]:
    """The server's clock just after the room's close (the rating window is open)."""
    app.extensions["expertpool"].clock = lambda: DAY + timedelta(hours=7)
    yield
    app.extensions["expertpool"].clock = utcnow


def _log_in(page: Any, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button.primary[type=submit]")
    page.wait_for_url("**/dashboard")


def test_a_host_rates_the_expert_objects_and_reads_their_archive(
    app: Flask, live_server: Any, browser: Any, example: ClosedSession, after_the_room: None
) -> None:
    covered(app)
    app.extensions["expertpool"].sessions.remove()
    base = live_server.url
    page = browser.new_context(locale="zh-CN").new_page()
    _log_in(page, base, example.people["h_gz"].username)
    page.goto(base + "/record/sessions")
    page.click("[data-testid=assessment-sessions] a")
    form = page.locator("[data-testid='rate-专家1']")
    for name, mark in (
        ("punctuality", "1"),
        ("competence", "2"),
        ("fairness", "3"),
        ("discipline", "2"),
    ):
        form.locator(f"select[name={name}]").select_option(mark)
    form.locator("button[type=submit]").click()
    assert page.locator("[data-testid='rate-专家1'] [data-field-error=comment]").is_visible()
    form = page.locator("[data-testid='rate-专家1']")
    for name, mark in (
        ("punctuality", "1"),
        ("competence", "2"),
        ("fairness", "3"),
        ("discipline", "2"),
    ):
        form.locator(f"select[name={name}]").select_option(mark)
    form.locator("input[name=comment]").fill("迟到四十分钟，未说明原因")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=评价已保存")
    assert "迟到四十分钟" in page.inner_text("[data-testid=ratings]")
    assert "签到迟到" in page.inner_text("[data-testid=facts]")  # the remote member, by alias

    example.close()
    _log_in(page, base, example.people["sup"].username)
    page.goto(base + "/record/sessions")
    page.click("[data-testid=assessment-sessions] a")
    page.click("[data-testid=post-now]")
    page.wait_for_selector("[data-testid=posted]")

    _log_in(page, base, example.people["A"].username)
    page.goto(base + "/record/mine")
    assert "迟到四十分钟" in page.inner_text("[data-testid=my-ratings]")
    assert "rating_poor" in page.inner_text("[data-testid=my-credit]")  # average 2
    objection = page.locator("form[data-testid^=object-]")
    objection.locator("textarea[name=text]").fill("当天地铁停运，已提前电话告知主持人")
    objection.locator("button[type=submit]").click()
    page.wait_for_selector("[data-testid^=objection-]")
    assert "待处理" in page.inner_text("[data-testid^=objection-]")
    assert page.locator("form[data-testid^=object-]").count() == 0  # once only

    page.click("[data-testid=my-archive]")
    page.wait_for_selector("[data-testid=archive-ratings]")
    assert "迟到四十分钟" in page.inner_text("[data-testid=archive-ratings]")
    assert "当天地铁停运" in page.inner_text("[data-testid=archive-objections]")
    assert example.room_id in page.inner_text("[data-testid=archive-sessions]")
    with page.expect_download() as download:
        page.click("[data-testid=archive-pdf]")
    assert download.value.suggested_filename.startswith("archive-")
