"""The room's storage in the database: whole state under optimistic locking, events, audit, chat.

``save`` writes the state with ``UPDATE … WHERE room_id = :id AND seq = :expected``; when no
row matches, another process saved first and :class:`~evaluation_room.errors.StaleState` is
raised with nothing written. Events, participant rows and audit entries for key events go
into the same transaction, so an acknowledged change is durable with its trail.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Engine, Select, Table, bindparam, case, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, scoped_session

from evaluation_room.errors import RoomNotFound, StaleState
from evaluation_room.model import RoomEvent
from expertpool.accounts.models import User
from expertpool.core import audit
from expertpool.core.db import read_connection, utcnow
from expertpool.core.keys import KeyStore
from expertpool.core.pii import PiiCipher
from expertpool.core.tokens import ExpertTokens
from expertpool.rooms import sealing
from expertpool.rooms.models import (
    EvaluationSession,
    RoomChatMessage,
    RoomEventRow,
    RoomParticipant,
)

AUDITED_EVENTS = frozenset(
    {
        "room_scheduled",
        "opened",
        "check_in_started",
        "checked_in",
        "election_started",
        "leader_elected",
        "scoring_started",
        "sheet_submitted",
        "deviation_review_started",
        "deviation_explained",
        "score_revised",
        "score_amended",
        "bid_amended",
        "finalised",
        "signing_started",
        "signed",
        "refusal_recorded",
        "archived",
        "paused",
        "resumed",
        "member_replaced",
        "member_removed",
        "form_set",
        "bids_set",
        "scoring_reopened",
    }
)
"""Room events that also enter the hash-chained audit trail (drafts and votes do not)."""


_SESSIONS = cast(Table, EvaluationSession.__table__)
_EVENTS = cast(Table, RoomEventRow.__table__)


# Built once: every room event runs these, and building and cache-keying a statement per call
# was a visible share of a busy server's time.
_LOAD_CHANGED = select(
    _SESSIONS.c.seq,
    case((_SESSIONS.c.seq == bindparam("known_seq"), None), else_=_SESSIONS.c.state),
).where(_SESSIONS.c.room_id == bindparam("room_id"))
_SAVE = (
    update(_SESSIONS)
    .where(
        _SESSIONS.c.room_id == bindparam("b_room_id"), _SESSIONS.c.seq == bindparam("b_expected")
    )
    .values(
        state=bindparam("b_state"),
        seq=bindparam("b_seq"),
        phase=bindparam("b_phase"),
        updated_at=bindparam("b_now"),
    )
    .returning(_SESSIONS.c.id, _SESSIONS.c.participant_count)
)


def dumps(data: Any) -> str:
    """Serialise JSON for storage (UTF-8 text, no NaN)."""
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


class SqlRoomStore:
    """A :class:`~evaluation_room.ports.RoomStore` on the app's database; owns its transactions."""

    def __init__(
        self,
        sessions: scoped_session[Session],
        engine: Engine | None,
        keys: KeyStore,
        *,
        on_archived: Callable[[Session, dict[str, Any]], None] | None = None,
    ) -> None:
        self.sessions = sessions
        self.engine = engine
        self.keys = keys
        # Called in the transaction that archives a room (the committee signed off): the signed
        # report is issued with it or the archiving fails (`reports/archive.py`).
        self.on_archived = on_archived

    def load(self, room_id: str) -> dict[str, Any]:
        """Return the stored state (and end the read transaction)."""
        row = self._read(
            select(EvaluationSession.state).where(EvaluationSession.room_id == room_id)
        )
        if row is None:
            raise RoomNotFound("no such room", room_id=room_id)
        return sealing.open_state(self.keys, room_id, row[0])

    def load_changed(self, room_id: str, known_seq: int) -> dict[str, Any] | None:
        """Return None while the stored seq is ``known_seq`` (the state is not even sent), else the
        state.
        """
        row = self._read(_LOAD_CHANGED, {"room_id": room_id, "known_seq": known_seq})
        if row is None:
            raise RoomNotFound("no such room", room_id=room_id)
        if row[0] == known_seq:
            return None
        return sealing.open_state(self.keys, room_id, row[1])

    def _read(
        self, query: Select[Any], params: dict[str, Any] | None = None
    ) -> tuple[Any, ...] | None:
        if self.engine is not None:
            # Every room event reads the room: a pooled autocommit read is cheaper than an ORM
            # session (PostgreSQL; on SQLite the store is built without the engine).
            with read_connection(self.engine) as conn:
                row = conn.execute(query, params).first()
        else:
            session = self.sessions()
            try:
                row = session.execute(query, params).first()
            finally:
                session.rollback()
        return None if row is None else tuple(row)

    def save(
        self,
        room_id: str,
        state: dict[str, Any],
        expected_seq: int | None,
        events: Sequence[RoomEvent],
    ) -> None:
        """Save the state and its events if the stored seq is ``expected_seq``; else StaleState."""
        if expected_seq is None:
            raise StaleState("rooms are created by the rooms service", expected=None, stored=None)
        session = self.sessions()
        try:
            now = utcnow()
            # A Core statement: the ORM's bulk update would evaluate the WHERE clause against
            # every EvaluationSession in the session (there are none) at a real cost per event.
            result = session.execute(
                _SAVE,
                {
                    "b_room_id": room_id,
                    "b_expected": expected_seq,
                    "b_state": sealing.seal(self.keys, room_id, dumps(state)),
                    "b_seq": int(state["seq"]),
                    "b_phase": str(state["phase"]),
                    "b_now": now,
                },
            ).first()
            if result is None:
                raise StaleState("the room was changed by someone else", expected=expected_seq)
            session_id, count = result
            write_trail(
                session, session_id, state, events, known_participants=count, keys=self.keys
            )
            if self.on_archived is not None and any(e.kind == "archived" for e in events):
                self.on_archived(session, state)
            session.commit()
        except BaseException:
            session.rollback()
            raise


def write_trail(
    session: Session,
    session_id: int,
    state: dict[str, Any],
    events: Sequence[RoomEvent],
    *,
    known_participants: int,
    phones: dict[str, str] | None = None,
    keys: KeyStore,
) -> None:
    """Append events, new participants and audit entries for ``state`` in the open transaction."""
    participants = state["participants"]
    tokens = ExpertTokens(keys)
    if len(participants) != known_participants:
        added = []
        for p in participants[known_participants:]:
            row = RoomParticipant(
                session_id=session_id,
                participant_id=p["participant_id"],
                user_token=tokens.user_token(p["user_id"]),
                role=p["role"],
            )
            session.add(row)
            added.append(row)
        if phones:
            session.flush()  # the row ids bind the encrypted phones to their rows
            cipher = PiiCipher.from_keys(keys)
            for row in added:
                phone = phones.get(row.participant_id)
                if phone:
                    row.phone_encrypted = cipher.encrypt(
                        phone, table="room_participant", row_id=row.id, column="phone"
                    )
        session.execute(
            update(EvaluationSession)
            .where(EvaluationSession.id == session_id)
            .values(participant_count=len(participants))
        )
    # Staff act under their usernames; committee members under their alias in this room, so that
    # the audit trail does not link an expert to the project before the close.
    names = {
        p["participant_id"]: p["user_id"]
        for p in participants
        if p["role"] in ("host", "supervisor")
    }
    aliases = {p["participant_id"]: p.get("alias") for p in participants if p.get("alias")}
    usernames: dict[str, str] = {}
    data = [e.to_dict()["data"] for e in events]
    rows = [
        {
            "session_id": session_id,
            "seq": e.seq,
            "kind": e.kind,
            "actor_id": e.actor_id,
            "occurred_at": e.occurred_at,
            "data": dumps(d),
        }
        for e, d in zip(events, data, strict=True)
    ]
    try:
        if rows:
            # One INSERT for the lot (Core: no unit-of-work flush for append-only rows).
            session.execute(insert(_EVENTS), rows)
        for e, d in zip(events, data, strict=True):
            if e.kind in AUDITED_EVENTS:
                alias = aliases.get(e.actor_id or "")
                actor = (
                    f"{state['room_id']}/{alias}"
                    if alias
                    else _actor(session, names.get(e.actor_id or ""), usernames)
                )
                audit.record(
                    session,
                    actor=actor,
                    action=f"room.{e.kind}",
                    object_type="evaluation_session",
                    object_id=state["room_id"],
                    after={"seq": e.seq, **_audit_data(e.kind, d)},
                )
        session.flush()
    except IntegrityError:
        raise StaleState("the room's events collide with stored ones") from None


def _actor(session: Session, user_id: str | None, cache: dict[str, str]) -> str:
    if user_id is None:
        return "room"
    if user_id not in cache:
        user = session.get(User, int(user_id)) if user_id.isdigit() else None
        cache[user_id] = user.username if user else f"user:{user_id}"
    return cache[user_id]


def _audit_data(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    # Scores are kept in room_event; the audit trail records who did what, with digests.
    drop = {"results", "scores", "form", "bids"}
    return {k: v for k, v in data.items() if k not in drop}


class SqlChatLog:
    """The room chat in the database (every process sees the same history)."""

    def __init__(self, sessions: scoped_session[Session]) -> None:
        self.sessions = sessions

    def append(self, room_id: str, participant_id: str, sender: str, text: str) -> dict[str, Any]:
        """Store one message; return it as JSON-ready data."""
        session = self.sessions()
        try:
            sid = session.execute(
                select(EvaluationSession.id).where(EvaluationSession.room_id == room_id)
            ).scalar_one()
            msg = RoomChatMessage(
                session_id=sid,
                participant_id=participant_id,
                sender=sender,
                text=text,
                sent_at=utcnow(),
            )
            session.add(msg)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        return _chat_view(msg.sender, msg.text, msg.sent_at)

    def recent(self, room_id: str, limit: int) -> list[dict[str, Any]]:
        """Return the newest messages, oldest first."""
        session = self.sessions()
        try:
            rows = session.execute(
                select(RoomChatMessage.sender, RoomChatMessage.text, RoomChatMessage.sent_at)
                .join(EvaluationSession, EvaluationSession.id == RoomChatMessage.session_id)
                .where(EvaluationSession.room_id == room_id)
                .order_by(RoomChatMessage.id.desc())
                .limit(limit)
            ).all()
        finally:
            session.rollback()
        return [_chat_view(*r) for r in reversed(rows)]


def _chat_view(sender: str, text: str, sent_at: datetime) -> dict[str, Any]:
    return {"sender": sender, "text": text, "sent_at": sent_at.isoformat()}
