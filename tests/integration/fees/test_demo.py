"""The demo closes two remote sessions at known times and every closed session has a statement."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from expertpool.demo import runner as demo
from expertpool.demo.context import DemoContext
from expertpool.demo.fees import DEMO_PREFIX
from expertpool.fees.attendance import session_facts
from expertpool.fees.models import FeeStatement
from expertpool.notifications.notifier import services_of
from expertpool.rooms.models import EvaluationSession

pytestmark = pytest.mark.integration


def test_every_closed_demo_session_has_its_statement(app: Flask) -> None:
    st = app.extensions["expertpool"]
    session = st.sessions()
    ctx = DemoContext(
        config=st.config, keys=st.keys, notify=services_of(app).ctx, sessions=st.sessions
    )
    lines = demo.run(session, ctx)
    # The fees step closes two sessions and settles them with the past project's (awarded).
    assert "fees: 2 sessions closed, 3 statements" in lines, [x for x in lines if "fees" in x]
    assert "fees: 0 sessions closed, 0 statements" in demo.run(session, ctx)
    closed = [
        row
        for row in session.execute(select(EvaluationSession)).scalars()
        if session_facts(session, row, st.keys).outcome != "open"
    ]
    assert len(closed) == 3
    made = {s.session_id: s for s in session.execute(select(FeeStatement)).scalars()}
    assert set(made) == {row.id for row in closed}
    for s in made.values():
        assert len(s.lines) >= 5
        assert all(x.net_fen + x.tax_fen == x.gross_fen for x in s.lines)
    remote = [s for s in made.values() if s.title.startswith(DEMO_PREFIX)]
    assert len(remote) == 2
    for s in remote:
        assert {x.schedule_scope for x in s.lines} == {"440000", "440300"}  # a remote expert
    replaced = [x for s in remote for x in s.lines if x.left_at is not None]
    assert len(replaced) == 1 and replaced[0].minutes == 120 - 15
