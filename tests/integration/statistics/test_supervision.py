"""The supervision channel's sessions: the assigned supervisor follows a session read-only;
other supervisors of the department see its status only; nobody else sees it."""

from __future__ import annotations

from typing import Any

import pytest

from expertpool.rooms.models import EvaluationSession
from tests.integration.room.conftest import build_committee
from tests.integration.statistics.test_figures import History, _at

pytestmark = pytest.mark.integration


def test_the_assigned_supervisor_follows_and_others_see_the_status(
    app: Any, client: Any, login: Any, make_user: Any
) -> None:
    committee = build_committee(app, make_user)
    session = app.extensions["expertpool"].sessions()
    history = History(session, make_user(role="centre_staff", centre="440100").id)
    project = history.draw("440100", _at(3))
    row = session.query(EvaluationSession).filter_by(room_id=committee.room_id).one()
    row.project_id = project.id
    session.commit()

    login(client, committee.users["sup"])
    listing = client.get("/statistics/sessions").get_data(as_text=True)
    assert project.code in listing and f"/statistics/sessions/{committee.room_id}" in listing
    follow = client.get(f"/statistics/sessions/{committee.room_id}")
    assert follow.status_code == 200
    page = follow.get_data(as_text=True)
    assert 'id="follow-members"' in page and "<form" not in page.split("<main")[-1]

    other = make_user(role="supervisor")
    client.post("/logout")
    login(client, other)
    listing = client.get("/statistics/sessions").get_data(as_text=True)
    assert project.code in listing  # the status, ...
    assert f"/statistics/sessions/{committee.room_id}" not in listing  # ... not the room
    assert client.get(f"/statistics/sessions/{committee.room_id}").status_code == 404

    outside = make_user(role="supervisor", department="440300-housing")
    client.post("/logout")
    login(client, outside)
    assert project.code not in client.get("/statistics/sessions").get_data(as_text=True)
    assert client.get(f"/statistics/sessions/{committee.room_id}").status_code == 404
