"""Reading a lot's documents in its room: who may, the stamped copy, the record of each opening.

Only a participant of the session reads, only while it is open (from the opening to the last
signature, not while paused), and a committee member only once checked in. Each copy is stamped
with the reader as the room names them and the time, and each opening is recorded twice in the
same transaction: a `bid_document_reading` row and an audit entry, both naming a committee member
as `<room id>/<alias>` (staff by username), so nothing ties an expert to the project before the
close (docs/sealing.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from evaluation_room.errors import RoomError
from evaluation_room.model import Phase, Role
from expertpool.accounts.models import User
from expertpool.bids import pdf
from expertpool.bids.documents import documents_of_lot
from expertpool.bids.models import BidDocument, DocumentReading
from expertpool.core import audit
from expertpool.core.calendar import CST
from expertpool.core.errors import Forbidden, NotFound
from expertpool.core.files import FileStore
from expertpool.core.keys import KeyStore
from expertpool.core.texts import _l
from expertpool.rooms import sessions as rooms
from expertpool.rooms.models import EvaluationSession

READING_PHASES = frozenset(
    {
        Phase.OPENED,
        Phase.CHECK_IN,
        Phase.LEADER_ELECTION,
        Phase.SCORING,
        Phase.DEVIATION_REVIEW,
        Phase.FINALISED,
        Phase.SIGNING,
    }
)
"""The phases in which a session is open for reading (a paused session is not)."""


@dataclass(frozen=True)
class Reader:
    """Who reads, as the room names them."""

    room_id: str
    role: str
    label: str  # a committee member's alias, a host's or supervisor's username
    lot: str

    @property
    def audit_actor(self) -> str:
        """The audit trail's name for the reader (as the room store names them)."""
        is_member = self.role in (Role.EXPERT.value, Role.REPRESENTATIVE.value)
        return f"{self.room_id}/{self.label}" if is_member else self.label


def reader_of(row: EvaluationSession, user: User, keys: KeyStore) -> Reader:
    """The user as a reader of this session's documents; `Forbidden` with the reason otherwise."""
    if row.project_id is None:
        raise Forbidden(str(_l("This session has no bid documents.")), code="no_documents")
    try:
        room = rooms.room_of(row, keys)
        pid = room.participant_for_user(str(user.id))
    except RoomError:
        raise Forbidden(
            str(_l("Only the session's members, hosts and supervisors read its documents.")),
            code="not_a_member",
        ) from None
    if room.phase not in READING_PHASES:
        raise Forbidden(
            str(_l("Bid documents can be read only while the session is open.")),
            code="session_not_open",
        )
    me = room.participant(pid)
    if me.role.is_committee:
        if not me.is_checked_in:
            raise Forbidden(
                str(_l("Check in first: bid documents open after your check-in.")),
                code="not_checked_in",
            )
        label = me.alias or ""
    else:
        label = user.username
    lot = str(room.to_state()["project"].get("lot") or "1")
    return Reader(room_id=row.room_id, role=me.role.value, label=label, lot=lot)


def room_documents(session: Session, row: EvaluationSession, reader: Reader) -> list[BidDocument]:
    """The documents of the session's lot."""
    assert row.project_id is not None
    return documents_of_lot(session, row.project_id, reader.lot)


def stamp_text(reader: Reader, at: datetime) -> str:
    """What a served copy carries: the reader, the room and the time (China time)."""
    when = at.astimezone(CST).strftime("%Y-%m-%d %H:%M:%S")
    return f"{reader.label} · {reader.room_id} · {when}"


def serve(
    session: Session,
    *,
    row: EvaluationSession,
    reader: Reader,
    document_id: int,
    files: FileStore,
    now: datetime,
) -> tuple[BidDocument, bytes]:
    """The stamped copy of one document of the session's lot, its opening recorded; commits."""
    doc = next((d for d in room_documents(session, row, reader) if d.id == document_id), None)
    if doc is None:
        raise NotFound()
    data = pdf.watermark(files.get(doc.sha256), stamp_text(reader, now))
    served = hashlib.sha256(data).hexdigest()
    session.add(
        DocumentReading(
            session_id=row.id,
            document_id=doc.id,
            reader=reader.label,
            role=reader.role,
            served_sha256=served,
            opened_at=now,
        )
    )
    audit.record(
        session,
        actor=reader.audit_actor,
        action="bid_document.read",
        object_type="evaluation_session",
        object_id=row.room_id,
        after={"document": doc.id, "sha256": doc.sha256, "served_sha256": served},
    )
    session.commit()
    return doc, data
