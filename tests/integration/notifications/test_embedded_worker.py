"""The embedded dispatcher thread of the web process sends the outbox and stops on request."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import select

from expertpool.notifications import invitations
from expertpool.notifications.models import OutboxMessage, OutboxStatus
from expertpool.notifications.notifier import InProcessWorker, services_of

pytestmark = pytest.mark.integration


def test_the_embedded_worker_thread_sends_queued_invitations_and_stops(app: Flask) -> None:
    st = app.extensions["expertpool"]
    session = st.sessions()
    invitations.enqueue_invitation(
        session,
        draw_id="D-thread",
        group_id="G",
        expert_id=4,
        rank=1,
        phone="+8613300000001",
        expert_name="吴九",
        venue="汕头",
        starts_at=datetime(2026, 12, 3, 1, 30, tzinfo=UTC),
        ctx=services_of(app).ctx,
    )
    session.commit()
    worker = InProcessWorker(
        app, services_of(app).notifier, services_of(app).ctx, interval_seconds=0.05
    )
    worker.start()
    try:
        deadline = time.monotonic() + 30
        statuses: set[OutboxStatus] = set()
        while time.monotonic() < deadline:
            session.rollback()
            statuses = set(session.execute(select(OutboxMessage.status)).scalars())
            if statuses == {OutboxStatus.SENT}:
                break
            # Poll gently: on SQLite every transaction takes the write lock, and a tight loop
            # would starve the worker thread of it (end the transaction before sleeping).
            session.rollback()
            time.sleep(0.3)
        session.rollback()
    finally:
        worker.stop()
    assert statuses == {OutboxStatus.SENT}
    assert worker.thread is not None and not worker.thread.is_alive()
