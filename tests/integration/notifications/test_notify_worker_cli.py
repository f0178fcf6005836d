"""`expertpool notify-worker` as an operator runs it: sends the outbox and stops gracefully."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from expertpool.notifications import invitations
from expertpool.notifications.notifier import services_of
from tests.conftest import build_app, make_test_config
from tests.fakes.twilio_api import (
    FAKE_ACCOUNT_SID,
    FAKE_AUTH_TOKEN,
    FAKE_FROM_NUMBER,
    FakeTwilioApi,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_the_worker_command_sends_the_outbox_and_stops_on_sigterm(
    tmp_path: Path, fake_twilio_api: FakeTwilioApi
) -> None:
    database_url = "sqlite:///" + str(tmp_path / "worker.sqlite")
    settings = {
        "notifier": "twilio",
        "twilio_account_sid": FAKE_ACCOUNT_SID,
        "twilio_auth_token": FAKE_AUTH_TOKEN,
        "twilio_from_number": FAKE_FROM_NUMBER,
        "twilio_api_base_url": fake_twilio_api.base_url,
        "public_base_url": "https://pool.example.gov.cn",
    }
    app = build_app(make_test_config(tmp_path / "instance", database_url, **settings))
    st = app.extensions["expertpool"]
    with app.app_context():
        session = st.sessions()
        invitations.enqueue_invitation(
            session,
            draw_id="D-cli",
            group_id="G",
            expert_id=7,
            rank=1,
            phone="+8613600000001",
            expert_name="赵六",
            venue="佛山",
            starts_at=datetime(2026, 12, 3, 1, 30, tzinfo=UTC),
            ctx=services_of(app).ctx,
        )
        session.commit()
        st.sessions.remove()
    st.engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "EXPERTPOOL_"))}
    env.update(
        {
            "DATABASE_URL": database_url,
            "EXPERTPOOL_INSTANCE_PATH": str(tmp_path / "instance"),
            "SECRET_KEY": "test-secret-" + "x" * 20,
            "EXPERTPOOL_NOTIFIER": "twilio",
            "TWILIO_ACCOUNT_SID": FAKE_ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": FAKE_AUTH_TOKEN,
            "TWILIO_FROM_NUMBER": FAKE_FROM_NUMBER,
            "TWILIO_API_BASE_URL": fake_twilio_api.base_url,
            "EXPERTPOOL_PUBLIC_BASE_URL": "https://pool.example.gov.cn",
        }
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "expertpool.cli", "notify-worker", "--interval", "0.2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (
            fake_twilio_api.messages and fake_twilio_api.calls
        ):
            time.sleep(0.1)
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, err
    assert "stopped" in out
    assert (
        len(fake_twilio_api.created("Messages")) == 1 and len(fake_twilio_api.created("Calls")) == 1
    )
    assert "+8613600000001" not in out + err  # numbers are masked in logs
    assert FAKE_AUTH_TOKEN not in out + err
