"""`GET /api/v1/draws/<id>/panel` and `GET /api/v1/rooms/<id>` answer per viewer as the
visibility table says: before opening status and ids only; after opening the session's
supervisors everyone seated, a venue's host those at their venue, machine clients counts only."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from expertpool.accounts import users
from expertpool.draws import panels, sealing
from expertpool.experts.models import Expert
from expertpool.rooms import opening
from expertpool.rooms import sessions as rooms
from tests.conftest import PASSWORD
from tests.integration.draws.conftest import EVALUATION, NOW, Setup, add_experts

pytestmark = pytest.mark.integration


def _get(setup: Setup, user: Any, path: str, *, client: str | None = None) -> Any:
    token = users.issue_token(setup.session, user, 1, client=client)[0]
    resp = setup.app.test_client().get(path, headers={"Authorization": f"Bearer {token}"})
    return resp


def _drawn(setup: Setup) -> tuple[Any, list[int]]:
    add_experts(setup.app, 12, start=1600)
    d = setup.full_draw()
    accepted = [int(e) for e in sealing.open_result(d, setup.keys).groups[0].primaries]
    for expert in accepted:
        panels.record_answer(
            setup.session,
            draw_id=d.draw_id,
            expert_id=expert,
            answer="accepted",
            ctx=setup.notify_ctx,
            now=NOW,
        )
    return d, accepted


def _open(setup: Setup) -> Any:
    setup.clock.now = EVALUATION
    return opening.open_lot(
        setup.session,
        project_id=setup.project_id,
        lot_id=None,
        actor=setup.operator,
        supervisor_username=setup.supervisor.username,
        supervisor_password=PASSWORD,
        keys=setup.keys,
        settings=rooms.room_settings(setup.config),
        now=EVALUATION,
    )


def test_before_opening_every_viewer_gets_status_and_ids_only(setup: Setup, make_user: Any) -> None:
    d, _ = _drawn(setup)
    path = f"/api/v1/draws/{d.draw_id}/panel"
    for user, client in (
        (setup.supervisor, None),
        (setup.operator, None),
        (setup.operator, "gz-trading-system"),
        (make_user(role="admin"), None),
    ):
        body = _get(setup, user, path, client=client).get_json()
        assert body["phase"] == "committed" and body["status"] == "sealed"
        assert body["members"] == [] and body["groups"] == []


def test_after_opening_each_viewer_sees_what_the_table_allows(setup: Setup, make_user: Any) -> None:
    d, accepted = _drawn(setup)
    row = _open(setup)
    path = f"/api/v1/draws/{d.draw_id}/panel"
    full = _get(setup, setup.supervisor, path).get_json()
    assert full["phase"] == "opened"
    assert sorted(m["expert_id"] for m in full["members"]) == sorted(accepted)
    assert {m["room_id"] for m in full["members"]} == {row.room_id}
    assert all(m["venue"] and m["group"] and m["status"] == "accepted" for m in full["members"])
    host = _get(setup, setup.operator, path).get_json()  # all sit at the Guangzhou venue
    assert sorted(m["expert_id"] for m in host["members"]) == sorted(accepted)
    other_staff = make_user(role="centre_staff", centre="440300")
    for user in (other_staff, make_user(role="admin")):
        assert _get(setup, user, path).get_json()["members"] == []
    outsider = make_user(role="supervisor", department="440300-coordination")
    assert _get(setup, outsider, path).get_json()["members"] == []
    machine = _get(setup, setup.operator, path, client="gz-trading-system").get_json()
    assert machine["members"] == []
    assert sum(g["states"].get("accepted", 0) for g in machine["groups"]) == len(accepted)
    assert "expert_id" not in str(machine) and "rank" not in str(machine)


def test_the_room_answers_members_per_viewer(setup: Setup, make_user: Any) -> None:
    _d, accepted = _drawn(setup)
    row = _open(setup)
    path = f"/api/v1/rooms/{row.room_id}"
    sup = _get(setup, setup.supervisor, path).get_json()
    assert sorted(m["expert_id"] for m in sup["members"]) == sorted(accepted)
    assert all(m["role"] == "expert" and m["venue"] for m in sup["members"])
    experts = list(setup.session.execute(select(Expert).where(Expert.id.in_(accepted))).scalars())
    me = experts[0]
    from expertpool.accounts.models import User

    mine = _get(setup, setup.session.get(User, me.user_id), path).get_json()
    shown = [m["expert_id"] for m in mine["members"] if m["expert_id"] is not None]
    assert shown == [me.id]  # co-members as aliases only
    assert len(mine["members"]) == len(accepted)
    stranger = make_user(role="expert")
    assert _get(setup, stranger, path).status_code == 404
    machine = _get(setup, setup.operator, path, client="gz-trading-system").get_json()
    assert machine["members"] == [] and machine["phase"] == row.phase
