"""The room's wiring in the app: explicit async mode, the serve runner, the demo session."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from expertpool.bids.models import BidDocument
from expertpool.demo import runner as demo
from expertpool.demo.context import DemoContext
from expertpool.demo.rooms import DEMO_TITLE
from expertpool.notifications.notifier import services_of
from expertpool.projects.models import Project
from expertpool.rooms.models import EvaluationSession
from expertpool.rooms.sessions import state_of

pytestmark = pytest.mark.integration


def test_the_socketio_server_uses_the_configured_async_mode_and_serves_quickstart(
    app: Flask,
) -> None:
    assert (
        app.extensions["socketio"].async_mode
        == app.extensions["expertpool"].config.socketio_async_mode
    )
    assert callable(app.extensions["expertpool_serve"])


def test_the_demo_prepares_one_walkable_session_and_running_it_twice_changes_nothing(
    app: Flask,
) -> None:
    st = app.extensions["expertpool"]
    session = st.sessions()
    ctx = DemoContext(
        config=st.config, keys=st.keys, notify=services_of(app).ctx, sessions=st.sessions
    )
    lines = demo.run(session, ctx)
    assert any(line.startswith("evaluation session: session ") for line in lines)
    assert "evaluation session: exists" in demo.run(session, ctx)
    # The walkable session; the past project's session was created by its opening act.
    row = session.execute(
        select(EvaluationSession).where(EvaluationSession.title == DEMO_TITLE)
    ).scalar_one()
    # Two more closed at known times by the fees step (docs/fees.md).
    assert len(session.execute(select(EvaluationSession)).scalars().all()) == 4
    assert not row.state.startswith("{")  # sealed at rest
    state = state_of(row, st.keys)
    assert state["phase"] == "scheduled" and len(state["bids"]) == 3 and state["form"] is not None
    assert sorted(p["role"] for p in state["participants"]).count("expert") == 4
    # Both the walkable session's project and the past project have their bid PDFs and tender
    # document (docs/bids.md): three files per bidder and one tender document each.
    for code in ("GZ-DEMO-2026-001", "GZ-DEMO-000"):
        project = session.execute(select(Project).where(Project.code == code)).scalar_one()
        docs = (
            session.execute(select(BidDocument).where(BidDocument.project_id == project.id))
            .scalars()
            .all()
        )
        assert sorted(d.kind.value for d in docs).count("tender") == 1
        assert len(docs) == 1 + 3 * len(project.bidders), code
        assert all(st.files.get(d.sha256).startswith(b"%PDF") for d in docs)
    assert row.project_id is not None


def test_member_phones_are_stored_encrypted_and_codes_reach_the_right_number(
    app: Flask, committee: Any
) -> None:
    from sqlalchemy import text

    with app.extensions["expertpool"].engine.connect() as conn:
        raw = conn.execute(text("SELECT * FROM room_participant")).all()
    dump = repr(raw).encode() + b"".join(
        v for row in raw for v in row if isinstance(v, bytes | memoryview)
    )
    assert b"13800000001" not in dump and "13800000001" not in repr(raw)
    committee.ok("h_gz", "phase", action="open")
    committee.ok("h_gz", "phase", action="start_check_in")
    committee.ok("e2", "request_code")
    assert services_of(committee.app).notifier.entries()[-1].to == "+8613800000001"
