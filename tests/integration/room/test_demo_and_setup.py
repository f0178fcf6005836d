"""The room's wiring in the app: explicit async mode, the serve runner, the demo session."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from sqlalchemy import select

from expertpool.models import EvaluationSession
from expertpool.services import demo

pytestmark = pytest.mark.integration


def test_the_socketio_server_uses_the_configured_async_mode_and_serves_quickstart(app: Flask) -> None:
    assert app.extensions["socketio"].async_mode == app.extensions["expertpool"].config.socketio_async_mode
    assert callable(app.extensions["expertpool_serve"])


def test_the_demo_prepares_one_walkable_session_and_running_it_twice_changes_nothing(app: Flask) -> None:
    session = app.extensions["expertpool"].sessions()
    lines = demo.run(session)
    assert any(line.startswith("evaluation session: session ") for line in lines)
    assert "evaluation session: exists" in demo.run(session)
    row = session.execute(select(EvaluationSession)).scalar_one()
    state = json.loads(row.state)
    assert state["phase"] == "scheduled" and len(state["bids"]) == 3 and state["form"] is not None
    assert sorted(p["role"] for p in state["participants"]).count("expert") == 4
