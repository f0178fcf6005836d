"""Real python-socketio clients against the app served on loopback (websocket transport)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.conftest import LiveServer, build_app, make_test_config
from tests.integration.room.conftest import MEMBERS, Committee
from tests.integration.room.live import LiveMember

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def live_app(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, _app: Flask
) -> Iterator[Flask]:
    """A second app on the same database that no Socket.IO test client ever touched.

    Flask-SocketIO's test client replaces the server's packet sending for good, so real
    clients need a server of their own.
    """
    # Every process of a deployment shares the key files (personal data is encrypted with them).
    app = build_app(
        make_test_config(
            tmp_path_factory.mktemp("live"),
            database_url,
            key_dir=str(_app.extensions["expertpool"].config.keys_path),
        )
    )
    yield app
    app.extensions["expertpool"].engine.dispose()


@pytest.fixture()
def live(committee: Committee, live_app: Flask, app: Flask) -> Iterator[Any]:
    """``live(name)``: that person's live client; the committee helpers then use live clients
    too.
    """
    server = LiveServer(live_app)
    committee.server_app = live_app

    def get(name: str) -> LiveMember:
        if name not in committee.clients:
            committee.clients[name] = LiveMember(server, app, committee.users[name])
        client: LiveMember = committee.clients[name]
        return client

    yield get
    # Closing a websocket client takes a few seconds each: close them all at once.
    lives = [c for c in committee.clients.values() if isinstance(c, LiveMember)]
    closers = [threading.Thread(target=c.sio.disconnect) for c in lives]
    for t in closers:
        t.start()
    for t in closers:
        t.join(15)
    committee.clients.clear()
    server.stop()
    live_app.extensions["expertpool"].sessions.remove()


def test_a_change_by_the_host_reaches_a_member_as_their_own_snapshot(
    committee: Committee, live: Any
) -> None:
    e1, host = live("e1"), live("h_gz")
    assert e1.call("join", room_id=committee.room_id)["ok"]
    assert host.call("join", room_id=committee.room_id)["ok"]
    ack = host.call("phase", room_id=committee.room_id, action="open")
    assert ack["ok"]
    snap = e1.wait_for_seq(ack["seq"])
    assert snap["phase"] == "opened" and snap["viewer"]["alias"] == "专家1"


def test_a_reconnecting_client_receives_the_full_current_snapshot(
    committee: Committee, live: Any
) -> None:
    e1, host = live("e1"), live("h_gz")
    e1.call("join", room_id=committee.room_id)
    e1.sio.disconnect()
    seq = host.call("phase", room_id=committee.room_id, action="open")["seq"]
    e1.connect()
    ack = e1.call("join", room_id=committee.room_id)
    assert ack["seq"] == ack["snapshot"]["seq"] == seq


def test_members_scoring_at_once_lose_no_acknowledged_score(
    committee: Committee, live: Any
) -> None:
    clients = {m: live(m) for m in (*MEMBERS, "h_gz", "h_sz", "sup")}
    committee.to_scoring()
    acks: dict[str, list[dict[str, Any]]] = {m: [] for m in MEMBERS}
    values = ["30", "30.5", "31", "31.5", "32"]

    def score(member: str) -> None:
        for v in values:
            acks[member].append(
                clients[member].call(
                    "enter_scores",
                    room_id=committee.room_id,
                    scores={"B001": {"tech": v}, "B002": {"tech": v}},
                )
            )

    threads = [threading.Thread(target=score, args=(m,)) for m in MEMBERS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for m in MEMBERS:
        # A refused save is reported (the client resends); an acknowledged one is never lost.
        assert all(a["ok"] or a["error"]["code"] == "stale_state" for a in acks[m]), acks[m]
        last_ok = max(i for i, a in enumerate(acks[m]) if a["ok"])
        sheet = committee.last_snapshot(m)["my_sheet"]["scores"]
        assert sheet["B001"]["tech"] == sheet["B002"]["tech"] == values[last_ok]
    assert sum(a["ok"] for m in MEMBERS for a in acks[m]) >= len(MEMBERS) * len(values) - 2
