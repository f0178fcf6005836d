"""Saving rooms with optimistic locking: retries on conflict, recorded refusals are kept."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from evaluation_room.adapters import InMemoryRoomStore
from evaluation_room.commands import create_room, run_command
from evaluation_room.errors import CheckInFailed, IllegalTransition, RoomNotFound, StaleState
from evaluation_room.model import Phase, RoomEvent
from evaluation_room.room import EvaluationRoom
from tests.unit.room.support import MAIN_HOST, RoomDriver


def stored(phase: Phase = Phase.SCHEDULED) -> tuple[RoomDriver, InMemoryRoomStore]:
    d = RoomDriver()
    d.to(phase)
    store = InMemoryRoomStore()
    create_room(store, d.room)
    return d, store


def test_a_command_is_saved_with_its_events_before_it_returns() -> None:
    d, store = stored()
    _, room = run_command(store, "room-1", d.clock, lambda r: r.open(MAIN_HOST))
    assert store.load("room-1")["phase"] == "opened"
    assert store.load("room-1")["seq"] == room.seq
    assert [e["seq"] for e in store.events] == list(range(1, room.seq + 1))
    assert store.events[-1]["kind"] == "opened"


def test_creating_a_room_twice_and_loading_an_unknown_room_are_refused() -> None:
    d, store = stored()
    with pytest.raises(StaleState):
        create_room(store, d.room)
    with pytest.raises(RoomNotFound):
        store.load("nope")


def test_a_refused_command_saves_nothing() -> None:
    d, store = stored()
    before = store.load("room-1")
    with pytest.raises(IllegalTransition):
        run_command(store, "room-1", d.clock, lambda r: r.archive(MAIN_HOST))
    assert store.load("room-1") == before


def test_a_wrong_check_in_code_is_saved_before_the_error_is_reported() -> None:
    d, store = stored(Phase.CHECK_IN)
    code, _ = run_command(store, "room-1", d.clock, lambda r: r.issue_check_in_code("e1", "e1"))[0]
    bad = f"{(int(code) + 1) % 1_000_000:06d}"
    with pytest.raises(CheckInFailed):
        run_command(store, "room-1", d.clock, lambda r: r.enter_check_in_code("e1", bad))
    state = store.load("room-1")
    e1 = next(p for p in state["participants"] if p["participant_id"] == "e1")
    assert e1["check_in"]["code"]["attempts"] == 1
    assert store.events[-1]["kind"] == "check_in_code_rejected"


class FakeRacingStore(InMemoryRoomStore):
    """Lets another process save first, once, just before our first save."""

    def __init__(self, rival: Any) -> None:
        super().__init__()
        self.rival = rival
        self.saves = 0

    def save(
        self,
        room_id: str,
        state: dict[str, Any],
        expected_seq: int | None,
        events: Sequence[RoomEvent],
    ) -> None:
        self.saves += 1
        if self.rival is not None and expected_seq is not None:
            rival, self.rival = self.rival, None
            rival(self)
        super().save(room_id, state, expected_seq, events)


def test_a_conflicting_save_is_retried_on_the_fresh_state_and_no_score_is_lost() -> None:
    d = RoomDriver()
    d.to(Phase.SCORING)

    def rival(store: InMemoryRoomStore) -> None:
        room = EvaluationRoom.from_state(store.load("room-1"), d.clock)
        seq = room.seq
        room.submit_sheet("e2", {b: {"tech": "41", "service": "11"} for b in ("B001", "B002")})
        store.save("room-1", room.to_state(), seq, room.drain_events())

    store = FakeRacingStore(rival)
    create_room(store, d.room)
    sheet = {b: {"tech": "42", "service": "12"} for b in ("B001", "B002")}
    run_command(store, "room-1", d.clock, lambda r: r.submit_sheet("e1", sheet))
    final = EvaluationRoom.from_state(store.load("room-1"), d.clock)
    assert {m for m, s in final.to_state()["sheets"].items() if s["submitted_at"]} == {"e1", "e2"}
    assert store.saves == 4  # create, ours (refused), the rival's, our retry
    seqs = [e["seq"] for e in store.events]
    assert seqs == sorted(set(seqs))


def test_retries_are_bounded() -> None:
    d = RoomDriver()

    class FakeAlwaysStale(InMemoryRoomStore):
        def save(
            self,
            room_id: str,
            state: dict[str, Any],
            expected_seq: int | None,
            events: Sequence[RoomEvent],
        ) -> None:
            if expected_seq is not None:
                raise StaleState("busy")
            super().save(room_id, state, expected_seq, events)

    store = FakeAlwaysStale()
    create_room(store, d.room)
    with pytest.raises(StaleState):
        run_command(store, "room-1", d.clock, lambda r: r.open(MAIN_HOST), retries=2)
