"""Small ready-made adapters: the system clock and an in-memory room store (embedded/demo use)."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from evaluation_room.errors import RoomNotFound, StaleState
from evaluation_room.model import RoomEvent


class SystemClock:
    """The real clock, in UTC."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)


class InMemoryRoomStore:
    """A thread-safe :class:`~evaluation_room.ports.RoomStore` in memory, with an event log.

    States are kept as JSON text, so anything that is not JSON-serialisable fails here too.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rooms: dict[str, tuple[int, str]] = {}
        self.events: list[dict[str, Any]] = []

    def load(self, room_id: str) -> dict[str, Any]:
        """Return the stored state."""
        with self._lock:
            if room_id not in self._rooms:
                raise RoomNotFound("no such room", room_id=room_id)
            data: dict[str, Any] = json.loads(self._rooms[room_id][1])
            return data

    def load_changed(self, room_id: str, known_seq: int) -> dict[str, Any] | None:
        """Return None while the stored seq is ``known_seq``, else the stored state."""
        with self._lock:
            stored = self._rooms.get(room_id)
            if stored is None:
                raise RoomNotFound("no such room", room_id=room_id)
            if stored[0] == known_seq:
                return None
            data: dict[str, Any] = json.loads(stored[1])
            return data

    def save(
        self,
        room_id: str,
        state: dict[str, Any],
        expected_seq: int | None,
        events: Sequence[RoomEvent],
    ) -> None:
        """Save if the stored seq equals ``expected_seq`` (None: must be new)."""
        text = json.dumps(state, ensure_ascii=False, allow_nan=False)
        rows = [json.dumps(e.to_dict(), ensure_ascii=False) for e in events]
        with self._lock:
            stored = self._rooms.get(room_id)
            stored_seq = stored[0] if stored else None
            if stored_seq != expected_seq:
                raise StaleState(
                    "the room was changed by someone else", expected=expected_seq, stored=stored_seq
                )
            self._rooms[room_id] = (int(state["seq"]), text)
            self.events.extend(json.loads(r) for r in rows)
