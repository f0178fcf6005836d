"""The handler layer without Flask: identity per event, acknowledgements, per-viewer pushes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest

from evaluation_room.adapters import InMemoryRoomStore
from evaluation_room.commands import create_room
from evaluation_room.handlers import (
    NoConflicts,
    NoReplacements,
    RoomHandlers,
    personal_room,
    safely,
)
from evaluation_room.model import MemberRef
from tests.unit.room.support import MAIN_HOST, RoomDriver


@dataclass
class FakeIdentity:
    """Whoever ``user_id`` currently names (None: logged out)."""

    user_id: str | None = None

    def current_user_id(self) -> str | None:
        """Return the current user."""
        return self.user_id


@dataclass
class FakeEmitter:
    """Records every emit."""

    sent: list[tuple[str, Any, str]] = field(default_factory=list)

    def emit(self, event: str, *args: Any, **kwargs: Any) -> None:
        """Record the event, its payload and its target room."""
        self.sent.append((event, args[0], kwargs["to"]))


@dataclass
class FakeCodeSender:
    """Keeps the codes it was asked to send."""

    codes: list[tuple[str, str]] = field(default_factory=list)

    def send_check_in_code(
        self, room_id: str, member: MemberRef, code: str, expires_at: datetime
    ) -> None:
        """Record the code."""
        self.codes.append((member.participant_id, code))


def make() -> tuple[RoomHandlers, FakeIdentity, FakeEmitter, RoomDriver]:
    """Handlers over an in-memory store holding the standard room (scheduled)."""
    d = RoomDriver()
    store = InMemoryRoomStore()
    create_room(store, d.room)
    identity, emitter = FakeIdentity(), FakeEmitter()
    h = RoomHandlers(
        store=store,
        codes=FakeCodeSender(),
        authenticator=d.auth,
        identity=identity,
        clock=d.clock,
        conflicts=NoConflicts(),
        replacements=NoReplacements(),
        emitter=emitter,
    )
    return h, identity, emitter, d


def test_a_change_pushes_each_participant_their_own_snapshot_and_nothing_else() -> None:
    h, identity, emitter, _ = make()
    identity.user_id = "u_h_gz"
    ack = safely(h.phase)({"room_id": "room-1", "action": "open"})
    assert ack["ok"]
    targets = {to: snap for event, snap, to in emitter.sent if event == "snapshot"}
    assert set(targets) == {
        personal_room("room-1", p) for p in ["e1", "e2", "e3", "e4", "r1", MAIN_HOST, "h_sz", "sup"]
    }
    for to, snap in targets.items():
        assert to.endswith(":" + snap["viewer"]["participant_id"])
        assert snap["seq"] == ack["seq"]


def test_identity_is_asked_on_every_event_and_a_logout_is_refused() -> None:
    h, identity, _, _ = make()
    identity.user_id = "u_e1"
    assert safely(h.snapshot)({"room_id": "room-1"})["ok"]
    identity.user_id = None
    assert safely(h.snapshot)({"room_id": "room-1"})["error"]["code"] == "unauthenticated"


def test_a_refused_or_read_only_event_pushes_nothing() -> None:
    h, identity, emitter, _ = make()
    identity.user_id = "u_e1"
    assert (
        safely(h.phase)({"room_id": "room-1", "action": "open"})["error"]["code"] == "not_allowed"
    )
    assert safely(h.snapshot)({"room_id": "room-1"})["ok"]
    assert emitter.sent == []


@pytest.mark.parametrize(
    "payload", [None, "room-1", ["room-1"], {"room_id": ""}, {"room_id": "room-1", "seq": "3"}]
)
def test_malformed_payloads_are_answered_with_invalid_input(payload: Any) -> None:
    h, identity, _, _ = make()
    identity.user_id = "u_h_gz"
    assert safely(h.resume)(payload)["error"]["code"] == "invalid_input"


def test_an_unexpected_error_is_answered_and_not_acknowledged() -> None:
    def broken(payload: Any) -> dict[str, Any]:
        raise RuntimeError("boom")

    assert safely(broken)({})["error"]["code"] == "internal_error"
    with pytest.raises(RuntimeError):
        safely(broken, propagate=True)({})


def test_a_code_is_sent_only_after_the_room_is_saved() -> None:
    h, identity, _, _ = make()
    identity.user_id = "u_h_gz"
    for action in ("open", "start_check_in"):
        assert safely(h.phase)({"room_id": "room-1", "action": action})["ok"]
    identity.user_id = "u_e1"
    ack = safely(h.request_code)({"room_id": "room-1"})
    assert ack["ok"]
    codes = h.codes.codes  # type: ignore[attr-defined]
    assert [pid for pid, _ in codes] == ["e1"]
    assert h.store.load("room-1")["seq"] == ack["seq"]
