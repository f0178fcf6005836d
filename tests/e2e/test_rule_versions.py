"""A rule changed today with effect from tomorrow, in a real browser: a project made ready today
keeps the old value, also after the clock passes the effective date, while a project made ready
then gets the new one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from expertpool.accounts.models import Centre
from expertpool.core.calendar import CST
from expertpool.core.db import utcnow
from expertpool.projects import projects
from expertpool.regimes.rules import committee_errors
from tests.conftest import PASSWORD
from tests.integration.projects.conftest import Clock, credit_code, project_payload

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

BUDGET_FEN = 20_000_000 * 100  # 20 million yuan: the larger government-procurement minimum


def _log_in(page: Any, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button.primary[type=submit]")
    page.wait_for_url("**/dashboard")


def _draft(app: Flask, code: str, clock: Clock) -> int:
    session = app.extensions["expertpool"].sessions()
    centre = session.query(Centre).filter_by(region_code="440100").one()
    start = (clock.now + timedelta(days=20)).astimezone(CST)
    project = projects.create_project(
        session,
        actor="test",
        owner_centre_id=centre.id,
        data=project_payload(
            code=code,
            kind="goods",
            regime="government_procurement",
            method="open_tender",
            budget="20000000",
            main_centre="440100",
            evaluation_start=f"{start:%Y-%m-%dT%H:%M}",
        ),
        now=clock.now,
    )
    projects.add_bidder(
        session, actor="test", project_id=project.id, credit_code=credit_code(60), name="甲公司"
    )
    pid = project.id
    app.extensions["expertpool"].sessions.remove()
    return pid


def _make_ready(page: Any, base: str, pid: int) -> str:
    page.goto(f"{base}/projects/{pid}")
    page.click("[data-testid=ready]")
    page.wait_for_selector("[data-testid=draw-request]")
    return str(page.inner_text("[data-testid=project-rules]"))


def _minimum_applied(app: Flask, pid: int) -> int:
    """The committee minimum the draw request applies to this project now."""
    session = app.extensions["expertpool"].sessions()
    project = projects.get_project(session, pid)
    rules = projects.project_rules(session, project)
    app.extensions["expertpool"].sessions.remove()
    for size in (7, 9):
        if not committee_errors(
            rules, expert_count=size, representatives=0, budget_fen=BUDGET_FEN, is_complex=False
        ):
            return size
    raise AssertionError("neither 7 nor 9 experts pass")


def test_a_rule_changed_today_for_tomorrow_leaves_todays_project_on_the_old_value(
    app: Flask, live_server: Any, browser: Any, make_user: Callable[..., Any]
) -> None:
    clock = Clock(utcnow())
    app.extensions["expertpool"].clock = clock
    try:
        admin = make_user(role="admin", username="admin.rules")
        staff = make_user(role="centre_staff", username="staff.rules", centre="440100")
        today_pid = _draft(app, "GP-TODAY", clock)
        later_pid = _draft(app, "GP-LATER", clock)
        base = live_server.url

        admin_page = browser.new_context(locale="zh-CN").new_page()
        _log_in(admin_page, base, admin.username)
        admin_page.goto(base + "/rules/change")
        admin_page.select_option("select[name=regime]", "government_procurement")
        admin_page.select_option("select[name=method]", "*")
        admin_page.select_option("select[name=key]", "committee_large_min_members")
        admin_page.fill("input[name=value]", "9")
        tomorrow = (clock.now.astimezone(CST) + timedelta(days=1)).date().isoformat()
        admin_page.fill("input[name=effective_on]", tomorrow)
        admin_page.fill("input[name=source]", "省财政厅通知（测试）")
        admin_page.fill("textarea[name=note]", "大额项目评标委员会扩大至九人")
        admin_page.click("main button.primary[type=submit]")
        admin_page.wait_for_url("**/rules?version=2")
        assert "9" in admin_page.inner_text(
            '[data-rule="government_procurement/*/committee_large_min_members"]'
        )
        admin_page.goto(base + "/rules")
        assert admin_page.locator("[data-testid=in-force]").count() == 1  # version 1, today

        staff_page = browser.new_context(locale="zh-CN").new_page()
        _log_in(staff_page, base, staff.username)
        shown = _make_ready(staff_page, base, today_pid)
        assert "第 1 版" in shown and "至少 7 人" in shown
        assert _minimum_applied(app, today_pid) == 7

        clock.now += timedelta(days=1)  # past the effective date
        staff_page.goto(f"{base}/projects/{today_pid}")
        shown = staff_page.inner_text("[data-testid=project-rules]")
        assert "第 1 版" in shown and "至少 7 人" in shown
        assert _minimum_applied(app, today_pid) == 7

        shown = _make_ready(staff_page, base, later_pid)
        assert "第 2 版" in shown and "至少 9 人" in shown
        assert _minimum_applied(app, later_pid) == 9
    finally:
        app.extensions["expertpool"].clock = utcnow
