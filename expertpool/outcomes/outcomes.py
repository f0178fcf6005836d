"""A project fails (流标/废标) or is cancelled, or its evaluation is postponed.

Failure and cancellation are the project's close (as the award is): every seat booking of the
project is released, open invitations stop, and each expert who had accepted is told by SMS
through the outbox (sealed like every message). Postponement keeps the phase and the panel: the
seats move to the new window, an expert booked elsewhere then is replaced by the next backup,
and everyone still on the panel is told the new time (each may withdraw; the next backup follows).

No page, audit entry or message says how many experts were drawn, invited or booked: the audit
entries record the outcome and its reason only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import notify
from expertpool.accounts.models import User, UserRole
from expertpool.core import audit
from expertpool.core.errors import Forbidden, TransitionRefused, ValidationFailed
from expertpool.core.texts import _l
from expertpool.draws import panels
from expertpool.events import events
from expertpool.notifications.context import NotifyContext
from expertpool.notifications.models import InvitationRecord, OutboxChannel, OutboxKind
from expertpool.notifications.outbox import (
    invitation_content,
    invitee_phone,
    language_of,
    queue_message,
)
from expertpool.projects import venues
from expertpool.projects.models import FailureKind, Project, ProjectStatus, SeatBooking
from expertpool.projects.projects import parse_moment

MIN_REASON = 5
ENDABLE = (ProjectStatus.DRAFT, ProjectStatus.READY, ProjectStatus.DRAWN, ProjectStatus.OPENED)
POSTPONABLE = (ProjectStatus.READY, ProjectStatus.DRAWN)


def _lock(session: Session, project_id: int) -> Project:
    project = session.execute(
        select(Project).where(Project.id == project_id).with_for_update()
    ).scalar_one_or_none()
    if project is None:
        raise ValidationFailed(fields={"project": str(_l("No such project."))})
    return project


def _check_actor(actor: User, project: Project) -> None:
    if actor.role is not UserRole.CENTRE_STAFF or actor.centre_id != project.owner_centre_id:
        raise Forbidden(str(_l("You may act only for your own centre.")), code="outside_centre")


def _reason(reason: Any) -> str:
    clean = reason.strip() if isinstance(reason, str) else ""
    if not MIN_REASON <= len(clean) <= 2000:
        raise ValidationFailed(
            fields={"reason": str(_l("Give the reason (5 to 2000 characters)."))}
        )
    return clean


def _tell(
    session: Session,
    ctx: NotifyContext,
    invitations: list[InvitationRecord],
    *,
    key: str,
    postponed: bool,
    now: datetime,
) -> None:
    """Queue one SMS per invitation (sealed recipient and text), in the caller's transaction."""
    contact = ctx.config.centre_contact_phone
    for invitation in invitations:
        venue = invitation.seat_venue or invitation.venue
        content = invitation_content(ctx, invitation, venue)
        lang = language_of(invitation)
        kind = notify.MessageKind.POSTPONEMENT if postponed else notify.MessageKind.CALLED_OFF
        queue_message(
            session,
            ctx,
            key=f"inv:{invitation.id}:{key}",
            channel=OutboxChannel.SMS,
            kind=OutboxKind.OUTCOME_SMS,
            to=invitee_phone(ctx, invitation),
            message=notify.Message.about(kind, content, language=lang, contact=contact),
            invitation=invitation,
            not_before=now,
        )


def _release_bookings(session: Session, project: Project) -> None:
    for booking_id in session.execute(
        select(SeatBooking.id).where(
            SeatBooking.project_id == project.id, SeatBooking.released_at.is_(None)
        )
    ).scalars():
        venues.release_booking(session, booking_id)


def end_project(
    session: Session,
    *,
    actor: User,
    project_id: int,
    outcome: str,
    reason: Any,
    failure_kind: Any = None,
    ctx: NotifyContext,
    now: datetime,
) -> Project:
    """Close a project as failed (with its kind: 流标 or 废标) or cancelled; commits."""
    project = _lock(session, project_id)
    _check_actor(actor, project)
    if project.status not in ENDABLE:
        raise TransitionRefused(str(_l("The project has already ended.")))
    fields: dict[str, str] = {}
    kind: FailureKind | None = None
    if outcome == ProjectStatus.FAILED.value:
        try:
            kind = FailureKind(str(failure_kind))
        except ValueError:
            fields["failure_kind"] = str(_l("Choose why the tender failed."))
    elif outcome != ProjectStatus.CANCELLED.value:
        fields["outcome"] = str(_l("Choose failed or cancelled."))
    try:
        clean = _reason(reason)
    except ValidationFailed as exc:
        fields.update(exc.fields)
        clean = ""
    if fields:
        raise ValidationFailed(fields=fields)
    before = project.status.value
    project.status = ProjectStatus(outcome)
    project.failure_kind, project.outcome_reason, project.outcome_at = kind, clean, now
    accepted = panels.close_panels(session, project, reason=f"project_{outcome}", now=now)
    _release_bookings(session, project)
    _tell(session, ctx, accepted, key=f"outcome:{outcome}", postponed=False, now=now)
    audit.record(
        session,
        actor=actor.username,
        action=f"project.{outcome}",
        object_type="project",
        object_id=project.id,
        before={"status": before},
        after={
            "status": outcome,
            "failure_kind": kind.value if kind else None,
            "reason": clean,
        },
    )
    events.emit(
        session,
        centre_id=project.owner_centre_id,
        event_type="project.closed",
        data={
            "project_id": project.id,
            "project_code": project.code,
            "outcome": outcome,
            "failure_kind": kind.value if kind else None,
        },
        now=now,
    )
    session.commit()
    return project


def postpone_project(
    session: Session,
    *,
    actor: User,
    project_id: int,
    evaluation_start: Any,
    reason: Any,
    ctx: NotifyContext,
    now: datetime,
) -> Project:
    """Move the evaluation to a later time, keeping the panel; commits."""
    project = _lock(session, project_id)
    _check_actor(actor, project)
    if project.status not in POSTPONABLE:
        raise TransitionRefused(
            str(_l("Only a project ready or drawn, not yet opened, can be postponed."))
        )
    fields: dict[str, str] = {}
    try:
        start = parse_moment(evaluation_start)
    except ValueError:
        fields["evaluation_start"] = str(
            _l("A date and time, e.g. 2026-12-01T09:00 (China Standard Time).")
        )
    else:
        if start <= max(now, project.evaluation_start_at):
            fields["evaluation_start"] = str(_l("The new time must be later than the old one."))
    try:
        clean = _reason(reason)
    except ValidationFailed as exc:
        fields.update(exc.fields)
        clean = ""
    if fields:
        raise ValidationFailed(fields=fields)
    old = project.evaluation_start_at
    project.evaluation_start_at = start
    project.postponements += 1
    session.flush()
    told = panels.postpone_panels(session, project, ctx=ctx, now=now)
    _tell(
        session,
        ctx,
        told,
        key=f"postponed:{project.postponements}",
        postponed=True,
        now=now,
    )
    audit.record(
        session,
        actor=actor.username,
        action="project.postponed",
        object_type="project",
        object_id=project.id,
        before={"evaluation_start_at": old.isoformat()},
        after={"evaluation_start_at": start.isoformat(), "reason": clean},
    )
    session.commit()
    return project
