"""An imported expert activates their account with the SMS code that the console provider's
simulation page shows, on a desktop and on a phone, then logs in and sees their home page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from expertpool.accounts.models import User
from expertpool.core.pii import PiiCipher
from expertpool.demo import experts as expert_demo
from expertpool.experts import accounts, records
from expertpool.experts.models import Expert
from expertpool.notifications import dispatcher
from expertpool.notifications.notifier import services_of
from tests.conftest import PASSWORD

pytestmark = pytest.mark.e2e

VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
NEW_PASSWORD = "my-own-password-2026"
SCREENSHOTS = Path(__file__).resolve().parents[2] / ".e2e-screenshots"


@pytest.fixture()
def contexts(browser: Any) -> Iterator[Any]:
    """Opens browser contexts and closes them after the test."""
    opened: list[Any] = []

    def open_context(**options: Any) -> Any:
        context = browser.new_context(locale="zh-CN", **options)
        context.set_default_timeout(10_000)
        opened.append(context)
        return context.new_page()

    yield open_context
    for context in opened:
        context.close()


def _fits_the_screen(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


@pytest.mark.parametrize("device", sorted(VIEWPORTS))
def test_an_imported_expert_activates_by_sms_code_and_logs_in(
    app: Flask, live_server: Any, contexts: Any, make_user: Any, device: str
) -> None:
    st = app.extensions["expertpool"]
    session = st.sessions()
    cipher = PiiCipher.from_keys(st.keys)
    expert_demo.create_experts(session, cipher=cipher, count=2, seed=21)
    accounts.create_missing_accounts(session, actor="test")
    expert = session.execute(select(Expert).order_by(Expert.id)).scalars().first()
    username = session.get(User, expert.user_id).username
    phone = records.clear_pii(expert, cipher)["phone"]
    admin = make_user(role="admin")
    st.sessions.remove()

    page = contexts(**VIEWPORTS[device])
    page.goto(live_server.url + "/login")
    page.click("[data-testid=activate-link]")
    page.wait_for_url("**/account/activate")
    page.fill("input[name=identifier]", phone.removeprefix("+86"))
    page.click("[data-testid=activate-start] button[type=submit]")
    page.wait_for_url("**/account/activate/code")
    assert page.locator("p.flash.success").is_visible()
    assert _fits_the_screen(page)

    services = services_of(app)
    dispatcher.dispatch_once(st.sessions, services.notifier, ctx=services.ctx)
    st.sessions.remove()

    console = contexts(viewport={"width": 1280, "height": 900})
    console.goto(live_server.url + "/login")
    console.fill("input[name=username]", admin.username)
    console.fill("input[name=password]", PASSWORD)
    console.click("main button.primary[type=submit]")
    console.wait_for_url("**/dashboard")
    console.goto(live_server.url + "/admin/outbox/simulation")
    sms = console.locator("tr[data-kind=account_code_sms]").inner_text()
    found = re.search(r"账户(e[0-9.]+)的验证码为(\d{6})", sms)
    assert found and found.group(1) == username
    assert phone not in sms  # the number is masked on the simulation page

    page.fill("input[name=code]", found.group(2))
    page.fill("input[name=new_password]", NEW_PASSWORD)
    page.fill("input[name=confirm_password]", NEW_PASSWORD)
    page.click("[data-testid=activate-finish] button[type=submit]")
    page.wait_for_url("**/login")
    assert page.locator("p.flash.success").is_visible()
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", NEW_PASSWORD)
    page.click("main button.primary[type=submit]")
    page.wait_for_url("**/dashboard")
    assert page.locator("[data-testid=my-invitations]").is_visible()
    assert page.locator("[data-testid=my-history]").is_visible()
    assert _fits_the_screen(page)
    if SCREENSHOTS.is_dir():  # create the folder to look at the pages
        page.screenshot(path=str(SCREENSHOTS / f"activation-{device}.png"), full_page=True)
