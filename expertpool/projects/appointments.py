"""Special projects: the tenderer appoints experts directly, with a reason and a supervisor's
approval.

This is the one path where a person names an expert (docs/domain.md "Evaluation committee"). Centre
staff of the owning centre record the tenderer's appointment with its reason; a supervisor (another
person) approves or refuses it. Every step is in the audit trail, marked `"drawn": false`. An
approved expert holds a seat at the main venue over the evaluation window, under the same
database guarantees as drawn experts: nobody holds two seats in overlapping windows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from expertpool.accounts.models import User, UserRole
from expertpool.core import audit
from expertpool.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from expertpool.core.keys import KeyStore
from expertpool.core.pii import PiiCipher
from expertpool.core.texts import _l
from expertpool.core.tokens import ExpertTokens
from expertpool.experts.models import Expert, ExpertStatus
from expertpool.projects import venues
from expertpool.projects.models import Appointment, AppointmentStatus, Project, ProjectStatus
from expertpool.projects.projects import require_reader

MIN_REASON = 10  # characters: a written reason, not a word
OPEN_PROJECT = (ProjectStatus.DRAFT, ProjectStatus.READY, ProjectStatus.DRAWN)


def appointments_for(session: Session, project_id: int) -> list[Appointment]:
    """The direct appointments of a project, oldest first."""
    return list(
        session.execute(
            select(Appointment).where(Appointment.project_id == project_id).order_by(Appointment.id)
        ).scalars()
    )


def _lock_project(session: Session, project_id: int) -> Project:
    project = session.execute(
        select(Project).where(Project.id == project_id).with_for_update()
    ).scalar_one_or_none()
    if project is None:
        raise NotFound()
    return project


def _conflicts(project: Project, expert: Expert) -> bool:
    """Whether the expert works for a bidder, the tenderer or the agency (then no appointment)."""
    orgs = {b.credit_code for b in project.bidders} | {project.tenderer_code, project.agency_code}
    return bool(expert.employer_code) and expert.employer_code in orgs


REF_TABLE, REF_COLUMN = "appointment", "expert_ref"


def expert_of(row: Appointment, keys: KeyStore) -> int:
    """The appointed expert's id (decrypted)."""
    return int(
        PiiCipher.from_keys(keys).decrypt(
            row.expert_ref, table=REF_TABLE, row_id=row.id, column=REF_COLUMN
        )
    )


def _pseudonym(keys: KeyStore, project_id: int, expert_id: int) -> str:
    """How the audit trail names an appointed expert before the close."""
    return ExpertTokens(keys).pseudonym(f"appointment:{project_id}", expert_id)


def request_appointment(
    session: Session,
    *,
    actor: User,
    project_id: int,
    expert_id: int,
    reason: str,
    now: datetime,
    keys: KeyStore,
) -> Appointment:
    """Record the tenderer's direct appointment of an expert with its written reason; commits."""
    project = _lock_project(session, project_id)
    if actor.role is not UserRole.CENTRE_STAFF or actor.centre_id != project.owner_centre_id:
        raise Forbidden(str(_l("You may act only for your own centre.")), code="outside_centre")
    if project.status not in OPEN_PROJECT:
        raise Conflict(
            str(_l("Experts can no longer be appointed to this project.")), code="project_closed"
        )
    if not project.is_special or project.special_approved_by is None:
        raise Conflict(
            str(
                _l(
                    "Only a special project, with its written reason approved by a supervisor, "
                    "may appoint experts directly."
                )
            ),
            code="not_special",
        )
    clean = (reason or "").strip()
    fields: dict[str, str] = {}
    if len(clean) < MIN_REASON or len(clean) > 2000:
        fields["reason"] = str(_l("Give the tenderer's written reason (10 to 2000 characters)."))
    expert = session.get(Expert, expert_id)
    if expert is None or expert.status is not ExpertStatus.ACTIVE:
        fields["expert"] = str(_l("Only an active expert of the pool can be appointed."))
    elif _conflicts(project, expert):
        fields["expert"] = str(_l("This expert works for a bidder, the tenderer or the agency."))
    if fields:
        raise ValidationFailed(fields=fields)
    row = Appointment(
        project_id=project.id,
        expert_token=ExpertTokens(keys).token(expert_id),
        expert_ref=b"",
        reason=clean,
        requested_by_id=actor.id,
        requested_at=now,
        status=AppointmentStatus.REQUESTED,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            str(_l("This expert is already appointed to this project.")), code="already_appointed"
        ) from None
    row.expert_ref = PiiCipher.from_keys(keys).encrypt(
        str(expert_id), table=REF_TABLE, row_id=row.id, column=REF_COLUMN
    )
    audit.record(
        session,
        actor=actor.username,
        action="appointment.requested",
        object_type="project",
        object_id=project.id,
        after={
            "appointment": row.id,
            "expert": _pseudonym(keys, project_id, expert_id),
            "reason": clean,
            "drawn": False,
        },
    )
    session.commit()
    return row


def decide(
    session: Session,
    *,
    actor: User,
    appointment_id: int,
    approve: bool,
    note: str,
    now: datetime,
    keys: KeyStore,
) -> Appointment:
    """A supervisor approves (the expert takes a seat) or refuses a direct appointment; commits."""
    row = session.execute(
        select(Appointment).where(Appointment.id == appointment_id).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        raise NotFound()
    if actor.role is not UserRole.SUPERVISOR:
        raise Forbidden(
            str(_l("Only a supervisor approves a direct appointment.")), code="not_supervisor"
        )
    if actor.id == row.requested_by_id:
        raise Forbidden(
            str(_l("The supervisor must be another person than the one who asked.")),
            code="same_person",
        )
    if row.status is not AppointmentStatus.REQUESTED:
        raise Conflict(
            str(_l("This appointment has already been decided.")), code="already_decided"
        )
    project = _lock_project(session, row.project_id)
    require_reader(session, actor, project)
    clean = (note or "").strip()[:500]
    if approve:
        try:
            row.seat_booking_id = _book_seat(session, project, row.expert_token)
        except Conflict:
            session.rollback()
            raise
    row.status = AppointmentStatus.APPROVED if approve else AppointmentStatus.REFUSED
    row.decided_by_id, row.decided_at, row.decision_note = actor.id, now, clean
    audit.record(
        session,
        actor=actor.username,
        action=f"appointment.{row.status.value}",
        object_type="project",
        object_id=project.id,
        after={
            "appointment": row.id,
            "expert": _pseudonym(keys, row.project_id, expert_of(row, keys)),
            "note": clean,
            "drawn": False,
        },
    )
    session.commit()
    return row


def _book_seat(session: Session, project: Project, expert_token: str) -> int | None:
    """Hold a free seat at the main venue for the evaluation window (no commit).

    An expert already booked at that time (by a sealed draw, say) gets no seat, and nothing says
    so before the opening: a refusal here would tell the supervisor who a sealed draw booked. The
    opening finds the appointment without a seat. No free seat at all is a `Conflict` (a fact of
    the venue, not of any expert).
    """
    starts_at = project.evaluation_start_at
    ends_at = starts_at + timedelta(minutes=project.duration_minutes)
    for venue in venues.list_venues(session, centre_id=project.main_centre_id):
        for seat in venues.free_seats(session, venue.id, starts_at, ends_at):
            try:
                with session.begin_nested():
                    made = venues.book_seats(
                        session,
                        [
                            venues.BookingWish(
                                seat_id=seat.id,
                                expert_token=expert_token,
                                starts_at=starts_at,
                                ends_at=ends_at,
                            )
                        ],
                        project_id=project.id,
                    )
            except Conflict as exc:
                if exc.code == "expert_booked":
                    return None
                continue
            return made[0].id
    raise Conflict(str(_l("No free seat at the venue for this evaluation.")), code="no_free_seat")
