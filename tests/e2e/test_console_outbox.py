"""The administrator answers a simulated call on the outbox simulation page (console notifier)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask

from expertpool.notifications import dispatcher as notifications
from expertpool.notifications import invitations
from expertpool.notifications.notifier import services_of
from tests.conftest import PASSWORD

pytestmark = pytest.mark.e2e


def test_admin_answers_a_simulated_call_with_1_and_the_invitation_is_accepted(
    app: Flask, live_server: Any, page: Any, make_user: Any
) -> None:
    st = app.extensions["expertpool"]
    admin = make_user(role="admin")
    session = st.sessions()
    invitations.enqueue_invitation(
        session,
        draw_id="D-e2e",
        group_id="G",
        expert_id=9,
        rank=1,
        phone="+8613500000009",
        expert_name="孙七",
        venue="广州主场",
        starts_at=datetime(2026, 12, 3, 1, 30, tzinfo=UTC),
        ctx=services_of(app).ctx,
    )
    session.commit()
    report = notifications.dispatch_once(
        st.sessions, services_of(app).notifier, ctx=services_of(app).ctx
    )
    assert report.sent == 2

    page.goto(live_server.url + "/login")
    page.fill("input[name=username]", admin.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button.primary[type=submit]")
    page.wait_for_url("**/dashboard")
    page.goto(live_server.url + "/admin/outbox")
    assert page.locator("tr[data-message]").count() == 0  # numbers only on the outbox page
    page.locator("[data-testid=simulation-link] a").click()
    page.wait_for_url("**/admin/outbox/simulation")
    assert page.locator("[data-testid=simulation-banner]").is_visible()
    call_row = page.locator("tr[data-kind=invitation_call]")
    assert (
        call_row.locator("[data-invitation-state]").get_attribute("data-invitation-state")
        == "calling"
    )
    assert "+86135****0009" in call_row.inner_text()
    call_row.locator("[data-testid=press-1]").click()
    page.wait_for_selector("p.flash.success")
    state_cell = page.locator("tr[data-kind=invitation_call] [data-invitation-state]")
    assert state_cell.get_attribute("data-invitation-state") == "accepted"
    assert "1" in page.locator("tr[data-kind=invitation_call]").inner_text()

    notifications.dispatch_once(st.sessions, services_of(app).notifier, ctx=services_of(app).ctx)
    page.reload()
    assert page.locator("tr[data-kind=confirmation_sms]").count() == 1
