"""The database room store under real threads: optimistic saves never lose an acknowledged score."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from evaluation_room.adapters import SystemClock
from evaluation_room.commands import run_command
from evaluation_room.errors import StaleState
from expertpool.accounts import users
from expertpool.rooms.models import RoomEventRow
from expertpool.rooms.store import SqlRoomStore
from tests.conftest import PASSWORD
from tests.integration.room.conftest import MEMBERS, build_committee

pytestmark = pytest.mark.integration
VALUES = [f"{n / 2:.1f}" for n in range(40, 60)]


def race(app: Flask) -> None:
    counter = {"n": 0}

    def make_user(role: str = "expert", centre: str | None = None, **kw: Any) -> Any:
        counter["n"] += 1
        return users.create_user(
            app.extensions["expertpool"].sessions(),
            actor="test",
            username=f"{role.replace('_', '-')}{counter['n']}",
            display_name=kw.get("display_name", "x"),
            password=PASSWORD,
            role=role,
            centre_code=centre or ("440100" if role == "centre_staff" else None),
        )

    committee = build_committee(app, make_user)
    committee.to_scoring()
    pids = {m: committee.pid(m) for m in MEMBERS}
    for c in committee.clients.values():
        c.disconnect("/room")
    store = SqlRoomStore(
        app.extensions["expertpool"].sessions, None, app.extensions["expertpool"].keys
    )
    acked: dict[str, list[str]] = {m: [] for m in MEMBERS}
    stale: list[str] = []
    start = threading.Barrier(len(MEMBERS))

    def score(member: str) -> None:
        with app.app_context():
            start.wait()
            for v in VALUES:
                try:
                    run_command(
                        store,
                        committee.room_id,
                        SystemClock(),
                        lambda r, v=v: r.enter_scores(pids[member], {"B001": {"tech": v}}),
                        retries=20,
                    )
                except StaleState:
                    stale.append(member)
                    continue
                acked[member].append(v)
            app.extensions["expertpool"].sessions.remove()

    threads = [threading.Thread(target=score, args=(m,)) for m in MEMBERS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    state = store.load(committee.room_id)
    sheets = state["sheets"]
    for m in MEMBERS:
        assert acked[m], m
        assert sheets[pids[m]]["entries"]["B001"]["tech"][-1]["value"] == acked[m][-1]
    session = app.extensions["expertpool"].sessions()
    seqs = session.execute(select(RoomEventRow.seq).order_by(RoomEventRow.seq)).scalars().all()
    assert seqs == list(range(1, state["seq"] + 1))
    assert sum(len(v) for v in acked.values()) + len(stale) == len(MEMBERS) * len(VALUES)


def test_concurrent_scores_on_the_configured_database_are_all_kept(app: Flask) -> None:
    race(app)


@pytest.mark.needs_postgres
def test_concurrent_scores_on_postgresql_are_all_kept(pg_app: Flask) -> None:
    race(pg_app)
