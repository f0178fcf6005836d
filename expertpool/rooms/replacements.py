"""The room's replacement provider: who takes a vacated seat, by the draw's rule.

When the main venue's host takes a member off the committee (withdrawal, a conflict found at
check-in, illness), the replacement comes from the draw the member was drawn by: their invitee
leaves the panel (its seat released) and the next backup of that group is called in draw-v1's
rank order, or a supplementary request waits at the terminal when none remain. Nobody can sit
before accepting, so the seat stays vacant (recorded as a :class:`RoomVacancy`); once the backup
has accepted, the host's next request for that seat seats them there, with a login account, to
check in like everyone else. When the group's backups ran out, the supplementary draw made for
it is opened at the session by its main host and a supervisor, and its accepted experts fill the
vacancy the same way. Directly appointed experts and representatives are not drawn: their
seats stay vacant.

Calls are idempotent (the room's command may be re-run on a conflicting save): a vacancy is made
once per seat, and a filled vacancy is never filled again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, scoped_session

from evaluation_room.model import MemberRef, ParticipantSpec, Role
from expertpool.core.db import utcnow
from expertpool.core.keys import KeyStore
from expertpool.core.tokens import ExpertTokens
from expertpool.draws import panels
from expertpool.draws.models import Draw, DrawInvitee, DrawRequestRecord, DrawStatus, InviteeStatus
from expertpool.experts.models import Expert
from expertpool.notifications.context import NotifyContext
from expertpool.rooms.models import EvaluationSession, RoomVacancy
from expertpool.rooms.opening import member_account
from expertpool.rooms.sessions import new_participant_id, state_of


class DrawReplacements:
    """`evaluation_room.ports.ReplacementProvider` over the draws of the session's project."""

    def __init__(
        self,
        sessions: scoped_session[Session],
        ctx: NotifyContext,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.ctx = ctx
        self.clock = clock  # the app's clock: invitations to backups are dated by it

    def draw_replacement(
        self, room_id: str, removed: MemberRef, reason: str
    ) -> ParticipantSpec | None:
        """The member who takes the seat now, or None (the seat stays vacant meanwhile)."""
        db = self.sessions()
        try:
            row = db.execute(
                select(EvaluationSession).where(EvaluationSession.room_id == room_id)
            ).scalar_one_or_none()
            if row is None or row.project_id is None:
                return None  # a session without a project has no draw to take a backup from
            vacancy = db.execute(
                select(RoomVacancy).where(
                    RoomVacancy.session_id == row.id,
                    RoomVacancy.participant_id == removed.participant_id,
                )
            ).scalar_one_or_none()
            if vacancy is None:
                self._vacate(db, row, removed, reason)
                db.commit()
                return None
            seated = {
                int(p["user_id"])
                for p in state_of(row, self.ctx.keys)["participants"]
                if str(p["user_id"]).isdigit()
            }
            spec = self._accepted_backup(db, vacancy, seated)
            db.commit()
            return spec
        except BaseException:
            db.rollback()
            raise

    def _vacate(self, db: Session, row: EvaluationSession, removed: MemberRef, reason: str) -> None:
        """Record the vacancy; a drawn expert leaves the panel and the next backup is called."""
        vacancy = RoomVacancy(
            session_id=row.id,
            participant_id=removed.participant_id,
            venue_id=removed.venue_id,
            reason=reason[:500],
            created_at=self.clock(),
        )
        db.add(vacancy)
        if removed.role is not Role.EXPERT or not removed.user_id.isdigit():
            return
        expert = db.execute(
            select(Expert).where(Expert.user_id == int(removed.user_id))
        ).scalar_one_or_none()
        if expert is None:
            return
        token = ExpertTokens(self.ctx.keys).token(expert.id)
        found = db.execute(
            select(Draw, DrawInvitee)
            .join(DrawInvitee, DrawInvitee.draw_pk == Draw.id)
            .where(
                Draw.project_id == row.project_id,
                Draw.status == DrawStatus.OPENED,
                DrawInvitee.expert_token == token,
                DrawInvitee.status == InviteeStatus.ACCEPTED,
            )
        ).first()
        if found is None:
            return  # appointed directly, not drawn: no backup to call
        d, invitee = found
        vacancy.draw_pk, vacancy.group_key = d.id, invitee.group_key
        panels.vacate(
            db,
            draw_id=d.draw_id,
            expert_token=token,
            status=InviteeStatus.REMOVED,
            reason=f"session:{reason}"[:500],
            ctx=self.ctx,
            now=self.clock(),
        )

    def _accepted_backup(
        self, db: Session, vacancy: RoomVacancy, seated: set[int]
    ) -> ParticipantSpec | None:
        """The first backup of the vacancy's group who accepted and is not yet a participant of
        this session (`seated`: its members' account ids), as the member who takes the seat."""
        if vacancy.filled_participant_id is not None or vacancy.draw_pk is None:
            return None
        d = db.get(Draw, vacancy.draw_pk)
        if d is None:
            return None
        used = set(
            db.execute(
                select(RoomVacancy.filled_token).where(
                    RoomVacancy.session_id == vacancy.session_id,
                    RoomVacancy.filled_token.is_not(None),
                )
            ).scalars()
        )
        tokens = ExpertTokens(self.ctx.keys)
        for member, drawn_for_it in _candidates(db, d, self.ctx.keys):
            if member.group != vacancy.group_key or (member.is_primary and not drawn_for_it):
                continue
            token = tokens.token(member.expert_id)
            expert = db.get(Expert, member.expert_id)
            if token in used or expert is None or expert.user_id in seated:
                continue
            user = member_account(db, expert)
            pid = new_participant_id()
            vacancy.filled_participant_id, vacancy.filled_token = pid, token
            return ParticipantSpec(
                pid, str(user.id), user.display_name, Role.EXPERT, vacancy.venue_id, None
            )
        return None


def _candidates(db: Session, d: Draw, keys: KeyStore) -> list[tuple[panels.SeatedMember, bool]]:
    """Who may take a seat vacated in draw `d`, in order: its backups who accepted (rank order),
    then the experts who accepted in its supplementary draws (补抽) once those were opened at
    the session, oldest draw first. The flag says the member was drawn for vacated seats."""
    out = [(m, False) for m in panels.seated_members(db, d, keys)]
    children = db.execute(
        select(Draw)
        .join(DrawRequestRecord, DrawRequestRecord.id == Draw.request_id)
        .where(DrawRequestRecord.parent_id == d.request_id, Draw.status == DrawStatus.OPENED)
        .order_by(Draw.id)
    ).scalars()
    for child in children:
        out += [(m, True) for m in panels.seated_members(db, child, keys)]
    return out
