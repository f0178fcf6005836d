"""A python-socketio room client that holds a list of server URLs and fails over between them.

On a lost connection (or an acknowledgement that does not come) it connects to the next URL,
joins again (receiving the full snapshot) and resends the action it had not seen acknowledged.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import socketio

from evaluation_room.handlers import NAMESPACE


class NoServer(Exception):
    """No server of the list accepted the connection in time."""


class FailoverMember:
    """One participant's connection; ``call`` returns an acknowledgement or fails over and
    resends.
    """

    def __init__(
        self,
        urls: list[str],
        cookie: str,
        room_id: str,
        *,
        first: int = 0,
        ack_timeout: float = 3.0,
    ) -> None:
        self.urls = urls
        self.headers = {"Cookie": f"session={cookie}"}
        self.room_id = room_id
        self.index = first
        self.ack_timeout = ack_timeout
        self.snapshots: list[dict[str, Any]] = []
        self.joins: list[dict[str, Any]] = []
        self.failovers = 0
        self.lock = threading.Lock()
        self.sio = self._new_client()
        self._connect(self.urls[self.index])

    def _new_client(self) -> socketio.Client:
        sio = socketio.Client(reconnection=False)
        sio.on("snapshot", self._on_snapshot, namespace=NAMESPACE)
        return sio

    def _on_snapshot(self, snap: dict[str, Any]) -> None:
        with self.lock:
            self.snapshots.append(snap)

    def _connect(self, url: str) -> None:
        # The room in the query, as the room page sends it: the proxy keys its affinity on it.
        self.sio.connect(
            f"{url}?room={self.room_id}",
            headers=self.headers,
            namespaces=[NAMESPACE],
            transports=["websocket"],
            wait_timeout=5,
        )
        ack = self.sio.call(
            "join", {"room_id": self.room_id}, namespace=NAMESPACE, timeout=self.ack_timeout
        )
        if not ack.get("ok"):
            raise NoServer(f"join refused at {url}: {ack}")
        self.joins.append(ack)

    def fail_over(self, deadline_seconds: float = 20.0) -> None:
        """Drop the connection and connect to the next server that answers (full snapshot on
        join).
        """
        self.failovers += 1
        close(self.sio)
        end = time.monotonic() + deadline_seconds
        while time.monotonic() < end:
            self.index = (self.index + 1) % len(self.urls)
            self.sio = self._new_client()
            try:
                self._connect(self.urls[self.index])
                return
            except Exception:  # try the next server
                close(self.sio)
                time.sleep(0.2)
        raise NoServer(f"no server of {self.urls} answered")

    def call(self, event: str, **payload: Any) -> dict[str, Any]:
        """Emit until acknowledged: a lost connection or a missing acknowledgement means fail over
        and resend.
        """
        payload.setdefault("room_id", self.room_id)
        for _attempt in range(5):
            try:
                if not self.sio.connected:
                    raise socketio.exceptions.DisconnectedError()
                ack: dict[str, Any] = self.sio.call(
                    event, payload, namespace=NAMESPACE, timeout=self.ack_timeout
                )
                return ack
            except (socketio.exceptions.TimeoutError, socketio.exceptions.SocketIOError):
                self.fail_over()
        raise NoServer(f"{event} was never acknowledged")

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> dict[str, Any]:
        """Wait for a pushed snapshot satisfying ``predicate``."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                for snap in reversed(self.snapshots):
                    if predicate(snap):
                        return snap
            time.sleep(0.02)
        raise AssertionError(
            f"no matching snapshot among seqs {[s['seq'] for s in self.snapshots]}"
        )

    def disconnect(self) -> None:
        """Close the connection."""
        self.sio.disconnect()


def close(sio: socketio.Client) -> None:
    """Close a client whose server may be gone, its websocket included (no socket left open)."""
    with contextlib.suppress(Exception):
        sio.disconnect()
    with contextlib.suppress(Exception):
        sio.eio.disconnect(abort=True)
    ws = getattr(sio.eio, "ws", None)
    if ws is not None:
        with contextlib.suppress(Exception):
            ws.close()
