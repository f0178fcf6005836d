"""A stored evaluation session with logged-in Socket.IO test clients for every participant."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask

from evaluation_room.handlers import NAMESPACE
from expertpool.notifications.notifier import services_of
from expertpool.rooms import sessions as rooms
from tests.conftest import PASSWORD, login_client


def rooms_notifier(app: Flask) -> Any:
    """The notifier a server app sends check-in codes with."""
    with app.app_context():
        return services_of(app).notifier


FORM: dict[str, Any] = {
    "items": [
        {
            "item_id": "price",
            "name": "价格",
            "kind": "objective",
            "minimum": "0",
            "maximum": "30",
            "step": "0.01",
            "weight": "1",
            "formula": "lowest_price",
            "params": {},
        },
        {
            "item_id": "tech",
            "name": "技术方案",
            "kind": "subjective",
            "minimum": "0",
            "maximum": "50",
            "step": "0.5",
            "weight": "1",
            "formula": None,
            "params": {},
        },
        {
            "item_id": "service",
            "name": "售后服务",
            "kind": "subjective",
            "minimum": "0",
            "maximum": "20",
            "step": "0.5",
            "weight": "1",
            "formula": None,
            "params": {},
        },
    ]
}
BIDS: list[dict[str, Any]] = [
    {
        "bidder_code": "B001",
        "bidder_name": "甲公司",
        "price": "1000000",
        "checks": {"licence": True},
    },
    {
        "bidder_code": "B002",
        "bidder_name": "乙公司",
        "price": "950000",
        "checks": {"licence": True},
    },
]
MEMBERS = ["e1", "e2", "e3", "e4", "r1"]
VENUE_OF = {"e1": "gz", "e2": "gz", "e3": "gz", "e4": "sz", "r1": "sz"}


@dataclass
class Committee:
    """A stored session and its people; ``client(name)`` is that person's Socket.IO client."""

    app: Flask
    room_id: str
    users: dict[str, Any]
    clients: dict[str, Any] = field(default_factory=dict)
    server_app: Flask | None = None
    """The app serving the clients when it is not ``app`` (live servers); it sends the codes."""

    def client(self, name: str) -> Any:
        """A connected Socket.IO test client logged in as ``name`` (created once)."""
        if name not in self.clients:
            flask_client = login_client(self.app.test_client(), self.users[name])
            sio = self.app.extensions["socketio"]
            self.clients[name] = sio.test_client(
                self.app, namespace=NAMESPACE, flask_test_client=flask_client
            )
        return self.clients[name]

    def emit(self, name: str, event: str, **payload: Any) -> dict[str, Any]:
        """Emit ``event`` for this session as ``name``; return the acknowledgement."""
        payload.setdefault("room_id", self.room_id)
        ack: dict[str, Any] = self.client(name).emit(
            event, payload, namespace=NAMESPACE, callback=True
        )
        return ack

    def ok(self, name: str, event: str, **payload: Any) -> dict[str, Any]:
        """Emit and assert the acknowledgement is positive."""
        ack = self.emit(name, event, **payload)
        assert ack["ok"], (name, event, ack)
        return ack

    def snapshots(self, name: str) -> list[dict[str, Any]]:
        """Snapshots pushed to ``name`` since the last call."""
        received = self.client(name).get_received(NAMESPACE)
        return [m["args"][0] for m in received if m["name"] == "snapshot"]

    def last_snapshot(self, name: str) -> dict[str, Any]:
        """The viewer's current snapshot (asked for explicitly)."""
        snap: dict[str, Any] = self.ok(name, "snapshot")["snapshot"]
        return snap

    def pid(self, name: str) -> str:
        """The participant id of a person (from the host's or the supervisor's view)."""
        return str(self.ok(name, "snapshot")["snapshot"]["viewer"]["participant_id"])

    def console_code(self) -> str:
        """The code in the newest console SMS."""
        if self.server_app is None:
            notifier = services_of(self.app).notifier
        else:
            notifier = rooms_notifier(self.server_app)
        body = notifier.entries()[-1].body
        return "".join(ch for ch in body.split("签到码为")[1][:6])

    def check_in(self, name: str) -> None:
        """Run the three check-in steps for a member."""
        self.ok(name, "request_code")
        self.ok(name, "enter_code", code=self.console_code())
        host = "h_gz" if VENUE_OF[name] == "gz" else "h_sz"
        self.ok(host, "confirm_identity", member=self.pid(name), seat=f"A-{name}")

    def to_scoring(self) -> None:
        """Open, check everyone in, elect e1, start scoring."""
        self.ok("h_gz", "set_bids", bids=BIDS)
        for action in ("open", "start_check_in"):
            self.ok("h_gz", "phase", action=action)
        for m in MEMBERS:
            self.check_in(m)
        self.ok("h_gz", "phase", action="start_election")
        for m in MEMBERS:
            self.ok(m, "vote", candidate="专家1")
        self.ok("h_gz", "phase", action="start_scoring")

    def submit_all(self, sheets: dict[str, dict[str, dict[str, str]]] | None = None) -> None:
        """Every member submits (uniform scores unless given)."""
        for m in MEMBERS:
            scores = (sheets or {}).get(
                m, {b: {"tech": "40", "service": "15"} for b in ("B001", "B002")}
            )
            self.ok(m, "submit_sheet", scores=scores)


@pytest.fixture()
def committee(app: Flask, make_user: Callable[..., Any]) -> Iterator[Committee]:
    """Five members (e1-e3 in Guangzhou, e4 and the representative r1 in Shenzhen), two hosts, a
    supervisor.
    """
    c = build_committee(app, make_user)
    yield c
    for cl in c.clients.values():
        if cl.is_connected(NAMESPACE):
            cl.disconnect(NAMESPACE)


def build_committee(
    app: Flask,
    make_user: Callable[..., Any],
    *,
    form: dict[str, Any] | None = FORM,
    settings: Any = None,
) -> Committee:
    """Create the people and the stored session of the standard committee (``settings``:
    room settings instead of the app's defaults)."""
    people = {m: make_user(role="expert", display_name=f"真名{m}") for m in MEMBERS}
    people["h_gz"] = make_user(role="centre_staff", centre="440100", display_name="广州主持人")
    people["h_sz"] = make_user(role="centre_staff", centre="440300", display_name="深圳主持人")
    people["sup"] = make_user(role="supervisor", display_name="监督员甲")
    people["outsider"] = make_user(role="expert")
    panel = rooms.PanelDescription(
        title="某医院设备采购",
        project_code="GZ-2026-001",
        lot="1",
        venues=[rooms.VenueSpec("gz", "广州主场", True), rooms.VenueSpec("sz", "深圳副场")],
        members=[
            rooms.SeatSpec(
                people[m].id,
                "representative" if m == "r1" else "expert",
                VENUE_OF[m],
                f"S-{m}",
                f"+86138000000{i:02d}",
            )
            for i, m in enumerate(MEMBERS)
        ],
        hosts=[rooms.StaffSpec(people["h_gz"].id, "gz"), rooms.StaffSpec(people["h_sz"].id, "sz")],
        supervisors=[rooms.StaffSpec(people["sup"].id)],
        form=form,
    )
    st = app.extensions["expertpool"]
    row = rooms.create_session(
        st.sessions(),
        panel,
        actor="test",
        settings=settings or rooms.room_settings(st.config),
        keys=st.keys,
    )
    return Committee(app, row.room_id, people)


__all__ = ["BIDS", "FORM", "MEMBERS", "PASSWORD", "VENUE_OF", "Committee"]
