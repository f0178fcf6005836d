"""The full contact record of a draw, opened to auditors only once its project is awarded.

Before the award the people who were called stay secret (staff see anonymous counts only, see
`notifications.progress_counts`); afterwards an auditor may read every attempt with the experts'
names, and each such reading is itself written to the audit trail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import notify
from expertpool.core import audit
from expertpool.core.errors import Forbidden, NotFound
from expertpool.core.texts import _l
from expertpool.core.tokens import ExpertTokens
from expertpool.draws import sealing
from expertpool.draws.models import Draw, DrawLedgerEntry
from expertpool.notifications import outbox
from expertpool.notifications.context import NotifyContext
from expertpool.notifications.models import ContactAttempt, InvitationRecord
from expertpool.projects.models import Project


@dataclass(frozen=True)
class AttemptRecord:
    """One message or call the provider accepted, with everything it reported."""

    channel: str
    provider: str
    sid: str
    at: datetime
    updated_at: datetime
    status: str | None
    status_history: list[tuple[str, str]]
    answered_by: str | None
    digits: str
    error_code: int | None
    is_final: bool

    def as_dict(self) -> dict[str, Any]:
        """This attempt as JSON."""
        return {
            "channel": self.channel,
            "provider": self.provider,
            "sid": self.sid,
            "at": self.at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "status": self.status,
            "status_history": [{"at": at, "status": status} for at, status in self.status_history],
            "answered_by": self.answered_by,
            "digits": self.digits,
            "error_code": self.error_code,
            "is_final": self.is_final,
        }


@dataclass(frozen=True)
class InviteeRecord:
    """One invited expert of the draw, named, with every attempt to reach them."""

    invitation_id: int
    group_id: str
    rank: int
    expert_id: int | None
    pseudonym: str | None  # how the draw's audit entries before opening name this expert
    name: str
    phone_masked: str
    state: str
    answered_via: str | None
    answered_at: datetime | None
    deadline_at: datetime
    withdrawal_reason: str | None
    seat_venue: str | None
    attempts: list[AttemptRecord]

    def as_dict(self) -> dict[str, Any]:
        """This invitee as JSON."""
        return {
            "invitation_id": self.invitation_id,
            "group_id": self.group_id,
            "rank": self.rank,
            "expert_id": self.expert_id,
            "pseudonym": self.pseudonym,
            "name": self.name,
            "phone": self.phone_masked,
            "state": self.state,
            "answered_via": self.answered_via,
            "answered_at": self.answered_at.isoformat() if self.answered_at else None,
            "deadline_at": self.deadline_at.isoformat(),
            "withdrawal_reason": self.withdrawal_reason,
            "seat_venue": self.seat_venue,
            "attempts": [a.as_dict() for a in self.attempts],
        }


@dataclass(frozen=True)
class DrawContactRecord:
    """Every invitation of one draw and every attempt, for auditors after the award."""

    draw_id: str
    project_id: int
    project_code: str
    project_name: str
    invitees: list[InviteeRecord]

    def as_dict(self) -> dict[str, Any]:
        """The record as JSON."""
        return {
            "draw_id": self.draw_id,
            "project": {
                "id": self.project_id,
                "code": self.project_code,
                "name": self.project_name,
            },
            "invitees": [i.as_dict() for i in self.invitees],
        }


def _history(raw: str) -> list[tuple[str, str]]:
    try:
        items = json.loads(raw or "[]")
    except ValueError:
        return []
    return [(str(at), str(status)) for at, status in items]


def _attempt(row: ContactAttempt) -> AttemptRecord:
    return AttemptRecord(
        channel=row.channel.value,
        provider=row.provider,
        sid=row.sid,
        at=row.at,
        updated_at=row.updated_at,
        status=row.status,
        status_history=_history(row.status_history),
        answered_by=row.answered_by,
        digits=row.digits,
        error_code=row.error_code,
        is_final=row.is_final,
    )


def project_of_draw(session: Session, draw_id: str) -> Project:
    """The project a draw was made for (from the draw ledger); NotFound when there is none."""
    project_id = session.execute(
        select(DrawLedgerEntry.project_id).where(DrawLedgerEntry.draw_id == draw_id).limit(1)
    ).scalar_one_or_none()
    project = session.get(Project, project_id) if project_id is not None else None
    if project is None:
        raise NotFound()
    return project


def _expert_ids(session: Session, draw_id: str, ctx: NotifyContext) -> dict[str, int]:
    """token -> expert id of everyone the draw's sealed result names (empty without a result).

    Invitations hold tokens only; after the award the record names the experts again through
    the result, which the contact record's own audit entry covers.
    """
    d = session.execute(select(Draw).where(Draw.draw_id == draw_id)).scalar_one_or_none()
    if d is None or d.result_enc is None:
        return {}
    result = sealing.open_result(d, ctx.keys)
    ids = {e for g in result.groups for e in (*g.primaries, *g.backups)}
    return ExpertTokens(ctx.keys).tokens(ids)


def draw_contact_record(
    session: Session, draw_id: str, *, ctx: NotifyContext, actor: str, via: str = "page"
) -> DrawContactRecord:
    """The named record of a draw's invitations; refused until the project's close (awarded,
    failed or cancelled).

    Each successful reading is recorded in the audit trail (committed here).
    """
    project = project_of_draw(session, draw_id)
    if not project.status.is_closed:
        raise Forbidden(
            str(_l("The contact record opens once the project is awarded.")), code="not_awarded"
        )
    rows = (
        session.execute(
            select(InvitationRecord)
            .where(InvitationRecord.draw_id == draw_id)
            .order_by(InvitationRecord.group_id, InvitationRecord.rank, InvitationRecord.id)
        )
        .scalars()
        .all()
    )
    id_of = _expert_ids(session, draw_id, ctx)
    invitees = [
        InviteeRecord(
            invitation_id=inv.id,
            group_id=inv.group_id,
            rank=inv.rank,
            expert_id=id_of.get(inv.expert_token),
            pseudonym=(
                ExpertTokens(ctx.keys).pseudonym(draw_id, id_of[inv.expert_token])
                if inv.expert_token in id_of
                else None
            ),
            name=outbox.invitee_name(ctx, inv),
            phone_masked=notify.mask_phone(outbox.invitee_phone(ctx, inv)),
            state=inv.state.value,
            answered_via=inv.answered_via,
            answered_at=inv.answered_at,
            deadline_at=inv.deadline_at,
            withdrawal_reason=inv.withdrawal_reason,
            seat_venue=inv.seat_venue,
            attempts=[_attempt(a) for a in inv.attempts],
        )
        for inv in rows
    ]
    record = DrawContactRecord(
        draw_id=draw_id,
        project_id=project.id,
        project_code=project.code,
        project_name=project.name,
        invitees=invitees,
    )
    audit.record(
        session,
        actor=actor,
        action="notify.record_viewed",
        object_type="draw",
        object_id=draw_id,
        after={
            "project_id": project.id,
            "via": via,
            "invitations": len(invitees),
            "attempts": sum(len(i.attempts) for i in invitees),
        },
    )
    session.commit()
    return record
