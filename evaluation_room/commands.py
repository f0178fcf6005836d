"""Run one room command against a store: load, apply, save under optimistic locking, retry.

This is how every handler should change a room, so that no acknowledged change is lost: the
caller acknowledges only after :func:`run_command` returns, i.e. after the state and its
events are saved. On a conflicting save (another process changed the room first) the command
is re-run on the fresh state, so commands must not have side effects outside the room other
than through idempotent collaborators; messages (check-in codes) are sent after it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from evaluation_room.errors import RoomError, StaleState
from evaluation_room.ports import Clock, RoomStore
from evaluation_room.room import EvaluationRoom

T = TypeVar("T")


def create_room(store: RoomStore, room: EvaluationRoom) -> None:
    """Save a newly created room; raises :class:`StaleState` if the id is taken."""
    store.save(room.room_id, room.to_state(), None, room.drain_events())


def run_command(
    store: RoomStore,
    room_id: str,
    clock: Clock,
    command: Callable[[EvaluationRoom], T],
    *,
    retries: int = 3,
) -> tuple[T, EvaluationRoom]:
    """Apply ``command`` to the stored room and save it; return its result and the saved room.

    A :class:`RoomError` that recorded something (``is_state_changed``, e.g. a wrong check-in
    code) is saved before it is re-raised. Nothing is saved when the command changed nothing.
    """
    attempt = 0
    while True:
        room = EvaluationRoom.from_state(store.load(room_id), clock)
        seen = room.seq
        try:
            result = command(room)
        except RoomError as exc:
            if not (exc.is_state_changed and room.seq != seen):
                raise
            try:
                store.save(room_id, room.to_state(), seen, room.drain_events())
            except StaleState:
                if attempt >= retries:
                    raise
                attempt += 1
                continue
            raise
        if room.seq != seen:
            try:
                store.save(room_id, room.to_state(), seen, room.drain_events())
            except StaleState:
                if attempt >= retries:
                    raise
                attempt += 1
                continue
        return result, room
