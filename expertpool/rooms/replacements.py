"""The room's replacement provider: who takes a vacated seat, by the draw's rule.

A replacement must come from the draw the committee was drawn by: the next backup of the
vacated member's group in the draw's rank order (draw-v1 §9), who must accept before sitting.
Rooms do not yet record which draw seated each member (the panel-to-committee chain, issue #18,
builds sessions from the opened draws); until then no seat can be traced back to a draw, so the
provider finds no replacement and the seat stays vacant. It is built by `create_app` with the
database sessions it reads, like every other collaborator of the room.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, scoped_session

from evaluation_room.model import MemberRef, ParticipantSpec
from expertpool.rooms.models import EvaluationSession


class DrawReplacements:
    """`evaluation_room.ports.ReplacementProvider` over the draws of the session's project."""

    def __init__(self, sessions: scoped_session[Session]) -> None:
        self.sessions = sessions

    def draw_replacement(
        self, room_id: str, removed: MemberRef, reason: str
    ) -> ParticipantSpec | None:
        """The member who takes the seat now, or None (the seat stays vacant)."""
        db = self.sessions()
        try:
            linked = db.execute(
                select(EvaluationSession.project_id).where(EvaluationSession.room_id == room_id)
            ).scalar_one_or_none()
        finally:
            db.rollback()
        if linked is None:
            return None  # a session without a project has no draw to take a backup from
        # Sessions are not yet built from the draw's accepted invitees, so no seat names the draw
        # group it fills: nobody can be brought in by the draw's rule (issue #18).
        return None
