"""The notifier chosen by the settings, the console simulation, and what logs and pages reveal."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

import notify
from expertpool.core.config import Config
from expertpool.core.errors import NotFound
from expertpool.notifications import dispatcher as notifications
from expertpool.notifications import invitations
from expertpool.notifications.models import (
    InvitationRecord,
    InvitationState,
    OutboxKind,
    OutboxMessage,
)
from expertpool.notifications.notifier import build_notifier, services_of
from tests.fakes.twilio_api import FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN, FAKE_FROM_NUMBER

pytestmark = pytest.mark.integration


def _invite_and_send(app: Flask, phone: str) -> tuple[InvitationRecord, list[OutboxMessage]]:
    st = app.extensions["expertpool"]
    session = st.sessions()
    invitation = invitations.enqueue_invitation(
        session,
        draw_id="D-console",
        group_id="G",
        expert_id=3,
        rank=1,
        phone=phone,
        expert_name="周八",
        venue="珠海分会场",
        starts_at=datetime(2026, 12, 3, 1, 30, tzinfo=UTC),
        ctx=services_of(app).ctx,
    )
    session.commit()
    notifications.dispatch_once(st.sessions, services_of(app).notifier, ctx=services_of(app).ctx)
    session.expire_all()
    messages = list(
        session.execute(
            select(OutboxMessage)
            .where(OutboxMessage.invitation_id == invitation.id)
            .order_by(OutboxMessage.id)
        ).scalars()
    )
    return invitation, messages


def test_the_settings_choose_the_console_or_the_twilio_notifier(tmp_path: Any) -> None:
    assert isinstance(build_notifier(Config(instance_path=str(tmp_path))), notify.ConsoleNotifier)
    twilio = build_notifier(
        Config(
            instance_path=str(tmp_path),
            notifier="twilio",
            twilio_account_sid=FAKE_ACCOUNT_SID,
            twilio_auth_token=FAKE_AUTH_TOKEN,
            twilio_from_number=FAKE_FROM_NUMBER,
        )
    )
    assert isinstance(twilio, notify.TwilioNotifier)
    assert FAKE_AUTH_TOKEN not in repr(twilio)


def test_create_app_builds_the_notifier_the_settings_choose(app: Flask) -> None:
    assert isinstance(services_of(app).notifier, notify.ConsoleNotifier)


def test_a_simulated_sms_reply_2_declines_through_the_same_handlers(app: Flask) -> None:
    invitation, messages = _invite_and_send(app, "+8613400000001")
    sms = next(m for m in messages if m.kind is OutboxKind.INVITATION_SMS)
    st = app.extensions["expertpool"]
    notifications.simulate(
        st.sessions(), services_of(app).notifier, sms.id, "sms-2", ctx=services_of(app).ctx
    )
    st.sessions().expire_all()
    stored = st.sessions().get(InvitationRecord, invitation.id)
    assert (
        stored is not None
        and stored.state is InvitationState.DECLINED
        and stored.answered_via == "sms"
    )


def test_a_simulated_machine_then_no_answer_never_accepts(app: Flask) -> None:
    invitation, messages = _invite_and_send(app, "+8613400000002")
    call = next(m for m in messages if m.kind is OutboxKind.INVITATION_CALL)
    st = app.extensions["expertpool"]
    notifications.simulate(
        st.sessions(), services_of(app).notifier, call.id, "machine", ctx=services_of(app).ctx
    )
    st.sessions().expire_all()
    stored = st.sessions().get(InvitationRecord, invitation.id)
    assert stored is not None and stored.state is InvitationState.CALLING
    calls = (
        st.sessions()
        .execute(
            select(OutboxMessage).where(
                OutboxMessage.invitation_id == invitation.id,
                OutboxMessage.kind == OutboxKind.INVITATION_CALL,
            )
        )
        .scalars()
        .all()
    )
    assert len(calls) == 2  # the retry is queued


def test_simulating_an_unknown_message_is_not_found(app: Flask) -> None:
    st = app.extensions["expertpool"]
    with pytest.raises(NotFound):
        notifications.simulate(
            st.sessions(), services_of(app).notifier, 999_999, "1", ctx=services_of(app).ctx
        )


def test_logs_and_the_outbox_page_never_show_the_name_or_the_number(
    app: Flask, caplog: pytest.LogCaptureFixture, make_user: Any, login: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    _invite_and_send(app, "+8613400000003")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "周八" not in logged and "13400000003" not in logged
    assert "+86134****0003" in logged
    admin = login(app.test_client(), make_user(role="admin"))
    page = admin.get("/admin/outbox").get_data(as_text=True)
    assert "周八" not in page and "0003" not in page and "珠海" not in page
    assert '<tr data-status="sent"><td>sent</td><td>2</td></tr>' in page
    assert 'data-testid="simulation-link"' in page  # the console notifier has its simulation
