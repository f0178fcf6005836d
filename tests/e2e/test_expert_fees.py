"""An expert's fees in a real browser: nothing before the close; after it, the session's fee with
tax and net, the bank account saved and shown masked, and the yearly summary to print."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from expertpool.fees import statements
from expertpool.rooms.sessions import get_session
from tests.conftest import PASSWORD
from tests.integration.fees.conftest import ClosedSession
from tests.integration.fees.conftest import example as example  # the fixture

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def _log_in(page: Any, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button.primary[type=submit]")
    page.wait_for_url("**/dashboard")


def _close_and_settle(app: Flask, example: ClosedSession) -> None:
    example.close()
    st = app.extensions["expertpool"]
    session = st.sessions()
    statements.make_statement(
        session, get_session(session, example.room_id), st.keys, actor="test", now=None
    )
    st.sessions.remove()


def test_an_expert_reads_their_fees_saves_a_bank_account_and_prints_the_year(
    app: Flask, live_server: Any, browser: Any, example: ClosedSession
) -> None:
    base = live_server.url
    page = browser.new_context(locale="zh-CN").new_page()
    _log_in(page, base, example.people["E"].username)
    page.goto(base + "/fees/mine")
    assert "暂无劳务报酬" in page.inner_text("[data-testid=years]")

    _close_and_settle(app, example)
    page.goto(base + "/fees/mine")
    lines = page.inner_text("[data-testid=my-lines]")
    assert "1,140.00" in lines and "68.00" in lines and "1,072.00" in lines
    assert "广州市某人民医院" in lines and "专家甲" not in page.content()

    page.fill("input[name=bank]", "招商银行深圳分行")
    page.fill("input[name=account]", "12")
    page.click("form.card button[type=submit]")
    assert page.locator("[data-field-error=account]").is_visible()
    page.fill("input[name=bank]", "招商银行深圳分行")
    page.fill("input[name=account]", "6214 8300 0000 1234")
    page.click("form.card button[type=submit]")
    page.wait_for_selector("[data-testid=bank]")
    assert page.inner_text("[data-testid=bank]").endswith("************1234")

    page.click("[data-year='2026'] a")
    page.wait_for_url("**/fees/mine/2026")
    total = page.inner_text("[data-testid=year-total]")
    assert "1140.00" in total and "68.00" in total and "1072.00" in total
