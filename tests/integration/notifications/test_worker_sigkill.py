"""A real `expertpool notify-worker` killed with SIGKILL mid-send and restarted on PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import select

from expertpool.notifications import invitations
from expertpool.notifications.models import (
    InvitationRecord,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
)
from expertpool.notifications.notifier import services_of
from tests.fakes.twilio_api import (
    FAKE_ACCOUNT_SID,
    FAKE_AUTH_TOKEN,
    FAKE_FROM_NUMBER,
    FakeTwilioApi,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.needs_postgres]

LEASE_SECONDS = 2
PHONES = [f"+8613500000{i:03d}" for i in range(1, 7)]


def _worker_env(app: Flask, api: FakeTwilioApi) -> dict[str, str]:
    config = app.extensions["expertpool"].config
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "EXPERTPOOL_"))}
    env.update(
        {
            "DATABASE_URL": config.database_url,
            "EXPERTPOOL_INSTANCE_PATH": config.instance_path,
            "SECRET_KEY": config.secret_key,
            "EXPERTPOOL_NOTIFIER": "twilio",
            "TWILIO_ACCOUNT_SID": FAKE_ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": FAKE_AUTH_TOKEN,
            "TWILIO_FROM_NUMBER": FAKE_FROM_NUMBER,
            "TWILIO_API_BASE_URL": api.base_url,
            "EXPERTPOOL_PUBLIC_BASE_URL": "https://pool.example.gov.cn",
            # Longer than the hang, so the worker is still waiting for the answer when it is killed.
            "EXPERTPOOL_TWILIO_TIMEOUT_SECONDS": "60",
            "EXPERTPOOL_NOTIFY_LEASE_SECONDS": str(LEASE_SECONDS),
        }
    )
    return env


def _start_worker(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "expertpool.cli",
            "notify-worker",
            "--interval",
            "0.2",
            "--batch",
            "4",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_a_worker_killed_mid_send_and_restarted_loses_nothing_and_sends_nothing_twice(
    pg_app: Flask, fake_twilio_api: FakeTwilioApi
) -> None:
    st = pg_app.extensions["expertpool"]
    session = st.sessions()
    for rank, phone in enumerate(PHONES, start=1):
        invitations.enqueue_invitation(
            session,
            draw_id="D-kill",
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
    # The first call is created at the provider, but its answer is slow: the kill lands meanwhile.
    fake_twilio_api.hang_next(seconds=60, resource="Calls", is_created_anyway=True)
    env = _worker_env(pg_app, fake_twilio_api)

    first = _start_worker(env)
    try:
        assert _wait_for(lambda: bool(fake_twilio_api.calls), 30), "the worker never placed a call"
        time.sleep(0.3)  # still hanging: the worker waits for the answer
        assert first.poll() is None
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == -signal.SIGKILL
    [in_flight_sid] = fake_twilio_api.calls
    session = st.sessions()
    stuck = (
        session.execute(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.SENDING))
        .scalars()
        .all()
    )
    assert stuck, "the killed worker left no claimed message behind"
    st.sessions.remove()

    second = _start_worker(env)
    try:

        def all_sent() -> bool:
            try:
                return {
                    m for m in st.sessions().execute(select(OutboxMessage.status)).scalars()
                } == {OutboxStatus.SENT}
            finally:
                st.sessions.remove()

        assert _wait_for(all_sent, 60), "the restarted worker did not send everything"
        second.send_signal(signal.SIGTERM)
        out, err = second.communicate(timeout=30)
    finally:
        if second.poll() is None:
            second.kill()
    assert second.returncode == 0, err
    assert "stopped" in out and FAKE_AUTH_TOKEN not in out + err

    sms_to = Counter(r.value("To") for r in fake_twilio_api.created("Messages"))
    calls_to = Counter(r.value("To") for r in fake_twilio_api.created("Calls"))
    assert sms_to == Counter(PHONES) and calls_to == Counter(PHONES)
    session = st.sessions()
    rows = session.execute(select(OutboxMessage)).scalars().all()
    assert len(rows) == 2 * len(PHONES)
    reconciled = next(m for m in rows if m.provider_sid == in_flight_sid)
    assert reconciled.kind is OutboxKind.INVITATION_CALL and reconciled.attempts == 1
    assert len({m.provider_sid for m in rows}) == len(rows)
    assert set(session.execute(select(InvitationRecord.call_attempts)).scalars()) == {1}
    st.sessions.remove()
