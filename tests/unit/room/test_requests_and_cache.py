"""Per-member request numbers (an older change never overwrites a newer one) and the room cache."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from evaluation_room.adapters import InMemoryRoomStore
from evaluation_room.cache import RoomCache
from evaluation_room.commands import run_command
from evaluation_room.errors import InvalidInput, StaleRequest
from evaluation_room.handlers import safely
from evaluation_room.model import Phase
from evaluation_room.room import EvaluationRoom
from tests.unit.room.support import MAIN_HOST, RoomDriver
from tests.unit.room.test_handlers import make


def scoring_room() -> tuple[RoomDriver, str]:
    d = RoomDriver()
    d.to(Phase.SCORING)
    return d, d.members[0]


def test_a_request_older_than_an_applied_one_is_refused_and_changes_nothing() -> None:
    d, m = scoring_room()
    with d.room.request(m, 5):
        d.room.enter_scores(m, {"B001": {"tech": "30"}})
    seq = d.room.seq
    for old in (5, 4, 1):
        with pytest.raises(StaleRequest) as err, d.room.request(m, old):
            d.room.enter_scores(m, {"B001": {"tech": "10"}})
        assert err.value.details == {"req": old, "last_request": 5}
    assert d.room.seq == seq
    assert d.room.snapshot(m)["my_sheet"]["scores"]["B001"]["tech"] == "30"
    assert d.room.snapshot(m)["viewer"]["last_request"] == 5
    with d.room.request(m, 9):  # gaps are fine: numbers only have to grow
        d.room.enter_scores(m, {"B001": {"tech": "31"}})
    assert d.room.last_request(m) == 9


def test_numbers_are_per_participant_and_recorded_only_with_a_change() -> None:
    d, m = scoring_room()
    other = d.members[1]
    with d.room.request(m, 3):
        d.room.enter_scores(m, {"B001": {"tech": "30"}})
    with d.room.request(other, 1):  # another member's numbering is independent
        d.room.enter_scores(other, {"B001": {"tech": "20"}})
    with d.room.request(m, 4):  # a block that changes nothing records nothing
        pass
    assert d.room.last_request(m) == 3
    with d.room.request(m, 4):
        d.room.enter_scores(m, {"B001": {"tech": "32"}})
    # The number survives saving and loading, and a later unnumbered change keeps it.
    room = EvaluationRoom.from_state(d.room.to_state(), d.clock)
    room.enter_scores(m, {"B001": {"tech": "33"}})
    assert room.last_request(m) == 4
    assert room.last_request(other) == 1


@pytest.mark.parametrize("req", [0, -1, "7", 7.0, True, None])
def test_a_malformed_request_number_is_invalid_input(req: Any) -> None:
    d, m = scoring_room()
    with pytest.raises(InvalidInput) as err, d.room.request(m, req):
        pass
    assert err.value.fields == {"req": "positive integer"}


def test_the_handler_refuses_a_late_older_change_after_a_newer_acknowledged_one() -> None:
    """A client gave up on req 7 (no answer in time) and sent req 8; 7 arrives last."""
    h, identity, _, d = make()
    identity.user_id = "u_h_gz"
    d.to(Phase.SCORING)
    h.store.save("room-1", d.room.to_state(), h.store.load("room-1")["seq"], d.room.drain_events())
    identity.user_id = "u_e1"
    newer = safely(h.enter_scores)(
        {"room_id": "room-1", "req": 8, "scores": {"B001": {"tech": "41"}}}
    )
    assert newer["ok"]
    late = safely(h.enter_scores)(
        {"room_id": "room-1", "req": 7, "scores": {"B001": {"tech": "12"}}}
    )
    assert late["error"]["code"] == "stale_request"
    assert late["error"]["details"]["last_request"] == 8
    snap = safely(h.snapshot)({"room_id": "room-1"})["snapshot"]
    assert snap["my_sheet"]["scores"]["B001"]["tech"] == "41"
    assert snap["viewer"]["last_request"] == 8
    # Read-only events ignore the number; a chat-free handler set has nothing else to check.
    assert safely(h.snapshot)({"room_id": "room-1", "req": 1})["ok"]


class CountingStore(InMemoryRoomStore):
    """The in-memory store, counting full loads (the expensive decode path)."""

    def __init__(self) -> None:
        super().__init__()
        self.full_loads = 0

    def load(self, room_id: str) -> dict[str, Any]:
        self.full_loads += 1
        return super().load(room_id)

    def load_changed(self, room_id: str, known_seq: int) -> dict[str, Any] | None:
        state = super().load_changed(room_id, known_seq)
        self.full_loads += state is not None
        return state


def stored_room() -> tuple[CountingStore, RoomDriver]:
    d = RoomDriver()
    store = CountingStore()
    store.save("room-1", d.room.to_state(), None, d.room.drain_events())
    return store, d


def test_the_cached_room_is_used_until_someone_else_saves_a_newer_one() -> None:
    store, d = stored_room()
    cache = RoomCache()

    with cache.hold("room-1") as slot:
        run_command(store, "room-1", d.clock, lambda r: r.open(MAIN_HOST), slot=slot)
    with cache.hold("room-1") as slot:
        run_command(store, "room-1", d.clock, lambda r: r.pause(MAIN_HOST, "断网"), slot=slot)
    with cache.hold("room-1") as slot:
        _, room = run_command(store, "room-1", d.clock, lambda r: r.seq, slot=slot)
    assert store.full_loads == 1 and room.phase is Phase.PAUSED
    # Another process saves: the next command sees its state, not the cached one.
    other = EvaluationRoom.from_state(store.load("room-1"), d.clock)
    other.resume(MAIN_HOST)
    store.save("room-1", other.to_state(), other.seq - 1, other.drain_events())
    loads = store.full_loads
    with cache.hold("room-1") as slot:
        _, room = run_command(store, "room-1", d.clock, lambda r: r.seq, slot=slot)
    assert store.full_loads == loads + 1 and room.phase is Phase.OPENED


def test_a_failed_command_does_not_leave_its_half_applied_room_in_the_cache() -> None:
    store, d = stored_room()
    cache = RoomCache()

    def half_then_fail(room: EvaluationRoom) -> None:
        room._s.pause_reason = "changed in memory only"
        raise InvalidInput("refused", fields={"x": "bad"})

    with cache.hold("room-1") as slot:
        run_command(store, "room-1", d.clock, lambda r: r.open(MAIN_HOST), slot=slot)
    with pytest.raises(InvalidInput), cache.hold("room-1") as slot:
        run_command(store, "room-1", d.clock, half_then_fail, slot=slot)
    assert len(cache) == 0
    with cache.hold("room-1") as slot:
        _, room = run_command(store, "room-1", d.clock, lambda r: r, slot=slot)
    assert room.to_state()["pause_reason"] == ""


def test_commands_on_one_room_take_turns_and_other_rooms_do_not_wait() -> None:
    cache = RoomCache()
    order: list[str] = []
    inside = threading.Event()

    def slow() -> None:
        with cache.hold("a"):
            order.append("slow in")
            inside.set()
            time.sleep(0.2)
            order.append("slow out")

    t = threading.Thread(target=slow)
    t.start()
    inside.wait(5)
    with cache.hold("b"):
        order.append("other room")
    with cache.hold("a"):
        order.append("same room")
    t.join()
    assert order == ["slow in", "other room", "slow out", "same room"]
    assert cache._locks == {}


def test_the_least_recently_used_room_is_dropped_beyond_capacity() -> None:
    cache = RoomCache(capacity=2)
    rooms = {}
    for name in ("a", "b", "c"):
        d = RoomDriver()
        rooms[name] = d.room
        d.room.drain_events()
        with cache.hold(name) as slot:
            slot.put(d.room)
    assert len(cache) == 2
    with cache.hold("a") as slot:
        assert slot.take() is None
    with cache.hold("c") as slot:
        assert slot.take() is rooms["c"]
    d = RoomDriver()
    with cache.hold("x") as slot, pytest.raises(ValueError, match="saved"):
        slot.put(d.room)  # unsaved events
    with pytest.raises(ValueError):
        RoomCache(capacity=0)
