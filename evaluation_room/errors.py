"""Typed errors of the evaluation room, each with a stable machine-readable ``code``."""

from __future__ import annotations

from typing import Any


class RoomError(Exception):
    """Base of every refusal by the room model; ``code`` is stable, ``message`` is for people."""

    code = "room_error"
    is_state_changed = False
    """True when the room recorded something before refusing (e.g. a wrong code attempt):
    the caller must still save the room, then report the error."""

    def __init__(
        self, message: str, *, fields: dict[str, str] | None = None, **details: Any
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields: dict[str, str] = dict(fields or {})
        self.details: dict[str, Any] = details

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-serialisable form used in acknowledgements."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            out["fields"] = dict(self.fields)
        if self.details:
            out["details"] = {k: v for k, v in self.details.items()}
        return out


class IllegalTransition(RoomError):
    """The requested move is not allowed from the room's current phase."""

    code = "illegal_transition"


class NotOnPanel(RoomError):
    """The actor is not a participant of this room."""

    code = "not_on_panel"


class NotAllowed(RoomError):
    """The actor's role or state does not permit this action."""

    code = "not_allowed"


class MemberReplaced(NotAllowed):
    """The actor was replaced or removed and can no longer act in the room."""

    code = "member_replaced"


class ScoresHidden(NotAllowed):
    """Others' subjective scores are not visible yet (not every member has submitted)."""

    code = "scores_hidden"


class ScoringClosed(RoomError):
    """Scores cannot be entered or changed in the current phase."""

    code = "scoring_closed"


class AlreadySubmitted(RoomError):
    """The sheet (or vote) was already submitted and cannot be submitted again."""

    code = "already_submitted"


class RoomPaused(RoomError):
    """The room is paused: every action except resuming is locked."""

    code = "room_paused"


class NotCheckedIn(RoomError):
    """The member has not completed check-in."""

    code = "not_checked_in"


class InvalidInput(RoomError):
    """Malformed or inconsistent input; ``fields`` names each offending input."""

    code = "invalid_input"


class InvalidScore(InvalidInput):
    """A score is out of range, off the step, not a number or incomplete; see ``fields``."""

    code = "invalid_score"


class UnknownFormula(InvalidInput):
    """An objective item names a formula that is not registered."""

    code = "unknown_formula"


class CheckInFailed(RoomError):
    """The one-time check-in code is wrong (the attempt is counted: save the room)."""

    code = "check_in_code_invalid"
    is_state_changed = True


class CheckInCodeExpired(CheckInFailed):
    """The one-time check-in code has expired or was never issued."""

    code = "check_in_code_expired"
    is_state_changed = False


class TooManyAttempts(CheckInFailed):
    """Too many wrong codes, or too many codes issued, for this member."""

    code = "too_many_attempts"
    is_state_changed = False


class ReauthenticationFailed(RoomError):
    """The member's password was not confirmed before signing."""

    code = "reauthentication_failed"


class DigestMismatch(RoomError):
    """The report digest sent with a signature is not the digest of the current report."""

    code = "digest_mismatch"


class StaleSequence(RoomError):
    """The client acted on an older room state than the current one."""

    code = "stale_sequence"


class StaleRequest(RoomError):
    """The member's client sent this change before one the room has already applied.

    Clients number their changes (``req``, increasing per participant); a change that arrives
    after a newer one from the same participant (a retry after a timeout, a reordered delivery)
    is refused so that it cannot overwrite the newer, acknowledged value.
    """

    code = "stale_request"


class StaleState(RoomError):
    """The store refused a save: another process saved a newer state first (optimistic lock)."""

    code = "stale_state"


class RoomNotFound(RoomError):
    """No room is stored under this id."""

    code = "room_not_found"
