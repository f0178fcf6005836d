"""Protocols the app implements for the room: storage, code delivery, clock, identity, conflicts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from evaluation_room.model import MemberRef, ParticipantSpec, RoomEvent


class Clock(Protocol):
    """Source of the current time (timezone-aware UTC)."""

    def now(self) -> datetime:
        """Return the current time."""
        ...


class RoomStore(Protocol):
    """Stores each room's state (JSON) with optimistic versioning on ``seq``.

    ``save`` writes the state and appends its events in one transaction, but only if the
    stored state's ``seq`` still equals ``expected_seq`` (None: the room must not exist yet);
    otherwise it raises :class:`~evaluation_room.errors.StaleState` and writes nothing.
    """

    def load(self, room_id: str) -> dict[str, Any]:
        """Return the stored state or raise :class:`~evaluation_room.errors.RoomNotFound`."""
        ...

    def load_changed(self, room_id: str, known_seq: int) -> dict[str, Any] | None:
        """Return None while the stored ``seq`` is ``known_seq``, else the stored state.

        One cheap question before each command when the caller holds a decoded copy
        (:class:`~evaluation_room.cache.RoomCache`); raises ``RoomNotFound`` like :meth:`load`.
        """
        ...

    def save(
        self,
        room_id: str,
        state: dict[str, Any],
        expected_seq: int | None,
        events: Sequence[RoomEvent],
    ) -> None:
        """Save ``state`` and ``events`` atomically if the stored ``seq`` is ``expected_seq``."""
        ...


class CodeSender(Protocol):
    """Delivers a one-time check-in code to a member (SMS through notify/ in the app)."""

    def send_check_in_code(
        self, room_id: str, member: MemberRef, code: str, expires_at: datetime
    ) -> None:
        """Send ``code`` to the member; called only after the room holding its hash is saved."""
        ...


class Authenticator(Protocol):
    """Re-authenticates a user before signing (the app checks the password hash)."""

    def verify_password(self, user_id: str, password: str) -> bool:
        """Return True when ``password`` is the user's current password."""
        ...


class ConflictChecker(Protocol):
    """Re-runs the conflict-of-interest check against current records."""

    def find_conflict(self, room_id: str, member: MemberRef) -> str | None:
        """Return a reason code when the member may not serve, otherwise None."""
        ...


class ReplacementProvider(Protocol):
    """Brings a replacement member by the draw's rule (the next backup of the same group)."""

    def draw_replacement(
        self, room_id: str, removed: MemberRef, reason: str
    ) -> ParticipantSpec | None:
        """Return the replacement, or None when none is available now (the seat stays vacant)."""
        ...
