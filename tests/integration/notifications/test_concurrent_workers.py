"""Several dispatcher workers at once on PostgreSQL (SKIP LOCKED) never send anything twice."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.core.db import utcnow
from expertpool.notifications import dispatcher as notifications
from expertpool.notifications import invitations
from expertpool.notifications.models import InvitationState, OutboxMessage, OutboxStatus
from expertpool.notifications.notifier import services_of
from tests.fakes.twilio_api import FakeTwilioApi
from tests.integration.notifications.conftest import wire_twilio

pytestmark = pytest.mark.integration


@pytest.mark.needs_postgres
def test_two_workers_in_threads_on_postgresql_send_each_message_exactly_once(
    pg_app: Flask, fake_twilio_api: FakeTwilioApi
) -> None:
    _run_two_workers(pg_app, fake_twilio_api)


def test_two_workers_in_threads_on_the_configured_database_send_each_message_exactly_once(
    app: Flask, fake_twilio_api: FakeTwilioApi
) -> None:
    _run_two_workers(app, fake_twilio_api)


def _is_done(session: Session) -> bool:
    """Whether every message has left the pending, sending and unknown states."""
    try:
        return not session.execute(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.status.in_(
                    [OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.UNKNOWN]
                )
            )
            .limit(1)
        ).first()
    finally:
        session.rollback()


def _run_two_workers(pg_app: Flask, fake_twilio_api: FakeTwilioApi) -> None:
    restore = wire_twilio(pg_app, fake_twilio_api, timeout_seconds=10.0)
    st = pg_app.extensions["expertpool"]
    try:
        session = st.sessions()
        phones = [f"+8613700000{i:03d}" for i in range(15)]
        for rank, phone in enumerate(phones, start=1):
            invitations.enqueue_invitation(
                session,
                draw_id="D-par",
                group_id="G",
                expert_id=rank,
                rank=rank,
                phone=phone,
                expert_name="专家",
                venue="广州",
                starts_at=datetime(2026, 12, 3, 1, 30, tzinfo=UTC),
                ctx=services_of(pg_app).ctx,
            )
        session.commit()
        st.sessions.remove()
        ctx = services_of(pg_app).ctx
        notifier = services_of(pg_app).notifier
        claimed: Counter[str] = Counter()
        errors: list[BaseException] = []
        start = threading.Barrier(2)

        def work(name: str) -> None:
            try:
                with pg_app.app_context():
                    start.wait()
                    deadline = time.monotonic() + 60
                    # Until nothing is left to send (a slow machine may cause backoffs or
                    # reconciling).
                    while time.monotonic() < deadline:
                        report = notifications.dispatch_once(
                            st.sessions, notifier, utcnow(), name, 3, ctx=ctx
                        )
                        claimed[name] += report.sent + report.reconciled
                        if report.claimed == 0:
                            if _is_done(st.sessions()):
                                break
                            time.sleep(0.2)
                    st.sessions.remove()
            except BaseException as exc:  # surfaced in the main thread
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
        sms_to = Counter(r.value("To") for r in fake_twilio_api.created("Messages"))
        calls_to = Counter(r.value("To") for r in fake_twilio_api.created("Calls"))
        assert sms_to == Counter(phones) and calls_to == Counter(phones)
        assert sum(claimed.values()) == 2 * len(phones), claimed
        session = st.sessions()
        rows = session.execute(select(OutboxMessage.status, OutboxMessage.last_error)).all()
        assert {status for status, _ in rows} == {OutboxStatus.SENT}, rows
        from expertpool.notifications.models import InvitationRecord

        states = set(session.execute(select(InvitationRecord.state)).scalars())
        assert states == {InvitationState.CALLING}
    finally:
        st.sessions.remove()
        restore()
