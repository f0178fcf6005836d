"""This process's decoded rooms, one lock per room, so a busy room is not decoded on every event.

Decoding a room's whole JSON state into its dataclasses was the largest single cost of a room
event. :class:`RoomCache` keeps the room each process last saved or loaded; before a command
runs, the store is asked only whether its ``seq`` moved on (``load_changed``), and the state is
fetched and decoded again only when it did (another process, or any other writer, saved a
newer one). A room is taken out of the cache while a command runs on it and put back only
after the command saved (or changed nothing), so a half-applied command is never reused.

Commands on the same room in this process run one at a time under the room's lock (a
greenlet lock under gevent's monkey-patching); callers keep holding it while they build the
snapshots and acknowledgement from the saved room, so nobody reads a room another command is
changing. Different rooms never wait for each other. Other processes are kept apart by the
store's optimistic lock on ``seq``, as before.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from evaluation_room.room import EvaluationRoom

DEFAULT_CAPACITY = 512
"""Rooms kept per process (a room in scoring decodes to well under a megabyte)."""


@dataclass
class RoomSlot:
    """One room's place in the cache, handed to the holder of the room's lock."""

    cache: RoomCache
    room_id: str

    def take(self) -> EvaluationRoom | None:
        """Remove and return the cached room (None when absent)."""
        return self.cache._pop(self.room_id)

    def put(self, room: EvaluationRoom) -> None:
        """Keep ``room`` (saved, with no pending events) for the next command."""
        if room.pending_events:
            raise ValueError("only a saved room may be cached")
        self.cache._put(self.room_id, room)


class RoomCache:
    """Decoded rooms of this process (least recently used dropped first) and their locks."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._rooms: OrderedDict[str, EvaluationRoom] = OrderedDict()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}
        self._guard = threading.Lock()

    @contextmanager
    def hold(self, room_id: str) -> Iterator[RoomSlot]:
        """Hold the room's lock for the block (waiting for other holders in this process)."""
        with self._guard:
            lock, users = self._locks.get(room_id) or (threading.Lock(), 0)
            self._locks[room_id] = (lock, users + 1)
        try:
            with lock:
                yield RoomSlot(self, room_id)
        finally:
            with self._guard:
                lock, users = self._locks[room_id]
                if users == 1:
                    del self._locks[room_id]
                else:
                    self._locks[room_id] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._rooms)

    def clear(self) -> None:
        """Forget every cached room (the next command on each loads it again)."""
        with self._guard:
            self._rooms.clear()

    def _pop(self, room_id: str) -> EvaluationRoom | None:
        with self._guard:
            return self._rooms.pop(room_id, None)

    def _put(self, room_id: str, room: EvaluationRoom) -> None:
        with self._guard:
            self._rooms[room_id] = room
            self._rooms.move_to_end(room_id)
            while len(self._rooms) > self.capacity:
                self._rooms.popitem(last=False)
