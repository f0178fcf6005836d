"""The session figures' one reader of the sealed room states: check-ins, no-shows, deviation
flags and each expert's favourite bidder, for closed projects' sessions only."""

from __future__ import annotations

from typing import Any

import pytest

from expertpool.projects.models import ProjectStatus
from expertpool.rooms.models import EvaluationSession
from expertpool.statistics.sessions import session_stats
from tests.integration.room.conftest import build_committee
from tests.integration.statistics.test_figures import History, _at

pytestmark = pytest.mark.integration


def test_a_closed_projects_session_is_read_and_an_open_ones_is_not(
    app: Any, make_user: Any
) -> None:
    committee = build_committee(app, make_user)
    st = app.extensions["expertpool"]
    session = st.sessions()
    history = History(session, make_user(role="centre_staff", centre="440100").id)
    project = history.draw("440100", _at(3), status=ProjectStatus.OPENED)
    row = session.query(EvaluationSession).filter_by(room_id=committee.room_id).one()
    row.project_id = project.id
    session.commit()
    committee.to_scoring()
    generous = {"B001": {"tech": "50", "service": "20"}, "B002": {"tech": "5", "service": "2"}}
    committee.submit_all({"e1": generous})
    session.expire_all()
    # the project is still open (opened, not awarded): nothing is read
    assert session_stats(session, [project], st.keys) == []
    project.status = ProjectStatus.AWARDED
    session.commit()
    [stats] = session_stats(session, [project], st.keys)
    assert (stats.experts, stats.no_shows) == (4, 0)  # e1-e4; the representative is not counted
    assert stats.started_at is not None and stats.closed_at is None and stats.minutes is None
    assert stats.deviations >= 1  # e1 scores stand out
    favourites = sorted(p.favoured or "" for p in stats.preferences)
    # e1 favours B001 (70 against a mean of 58); e2-e4 B002 (55 against 45.4); r1 gets none
    assert favourites == ["B001", "B002", "B002", "B002"]
    assert all(p.bidders == frozenset({"B001", "B002"}) for p in stats.preferences)
