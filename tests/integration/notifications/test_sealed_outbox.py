"""With a real provider the outbox shows numbers only; the simulation page is the console's alone.

Before a panel is opened, nobody may see who was invited: with Twilio the administrator's outbox
page carries no message, recipient, text, one-time answer link or invitation id, and the
console's per-message simulation page and its endpoint answer 404 (they do not exist).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from expertpool.core.errors import NotFound
from expertpool.notifications import dispatcher as notifications
from expertpool.notifications import outbox
from expertpool.notifications.models import InvitationState, OutboxKind, OutboxMessage
from expertpool.notifications.notifier import services_of
from tests.conftest import csrf_token
from tests.integration.notifications.conftest import TwilioTrial, key_of

pytestmark = pytest.mark.integration


def _sent(trial: TwilioTrial) -> tuple[Any, str, list[OutboxMessage]]:
    phone = trial.new_number()
    invitation = trial.invite(phone)
    report = trial.dispatch()
    assert report.sent == 2
    return invitation, phone, trial.messages(invitation)


def test_with_twilio_the_outbox_page_shows_counts_and_nothing_about_anyone(
    trial: TwilioTrial, make_user: Any, login: Any
) -> None:
    invitation, phone, messages = _sent(trial)
    sms = next(m for m in messages if m.kind is OutboxKind.INVITATION_SMS)
    body = outbox.message_body(trial.ctx, sms) or ""
    link = re.search(r"https?://\S+", body)
    assert link, body  # the SMS carries the one-time answer link

    admin = login(trial.app.test_client(), make_user(role="admin"))
    resp = admin.get("/admin/outbox")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    # Counts and delivery states are there...
    assert '<tr data-status="sent"><td>sent</td><td>2</td></tr>' in page
    assert 'data-channel="sms" data-kind="invitation_sms"' in page
    assert 'data-channel="voice" data-kind="invitation_call"' in page
    assert 'data-testid="attempt-statuses"' in page and 'data-testid="retried"' in page
    # ...and nothing that points at a person or an invitation.
    assert phone[-4:] not in page and phone[3:6] + "****" not in page
    assert "李四" not in page and "广州主场" not in page
    assert link.group(0) not in page and "/i/" not in page
    assert body[:12] not in page
    assert "data-message" not in page and "data-invitation-state" not in page
    assert f"#{key_of(invitation)}" not in page
    assert "simulation" not in page  # no link to a page that does not exist


def test_with_twilio_the_simulation_page_and_endpoint_do_not_exist(
    trial: TwilioTrial, make_user: Any, login: Any
) -> None:
    invitation, _, messages = _sent(trial)
    admin = login(trial.app.test_client(), make_user(role="admin"))
    assert admin.get("/admin/outbox/simulation").status_code == 404
    token = csrf_token(admin, "/admin/outbox")
    for message in messages:
        resp = admin.post(
            f"/admin/outbox/simulation/{key_of(message)}",
            data={"csrf_token": token, "action": "sms-2"},
        )
        assert resp.status_code == 404
    # Same answer for a message that exists and one that does not.
    assert (
        admin.post(
            "/admin/outbox/simulation/999999", data={"csrf_token": token, "action": "sms-2"}
        ).status_code
        == 404
    )
    # The services refuse as well, whoever calls them.
    with pytest.raises(NotFound):
        notifications.outbox_rows(trial.session, trial.ctx, trial.notifier)
    with pytest.raises(NotFound):
        notifications.simulate(
            trial.session, trial.notifier, key_of(messages[0]), "sms-2", ctx=trial.ctx
        )
    # Nobody declined on the expert's behalf.
    assert trial.reload(invitation).state is InvitationState.CALLING


def test_other_roles_are_refused_the_outbox_pages_as_before(
    trial: TwilioTrial, make_user: Any, login: Any
) -> None:
    for role in ("centre_staff", "supervisor", "reviewer", "expert"):
        client = login(trial.app.test_client(), make_user(role=role))
        assert client.get("/admin/outbox").status_code == 403
        assert client.get("/admin/outbox/simulation").status_code == 403


def test_with_the_console_the_simulation_page_is_marked_and_answers_a_call(
    app: Flask, make_user: Any, login: Any
) -> None:
    from datetime import UTC, datetime

    from expertpool.notifications import invitations

    st = app.extensions["expertpool"]
    session = st.sessions()
    invitation = invitations.enqueue_invitation(
        session,
        draw_id="D-sim",
        group_id="G",
        expert_id=4,
        rank=1,
        phone="+8613400000044",
        expert_name="吴九",
        venue="广州主场",
        starts_at=datetime(2026, 12, 3, 1, 30, tzinfo=UTC),
        ctx=services_of(app).ctx,
    )
    session.commit()
    notifications.dispatch_once(st.sessions, services_of(app).notifier, ctx=services_of(app).ctx)
    admin = login(app.test_client(), make_user(role="admin"))
    assert 'data-testid="simulation-link"' in admin.get("/admin/outbox").get_data(as_text=True)
    page = admin.get("/admin/outbox/simulation").get_data(as_text=True)
    assert 'data-testid="simulation-banner"' in page
    assert "+86134****0044" in page and 'data-kind="invitation_call"' in page
    session.expire_all()
    call = session.execute(
        select(OutboxMessage).where(
            OutboxMessage.invitation_id == invitation.id,
            OutboxMessage.kind == OutboxKind.INVITATION_CALL,
        )
    ).scalar_one()
    token = csrf_token(admin, "/admin/outbox/simulation")
    resp = admin.post(
        f"/admin/outbox/simulation/{call.id}", data={"csrf_token": token, "action": "1"}
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/outbox/simulation")
    page = admin.get("/admin/outbox/simulation").get_data(as_text=True)
    assert 'data-invitation-state="accepted"' in page
