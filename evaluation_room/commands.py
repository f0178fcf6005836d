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

from evaluation_room.cache import RoomSlot
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
    slot: RoomSlot | None = None,
) -> tuple[T, EvaluationRoom]:
    """Apply ``command`` to the stored room and save it; return its result and the saved room.

    A :class:`RoomError` that recorded something (``is_state_changed``, e.g. a wrong check-in
    code) is saved before it is re-raised. Nothing is saved when the command changed nothing.

    With a ``slot`` (the caller holds that room's lock in a :class:`RoomCache`) the cached room
    is used when the store's ``seq`` has not moved on, and the room is cached again once saved;
    a room whose command failed, or whose save lost the race, is dropped and loaded afresh.
    """
    attempt = 0
    while True:
        room = _load(store, room_id, clock, slot)
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
            if slot is not None:
                slot.put(room)
            raise
        if room.seq != seen:
            try:
                store.save(room_id, room.to_state(), seen, room.drain_events())
            except StaleState:
                if attempt >= retries:
                    raise
                attempt += 1
                continue
        if slot is not None:
            slot.put(room)
        return result, room


def _load(store: RoomStore, room_id: str, clock: Clock, slot: RoomSlot | None) -> EvaluationRoom:
    cached = slot.take() if slot is not None else None
    if cached is not None:
        state = store.load_changed(room_id, cached.seq)
        if state is None:
            return cached
        return EvaluationRoom.from_state(state, clock)
    return EvaluationRoom.from_state(store.load(room_id), clock)
