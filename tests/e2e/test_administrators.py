"""The three separated administrators in a real browser: the system administrator makes an
account (no administrator role on offer), the security administrator changes its role on a phone,
the audit administrator reads both acts in the trail and downloads it as a spreadsheet."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True}


def _log_in(page: Any, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.locator("form button[type=submit].primary").click()
    page.wait_for_url(base + "/dashboard")


def test_three_administrators_each_do_their_part(
    browser: Any, live_server: Any, make_user: Any
) -> None:
    base = live_server.url
    make_user(role="admin", username="sys")
    make_user(role="security_admin", username="sec")
    make_user(role="audit_admin", username="aud")

    desktop = browser.new_context(locale="zh-CN", viewport={"width": 1200, "height": 900})
    phone = browser.new_context(locale="zh-CN", **PHONE)
    auditor = browser.new_context(
        locale="zh-CN", viewport={"width": 1200, "height": 900}, accept_downloads=True
    )
    for context in (desktop, phone, auditor):
        context.set_default_timeout(10_000)
    try:
        page = desktop.new_page()
        _log_in(page, base, "sys")
        assert page.locator('[data-menu="audit"]').count() == 0
        page.goto(base + "/admin/users/new")
        offered = page.locator("select[name=role] option").evaluate_all(
            "els => els.map(e => e.value)"
        )
        assert "admin" not in offered and "security_admin" not in offered
        assert "audit_admin" not in offered and "reviewer" in offered
        page.locator("input[name=username]").fill("new.person")
        page.locator("input[name=display_name]").fill("新同事")
        page.locator("input[name=password]").fill("a-long-password-1")
        page.locator("select[name=role]").select_option("expert")
        page.locator("form.card button[type=submit]").click()
        page.wait_for_url(base + "/admin/users")
        assert page.locator("td", has_text="new.person").count() == 1
        assert page.goto(base + "/admin/roles").status == 403

        sec = phone.new_page()
        _log_in(sec, base, "sec")
        sec.goto(base + "/admin/roles")
        row = sec.locator('tr[data-username="new.person"]')
        row.locator("select[name=role]").select_option("supervisor")
        row.locator("button[type=submit]").click()
        sec.wait_for_url(base + "/admin/roles")
        assert "监督人员" in sec.locator('tr[data-username="new.person"]').inner_text()
        width = sec.evaluate("document.documentElement.scrollWidth")
        assert width <= 375 or sec.locator("table#role-grants").is_visible()
        sec.goto(base + "/admin/keys")
        assert sec.locator("#key-status").is_visible()
        assert sec.goto(base + "/admin/audit").status == 403

        aud = auditor.new_page()
        _log_in(aud, base, "aud")
        aud.locator('[data-menu="audit"]').click()
        aud.wait_for_url("**/admin/audit")
        trail = aud.locator("table.list").inner_text()
        assert "user.create" in trail and "user.role" in trail and "sec" in trail
        with aud.expect_download() as info:
            aud.locator("#audit-export").click()
        data = Path(info.value.path()).read_bytes()
        rows = list(load_workbook(io.BytesIO(data), read_only=True).worksheets[0].values)
        assert any(r[3] == "user.role" and r[2] == "sec" for r in rows[1:])
        assert aud.goto(base + "/admin/users").status == 403
    finally:
        for context in (desktop, phone, auditor):
            context.close()
