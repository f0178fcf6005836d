"""Thin Socket.IO handlers: identify the user, run one room command, push snapshots, acknowledge.

Every event carries ``room_id`` and is re-authorised from scratch: the app's
:class:`Identity` names the logged-in user (None when the login is gone), the stored room maps
that user to their participant, and the room model decides whether the participant may act.
A change is acknowledged only after :func:`~evaluation_room.commands.run_command` has saved
it; the acknowledgement is ``{"ok": true, "seq": n}`` or ``{"ok": false, "error": {...}}``.

Broadcasting: each joined client is in two Socket.IO rooms, ``room:<id>`` (chat) and
``room:<id>:<participant id>`` (its own snapshots). After a change the handler computes
``snapshot(viewer)`` once per participant from the state it just saved and emits it to that
participant's Socket.IO room. This keeps no per-process state (the Socket.IO rooms are
fanned out by the message queue across processes), costs one database load per change
instead of one per viewer, and a viewer only ever receives what the model lets it see.
Clients drop a snapshot whose ``seq`` is not newer than the one they hold, and re-join (full
snapshot) on every reconnect.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar, cast

from evaluation_room._codec import decode
from evaluation_room.cache import RoomCache
from evaluation_room.commands import run_command
from evaluation_room.errors import InvalidInput, NotAllowed, RoomError
from evaluation_room.model import MemberRef, ParticipantSpec, Role, Status
from evaluation_room.ports import (
    Authenticator,
    Clock,
    CodeSender,
    ConflictChecker,
    ReplacementProvider,
    RoomStore,
)
from evaluation_room.room import EvaluationRoom
from evaluation_room.scoring import Bid, ScoreForm

log = logging.getLogger(__name__)
NAMESPACE = "/room"
MAX_CHAT_CHARS = 500
Ack = dict[str, Any]
R = TypeVar("R")
T = TypeVar("T")


class Identity(Protocol):
    """Names the user behind the current Socket.IO event (checked again on every event)."""

    def current_user_id(self) -> str | None:
        """Return the logged-in, active user's id, or None."""
        ...


class ChatLog(Protocol):
    """Keeps the room's chat (sender shown by alias) so that every process can replay it."""

    def append(self, room_id: str, participant_id: str, sender: str, text: str) -> dict[str, Any]:
        """Store a message and return it as JSON-serialisable data (sender, text, sent_at)."""
        ...

    def recent(self, room_id: str, limit: int) -> list[dict[str, Any]]:
        """Return the newest ``limit`` messages, oldest first."""
        ...


class NoConflicts:
    """A conflict checker that never finds one (when the app supplies none)."""

    def find_conflict(self, room_id: str, member: MemberRef) -> str | None:
        """Return None."""
        return None


class NoReplacements:
    """A replacement provider that never has anyone (the seat stays vacant)."""

    def draw_replacement(
        self, room_id: str, removed: MemberRef, reason: str
    ) -> ParticipantSpec | None:
        """Return None."""
        return None


class Unauthenticated(RoomError):
    """Nobody is logged in on this connection (or the login was revoked)."""

    code = "unauthenticated"


class Emitter(Protocol):
    """The part of ``flask_socketio.SocketIO`` the handlers use to push messages."""

    def emit(self, event: str, *args: Any, **kwargs: Any) -> None:
        """Emit an event (``to=`` a Socket.IO room)."""
        ...


@dataclass
class RoomHandlers:
    """The event handlers of one app; :func:`register` binds them to a SocketIO server."""

    store: RoomStore
    codes: CodeSender
    authenticator: Authenticator
    identity: Identity
    clock: Clock
    conflicts: ConflictChecker
    replacements: ReplacementProvider
    emitter: Emitter
    chat: ChatLog | None = None
    join_room: Callable[[str], None] = lambda _name: None
    retries: int = 10
    """Re-runs of a command whose save lost an optimistic race (members scoring at once)."""
    emit_many: Callable[[str, list[tuple[str, Any]], str], None] | None = None
    """Emits one event to several Socket.IO rooms, each with its own payload, at once (the
    app's message queue then carries one message per change instead of one per viewer)."""
    rooms: RoomCache = field(default_factory=RoomCache)
    """Decoded rooms of this process and their locks (:mod:`evaluation_room.cache`)."""

    # --- plumbing ---------------------------------------------------------------------------

    def _user(self) -> str:
        user_id = self.identity.current_user_id()
        if user_id is None:
            raise Unauthenticated("please log in again")
        return user_id

    def _act(
        self,
        payload: Any,
        action: Callable[[EvaluationRoom, str], R],
        respond: Callable[[R, EvaluationRoom], T] | None = None,
        *,
        ordered: bool = True,
    ) -> T:
        """Run ``action(room, participant_id)`` for the current user and answer from the result.

        The room's lock in this process is held from the load to the answer: the command, the
        save, the snapshots pushed after a change and ``respond(result, room)`` (default: the
        acknowledgement ``{"ok": true, "seq": n}``) all see the room exactly as saved. With
        ``ordered`` a ``req`` in the payload is the participant's request number
        (:meth:`EvaluationRoom.request`): a change older than one already applied is refused.
        """
        user_id = self._user()
        room_id = _text(payload, "room_id")
        seen = payload.get("seq")
        req = payload.get("req") if ordered else None
        loaded: list[int] = []

        def command(room: EvaluationRoom) -> R:
            loaded[:] = [room.seq]
            pid = room.participant_for_user(user_id)
            if seen is not None:
                if not isinstance(seen, int) or isinstance(seen, bool):
                    raise InvalidInput("seq must be an integer", fields={"seq": "integer"})
                room.expect_seq(seen)
            if req is None:
                return action(room, pid)
            with room.request(pid, req):
                return action(room, pid)

        with self.rooms.hold(room_id) as slot:
            result, room = run_command(
                self.store, room_id, self.clock, command, retries=self.retries, slot=slot
            )
            if room.seq != loaded[0]:
                self.push(room)
            if respond is None:
                return cast(T, {"ok": True, "seq": room.seq})
            return respond(result, room)

    def act_as(
        self, user_id: str, room_id: str, action: Callable[[EvaluationRoom, str], R]
    ) -> EvaluationRoom:
        """Run ``action(room, participant_id)`` for ``user_id`` outside a socket event (a page's
        form, such as the scoring-method editor), save it like any event and push the new
        snapshots; the room's rules decide whether this participant may do it."""
        loaded: list[int] = []

        def command(room: EvaluationRoom) -> R:
            loaded[:] = [room.seq]
            return action(room, room.participant_for_user(user_id))

        with self.rooms.hold(room_id) as slot:
            _result, room = run_command(
                self.store, room_id, self.clock, command, retries=self.retries, slot=slot
            )
            if room.seq != loaded[0]:
                self.push(room)
        return room

    def push(self, room: EvaluationRoom) -> None:
        """Emit each participant their own snapshot of ``room`` (in one batch when the app can)."""
        items = [
            (personal_room(room.room_id, pid), room.snapshot(pid)) for pid in participant_ids(room)
        ]
        if self.emit_many is not None:
            self.emit_many("snapshot", items, NAMESPACE)
            return
        for to, snap in items:
            self.emitter.emit("snapshot", snap, to=to, namespace=NAMESPACE)

    # --- joining and reading ----------------------------------------------------------------

    def connect(self, auth: Any = None) -> bool:
        """Refuse connections without a login."""
        return self.identity.current_user_id() is not None

    def join(self, payload: Any) -> Ack:
        """Join a room's channels; the acknowledgement holds the full snapshot and recent chat."""

        def respond(pid: str, room: EvaluationRoom) -> Ack:
            self.join_room(chat_room(room.room_id))
            self.join_room(personal_room(room.room_id, pid))
            return {"ok": True, "seq": room.seq, "snapshot": room.snapshot(pid)}

        ack: Ack = self._act(payload, lambda r, pid: pid, respond, ordered=False)
        ack["chat"] = self.chat.recent(_text(payload, "room_id"), 50) if self.chat else []
        return ack

    def snapshot(self, payload: Any) -> Ack:
        """Return the viewer's current snapshot (after a gap or on demand)."""
        return self._act(
            payload,
            lambda r, pid: pid,
            lambda pid, room: {"ok": True, "seq": room.seq, "snapshot": room.snapshot(pid)},
            ordered=False,
        )

    def scores(self, payload: Any) -> Ack:
        """Return every member's scores by alias; refused until every member has submitted."""
        return self._act(
            payload,
            lambda r, pid: r.visible_scores(pid),
            lambda result, room: {"ok": True, "seq": room.seq, "scores": result},
            ordered=False,
        )

    def report(self, payload: Any) -> Ack:
        """Return the report being signed (body and digest) to a participant."""
        return self._act(
            payload,
            lambda r, pid: r.report_body(),
            lambda body, room: {
                "ok": True,
                "seq": room.seq,
                "report": body,
                "report_digest": room.report_digest,
            },
            ordered=False,
        )

    # --- check-in ---------------------------------------------------------------------------

    def request_code(self, payload: Any) -> Ack:
        """Issue a one-time check-in code (to oneself, or by a venue host) and send it by SMS."""
        member = payload.get("member") if isinstance(payload, Mapping) else None

        def issue(r: EvaluationRoom, pid: str) -> tuple[tuple[str, datetime], MemberRef]:
            target = member or pid
            return r.issue_check_in_code(pid, target), r.participant(target).ref()

        (code, expires_at), ref, seq = self._act(
            payload, issue, lambda issued, room: (*issued, room.seq)
        )
        # Sent after the room holding the code's hash is saved, outside the room's lock.
        self.codes.send_check_in_code(_text(payload, "room_id"), ref, code, expires_at)
        return {"ok": True, "seq": seq, "expires_at": _iso(expires_at)}

    def enter_code(self, payload: Any) -> Ack:
        """The member enters the code they received."""
        code = _text(payload, "code")
        return self._act(payload, lambda r, pid: r.enter_check_in_code(pid, code))

    def confirm_identity(self, payload: Any) -> Ack:
        """The host at the member's venue confirms the person and the seat."""
        member, seat = _text(payload, "member"), _text(payload, "seat")
        return self._act(
            payload,
            lambda r, pid: r.confirm_identity(pid, member, seat, self.conflicts, self.replacements),
            lambda outcome, room: {
                "ok": True,
                "seq": room.seq,
                "is_checked_in": outcome.is_checked_in,
                "conflict": outcome.conflict,
            },
        )

    def verify_in_person(self, payload: Any) -> Ack:
        """The host at the member's venue checks the ID card in person (codes failed, no
        signal)."""
        member, seat = _text(payload, "member"), _text(payload, "seat")
        reason = _text(payload, "reason")
        return self._act(
            payload,
            lambda r, pid: r.verify_in_person(
                pid, member, seat, reason, self.conflicts, self.replacements
            ),
            lambda outcome, room: {
                "ok": True,
                "seq": room.seq,
                "is_checked_in": outcome.is_checked_in,
                "conflict": outcome.conflict,
            },
        )

    # --- committee --------------------------------------------------------------------------

    def vote(self, payload: Any) -> Ack:
        """Vote for a leader (candidate alias)."""
        candidate = _text(payload, "candidate")
        return self._act(payload, lambda r, pid: r.vote(pid, candidate))

    def enter_scores(self, payload: Any) -> Ack:
        """Save draft scores (and short reasons for low ones)."""
        scores = _mapping(payload, "scores")
        reasons = _mapping(payload, "reasons", required=False)
        return self._act(payload, lambda r, pid: r.enter_scores(pid, scores, reasons))

    def submit_sheet(self, payload: Any) -> Ack:
        """Submit the sheet (with any last scores and reasons for low scores)."""
        scores = _mapping(payload, "scores", required=False)
        reasons = _mapping(payload, "reasons", required=False)
        return self._act(payload, lambda r, pid: r.submit_sheet(pid, scores, reasons))

    def submit_review(self, payload: Any) -> Ack:
        """Submit pass/fail marks for the review stage under way (a reason for each fail)."""
        marks = _mapping(payload, "marks")
        return self._act(payload, lambda r, pid: r.submit_review(pid, marks))

    def explain_deviation(self, payload: Any) -> Ack:
        """Explain a flagged score."""
        flag_id, text = _text(payload, "flag_id"), _text(payload, "explanation")
        return self._act(payload, lambda r, pid: r.explain_deviation(pid, flag_id, text))

    def revise_score(self, payload: Any) -> Ack:
        """Revise a flagged score during deviation review."""
        bidder, item, note = (
            _text(payload, "bidder"),
            _text(payload, "item_id"),
            _text(payload, "note"),
        )
        value = _value(payload)
        return self._act(payload, lambda r, pid: r.revise_score(pid, bidder, item, value, note))

    def amend_score(self, payload: Any) -> Ack:
        """Amend a score after totals for an allowed reason."""
        bidder, item, note = (
            _text(payload, "bidder"),
            _text(payload, "item_id"),
            _text(payload, "note"),
        )
        reason, value = _text(payload, "reason"), _value(payload)
        return self._act(
            payload, lambda r, pid: r.amend_score(pid, bidder, item, value, reason, note)
        )

    def sign(self, payload: Any) -> Ack:
        """Sign the report digest after re-entering the password."""
        verdict, digest = _text(payload, "verdict"), _text(payload, "report_digest")
        password = _text(payload, "password")
        reasons = payload.get("reasons") or ""
        if not isinstance(reasons, str):
            raise InvalidInput("reasons must be text", fields={"reasons": "text"})
        return self._act(
            payload,
            lambda r, pid: r.sign(
                pid,
                verdict=verdict,
                reasons=reasons,
                report_digest=digest,
                password=password,
                authenticator=self.authenticator,
            ),
        )

    # --- hosts ------------------------------------------------------------------------------

    def set_form(self, payload: Any) -> Ack:
        """Set the score form (main host)."""
        form = _decode_input(ScoreForm, _mapping(payload, "form"), "form")
        return self._act(payload, lambda r, pid: r.set_form(pid, form))

    def set_bids(self, payload: Any) -> Ack:
        """Enter or import the opened bids (main host)."""
        raw = payload.get("bids") if isinstance(payload, Mapping) else None
        if not isinstance(raw, list):
            raise InvalidInput("bids must be a list", fields={"bids": "list"})
        bids = [_decode_input(Bid, b, "bids") for b in raw]
        note = payload.get("note") or ""
        return self._act(payload, lambda r, pid: r.set_bids(pid, bids, str(note)))

    def phase(self, payload: Any) -> Ack:
        """Move the session on: open, start_check_in, start_election, start_scoring, ..."""
        action = _text(payload, "action")
        if action not in PHASE_ACTIONS:
            raise InvalidInput("unknown action", fields={"action": ", ".join(PHASE_ACTIONS)})
        return self._act(payload, lambda r, pid: getattr(r, action)(pid))

    def pause(self, payload: Any) -> Ack:
        """Pause the session (any host) with a reason."""
        reason = _text(payload, "reason")
        return self._act(payload, lambda r, pid: r.pause(pid, reason))

    def resume(self, payload: Any) -> Ack:
        """Resume the paused session (main host)."""
        return self._act(payload, lambda r, pid: r.resume(pid))

    def replace_member(self, payload: Any) -> Ack:
        """The main host asks to take a seated member off (a supervisor then decides), or fills
        a vacated seat once the backup called for it has accepted (the provider names them)."""
        member, reason = _text(payload, "member"), _text(payload, "reason")

        def replace(r: EvaluationRoom, pid: str) -> str | None:
            # Who may ask is checked before the provider calls anyone (its acts are real).
            r.check_replaceable(pid, member)
            if not reason.strip():
                raise InvalidInput("give a reason", fields={"reason": "required"})
            if r.participant(member).status is Status.ACTIVE:
                r.propose_removal(pid, member, reason)
                return None
            spec = self.replacements.draw_replacement(
                r.room_id, r.participant(member).ref(), reason
            )
            if spec is None:
                raise NotAllowed("the backup called for this seat has not accepted yet")
            r.replace_member(pid, member, spec, reason)
            return spec.participant_id

        return self._act(
            payload,
            replace,
            lambda new_id, room: {
                "ok": True,
                "seq": room.seq,
                "replacement": room.participant(new_id).alias if new_id else None,
                "pending": new_id is None,
            },
        )

    def decide_removal(self, payload: Any) -> Ack:
        """A supervisor of the session approves or rejects the main host's proposal to take a
        member off. On approval the replacement provider vacates the seat (the draw's next
        backup is called) or names who sits now."""
        member, decision = _text(payload, "member"), _text(payload, "decision")
        if decision not in ("approve", "reject"):
            raise InvalidInput("approve or reject", fields={"decision": "approve|reject"})

        def decide(r: EvaluationRoom, pid: str) -> str | None:
            if decision == "reject":
                r.reject_removal(pid, member, _text(payload, "reason"))
                return None
            removal = r.pending_removal(pid, member)
            spec = self.replacements.draw_replacement(
                r.room_id, r.participant(member).ref(), removal.reason
            )
            r.approve_removal(pid, member, spec)
            return spec.participant_id if spec else None

        return self._act(
            payload,
            decide,
            lambda new_id, room: {
                "ok": True,
                "seq": room.seq,
                "replacement": room.participant(new_id).alias if new_id else None,
                "vacant": decision == "approve" and new_id is None,
            },
        )

    def record_refusal(self, payload: Any) -> Ack:
        """A host records a member's refusal to sign (with a reason it counts as dissent)."""
        member = _text(payload, "member")
        reason = payload.get("reason")
        return self._act(
            payload,
            lambda r, pid: r.record_refusal(
                pid, member, reason if isinstance(reason, str) else None
            ),
        )

    # --- chat -------------------------------------------------------------------------------

    def send_chat(self, payload: Any) -> Ack:
        """Post a chat message under one's alias (members) or venue (hosts); supervisors read."""
        if self.chat is None:
            raise NotAllowed("chat is not available")
        text = _text(payload, "text")[:MAX_CHAT_CHARS]
        room_id = _text(payload, "room_id")
        (pid, label), seq = self._act(
            payload,
            lambda r, pid: chat_sender(r, pid),
            lambda sender, room: (sender, room.seq),
            ordered=False,
        )
        message = self.chat.append(room_id, pid, label, text)
        self.emitter.emit("chat", message, to=chat_room(room_id), namespace=NAMESPACE)
        return {"ok": True, "seq": seq}


PHASE_ACTIONS = (
    "open",
    "start_check_in",
    "start_election",
    "start_review",
    "start_scoring",
    "finalise",
    "start_signing",
    "archive",
)

EVENTS = {
    "join": "join",
    "snapshot": "snapshot",
    "scores": "scores",
    "report": "report",
    "request_code": "request_code",
    "enter_code": "enter_code",
    "confirm_identity": "confirm_identity",
    "verify_in_person": "verify_in_person",
    "vote": "vote",
    "enter_scores": "enter_scores",
    "submit_sheet": "submit_sheet",
    "submit_review": "submit_review",
    "explain_deviation": "explain_deviation",
    "revise_score": "revise_score",
    "amend_score": "amend_score",
    "sign": "sign",
    "set_form": "set_form",
    "set_bids": "set_bids",
    "phase": "phase",
    "pause": "pause",
    "resume": "resume",
    "replace_member": "replace_member",
    "decide_removal": "decide_removal",
    "record_refusal": "record_refusal",
    "chat": "send_chat",
}
"""Socket.IO event name -> :class:`RoomHandlers` method."""


def chat_room(room_id: str) -> str:
    """The Socket.IO room of everyone who joined an evaluation room."""
    return f"room:{room_id}"


def personal_room(room_id: str, participant_id: str) -> str:
    """The Socket.IO room of one participant's connections (their own snapshots)."""
    return f"room:{room_id}:{participant_id}"


def participant_ids(room: EvaluationRoom) -> list[str]:
    """Ids of every participant of the room, replaced ones included."""
    return room.participant_ids()


def chat_sender(room: EvaluationRoom, participant_id: str) -> tuple[str, str]:
    """Return (participant id, label): members by alias, hosts by venue; supervisors may not
    chat.
    """
    p = room.participant(participant_id)
    if p.role is Role.SUPERVISOR:
        raise NotAllowed("supervisors observe without speaking")
    if p.role.is_committee:
        return participant_id, p.alias or ""
    return participant_id, f"主持人（{room.venue_name(p.venue_id)}）"


PayloadCheck = Callable[[Any, str], Mapping[str, str]]
"""The app's edge check of an event payload: the problem of each unfit field, by field name
(text the database cannot hold, numbers out of range); empty when the payload is fit."""


def _no_check(_payload: Any, _name: str) -> Mapping[str, str]:
    return {}


def safely(
    fn: Callable[[Any], Ack], *, propagate: bool = False, check: PayloadCheck = _no_check
) -> Callable[[Any], Ack]:
    """Turn room refusals and malformed payloads into ``{"ok": false, "error": ...}``.

    Every payload passes ``check`` first (the app's edge check); an unfit field is refused as
    ``invalid_input`` naming it before the handler runs. Anything unexpected is logged and
    answered with ``internal_error`` (nothing was acknowledged, so nothing is lost); with
    ``propagate`` (tests) it is raised instead.
    """

    def handler(payload: Any = None) -> Ack:
        try:
            if not isinstance(payload, Mapping):
                raise InvalidInput("the payload must be an object", fields={"payload": "object"})
            problems = check(payload, "")
            if problems:
                raise InvalidInput(
                    "; ".join(f"{name}: {text}" for name, text in problems.items()),
                    fields=dict(problems),
                )
            return fn(payload)
        except RoomError as exc:
            return {"ok": False, "error": exc.to_dict()}
        except Exception:
            if propagate:
                raise
            log.exception("room event %s failed", getattr(fn, "__name__", "?"))
            return {
                "ok": False,
                "error": {
                    "code": "internal_error",
                    "message": "an unexpected error occurred; it has been logged",
                },
            }

    handler.__name__ = getattr(fn, "__name__", "handler")
    handler.__doc__ = fn.__doc__
    return handler


def _text(payload: Any, name: str) -> str:
    value = payload.get(name) if isinstance(payload, Mapping) else None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{name} is required", fields={name: "required"})
    return value.strip()


def _mapping(payload: Any, name: str, *, required: bool = True) -> dict[str, Any]:
    value = payload.get(name) if isinstance(payload, Mapping) else None
    if value is None and not required:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{name} must be an object", fields={name: "object"})
    return dict(value)


def _value(payload: Any) -> object:
    # Passed through as sent: the model refuses floats (scores travel as decimal strings).
    return payload.get("value")


def _decode_input(tp: type[Any], data: Any, name: str) -> Any:
    try:
        return decode(tp, data)
    except (TypeError, ValueError, KeyError, ArithmeticError, AttributeError) as exc:
        raise InvalidInput(f"{name} is malformed: {exc}", fields={name: "malformed"}) from None


def _iso(at: datetime) -> str:
    return at.isoformat()
