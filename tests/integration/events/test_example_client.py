"""The example client of docs/examples/trading_client.py, run as a program against a live server:
it creates a project, requests a draw from the terminal, waits for the panel-opened event on its
own receiver and downloads the signed report once the report-signed event says it may. The test
plays the terminal, the witnesses, the experts, the opening and the committee meanwhile."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from evaluation_room.handlers import NAMESPACE
from expertpool.core.db import utcnow
from expertpool.core.pii import PiiCipher
from expertpool.draws import panels, sealing
from expertpool.draws.models import DrawRequestRecord
from expertpool.events import events
from expertpool.projects.models import Project
from expertpool.reports.models import EvaluationReport
from expertpool.rooms import opening
from expertpool.rooms import sessions as rooms
from expertpool.rooms.models import EvaluationSession
from tests.conftest import PASSWORD, LiveServer
from tests.integration.draws.conftest import EVALUATION, NOW, add_experts, make_setup
from tests.integration.reports.conftest import sign_off
from tests.integration.room.conftest import build_committee

pytestmark = pytest.mark.integration

CLIENT = Path(__file__).resolve().parents[3] / "docs" / "examples" / "trading_client.py"
CODE = "EX-CLIENT-28"


def _wait(what: str, found: Callable[[], Any], proc: subprocess.Popen[str]) -> Any:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        if proc.poll() is not None:
            raise AssertionError(f"the client ended before {what}: {proc.communicate()}")
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_example_client_runs_against_a_live_server(
    app: Any, make_user: Callable[..., Any], tmp_path: Path
) -> None:
    st = app.extensions["expertpool"]
    setup = make_setup(app, make_user)
    old_config = st.config
    st.config = old_config.replace(events_allow_http=True)
    add_experts(app, 12, start=900)
    st.sessions.remove()
    server = LiveServer(app)
    out = tmp_path / "report.pdf"
    proc = subprocess.Popen(
        [
            sys.executable,
            str(CLIENT),
            "--base-url",
            server.url,
            "--username",
            setup.operator.username,
            "--password",
            PASSWORD,
            "--terminal-token",
            setup.terminal_token,
            "--project-code",
            CODE,
            "--evaluation-start",
            f"{EVALUATION:%Y-%m-%dT%H:%M}",
            "--timeout",
            "120",
            "--out",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    cipher = PiiCipher.from_keys(st.keys)
    session = st.sessions()

    def deliver() -> None:
        session.commit()
        events.deliver_once(session, cipher, now=utcnow() + timedelta(seconds=5))

    try:

        def request() -> tuple[int, int] | None:
            found = session.execute(
                select(DrawRequestRecord.id, DrawRequestRecord.project_id)
                .join(Project)
                .where(Project.code == CODE)
            ).first()
            session.rollback()  # never hold SQLite's write lock while the server works
            return (found[0], found[1]) if found else None

        request_id, project_id = _wait("the draw request", request, proc)
        # The terminal draws with both witnesses; the primaries accept.
        d = setup.prepare(request_id)
        setup.witness(d.draw_id)
        d = setup.run(d.draw_id)
        for expert in sealing.open_result(d, setup.keys).groups[0].primaries:
            panels.record_answer(
                session,
                draw_id=d.draw_id,
                expert_id=int(expert),
                answer="accepted",
                ctx=setup.notify_ctx,
                now=NOW,
            )
        deliver()  # draw.sealed (not subscribed by the client: nothing is sent)
        setup.clock.now = EVALUATION
        opening.open_lot(
            session,
            project_id=project_id,
            lot_id=None,
            actor=setup.operator,
            supervisor_username=setup.supervisor.username,
            supervisor_password=PASSWORD,
            keys=setup.keys,
            settings=rooms.room_settings(setup.config),
            now=EVALUATION,
        )
        deliver()  # panel.opened, session.opened
        # The committee evaluates and signs off (a committee of this project's session).
        committee = build_committee(app, make_user)
        row = session.execute(
            select(EvaluationSession).where(EvaluationSession.room_id == committee.room_id)
        ).scalar_one()
        row.project_id = project_id
        session.commit()
        sign_off(committee)
        for cl in committee.clients.values():
            if cl.is_connected(NAMESPACE):
                cl.disconnect(NAMESPACE)
        deliver()  # session.closed, report.signed
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        server.stop()
        st.config = old_config
        st.clock = utcnow
    assert proc.returncode == 0, stderr
    assert "event panel.opened" in stdout and f'"draw_id": "{d.draw_id}"' in stdout
    assert "subscribed sessions:read: panel.opened, session.closed, session.opened" in stdout
    report = session.execute(
        select(EvaluationReport).where(EvaluationReport.room_id == committee.room_id)
    ).scalar_one()
    assert hashlib.sha256(out.read_bytes()).hexdigest() == report.pdf_sha256
    assert f"report {committee.room_id} saved" in stdout
