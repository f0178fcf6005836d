"""A python-socketio client logged in as one user, for tests against a live server."""

from __future__ import annotations

import time
from typing import Any

import socketio
from flask import Flask

from evaluation_room.handlers import NAMESPACE
from tests.conftest import LiveServer, login_client


class LiveMember:
    """A python-socketio client logged in as one user, recording pushed snapshots."""

    def __init__(self, server: LiveServer, app: Flask, user: Any) -> None:
        flask_client = login_client(app.test_client(), user)
        cookie = flask_client.get_cookie("session")
        assert cookie is not None
        self.headers = {"Cookie": f"session={cookie.value}"}
        self.url = server.url
        self.snapshots: list[dict[str, Any]] = []
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("snapshot", self.snapshots.append, namespace=NAMESPACE)
        self.connect()

    def connect(self) -> None:
        """Connect over websocket with the login cookie."""
        self.sio.connect(
            self.url,
            headers=self.headers,
            namespaces=[NAMESPACE],
            transports=["websocket"],
            wait_timeout=10,
        )

    def call(self, event: str, **payload: Any) -> dict[str, Any]:
        """Emit and wait for the acknowledgement."""
        ack: dict[str, Any] = self.sio.call(event, payload, namespace=NAMESPACE, timeout=15)
        return ack

    def emit(
        self, event: str, payload: dict[str, Any], namespace: str = NAMESPACE, callback: bool = True
    ) -> Any:
        """The SocketIOTestClient call shape, so the committee helpers can drive live clients."""
        return self.call(event, **payload)

    def is_connected(self, namespace: str = NAMESPACE) -> bool:
        """Whether the client is connected."""
        return bool(self.sio.connected)

    def disconnect(self, namespace: str = NAMESPACE) -> None:
        """Disconnect."""
        self.sio.disconnect()

    def wait_for_seq(self, seq: int, timeout: float = 10) -> dict[str, Any]:
        """Wait until a pushed snapshot reaches ``seq``."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.snapshots and self.snapshots[-1]["seq"] >= seq:
                return self.snapshots[-1]
            time.sleep(0.02)
        raise AssertionError(f"no snapshot with seq {seq}: {[s['seq'] for s in self.snapshots]}")
