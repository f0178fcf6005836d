"""Remote evaluation sessions: the room's whole state (JSON, versioned by seq), events, chat."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from expertpool.core.db import Base, UTCDateTime, utcnow
from expertpool.core.pii import EncryptedTable


class EvaluationSession(Base):
    """One lot's remote evaluation session; ``state`` is the room model's JSON, ``seq`` its
    version.
    """

    __tablename__ = "evaluation_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[str] = mapped_column(String(40), unique=True)
    project_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)
    title: Mapped[str] = mapped_column(String(200))
    phase: Mapped[str] = mapped_column(String(20))
    seq: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(Text)  # sealed at rest (rooms/sealing.py)
    participant_count: Mapped[int] = mapped_column(Integer, default=0)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RoomParticipant(Base):
    """Who takes part in which session (for listings and code delivery; the room state rules)."""

    __tablename__ = "room_participant"
    __table_args__ = (UniqueConstraint("session_id", "participant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("evaluation_session.id"), index=True)
    participant_id: Mapped[str] = mapped_column(String(40))
    # The account's keyed token (core/tokens.py `user_token`), never the user id: the row must not
    # link an expert to the project for a reader of the database without the key files.
    user_token: Mapped[str] = mapped_column(String(32), index=True)
    role: Mapped[str] = mapped_column(String(20))
    # The mobile for check-in codes, AES-GCM under the personal-data key
    # (`room_participant:<id>:phone`).
    phone_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)


class RoomVacancy(Base):
    """A seat the main venue's host vacated during the session (withdrawal, conflict, illness):
    which draw group the next backup comes from, and who filled it. Names members by their opaque
    participant id and experts by their keyed token only."""

    __tablename__ = "room_vacancy"
    __table_args__ = (UniqueConstraint("session_id", "participant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("evaluation_session.id"), index=True)
    participant_id: Mapped[str] = mapped_column(String(40))
    venue_id: Mapped[str | None] = mapped_column(String(40), default=None)
    draw_pk: Mapped[int | None] = mapped_column(Integer, default=None)
    group_key: Mapped[str | None] = mapped_column(String(32), default=None)
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    filled_participant_id: Mapped[str | None] = mapped_column(String(40), default=None)
    filled_token: Mapped[str | None] = mapped_column(String(32), default=None)


class RoomEventRow(Base):
    """One change of a room, saved in the same transaction as the state it produced."""

    __tablename__ = "room_event"
    __table_args__ = (UniqueConstraint("session_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("evaluation_session.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[str | None] = mapped_column(String(40), default=None)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    data: Mapped[str] = mapped_column(Text)


class RoomChatMessage(Base):
    """A chat message in a room, shown under the sender's alias."""

    __tablename__ = "room_chat_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("evaluation_session.id"), index=True)
    participant_id: Mapped[str] = mapped_column(String(40))
    sender: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ScoringTemplate(Base):
    """A centre's scoring method saved as a template (the room's score form as JSON, made by
    the editor: nobody types it). A session's method is built from one and may be saved as one."""

    __tablename__ = "scoring_template"
    __table_args__ = (UniqueConstraint("centre_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centre.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    regime: Mapped[str] = mapped_column(String(40))  # whose rules check it (regimes.LegalRegime)
    kind: Mapped[str] = mapped_column(String(20))  # goods | services | works: the price weight
    form: Mapped[str] = mapped_column(Text)  # evaluation_room ScoreForm, encoded
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


PII_TABLES = (EncryptedTable(RoomParticipant, "room_participant", {"phone_encrypted": "phone"}),)
"""Room participants' mobiles (for key rotation)."""
