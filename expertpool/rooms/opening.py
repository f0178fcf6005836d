"""The opening act: at the evaluation start the main venue's host and a supervisor open every
sealed draw of a lot at once, and that act creates the lot's evaluation session from what the
draws and the project hold — never from names typed in.

Members are the experts who accepted and hold a seat (each at the venue and seat booked for
them), the experts directly appointed to a special project once approved, and the tenderer's
representatives named on the project beforehand (at the main venue). Hosts are the
opener at the main venue and the staff of each other venue's centre; the co-opening supervisor
supervises. Either everything happens (draws opened, session created) or nothing does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from evaluation_room.model import RoomSettings
from expertpool.accounts.models import User, UserRole
from expertpool.core import audit
from expertpool.core.errors import Conflict, Forbidden, NotFound
from expertpool.core.keys import KeyStore
from expertpool.core.pii import PiiCipher
from expertpool.draws import panels
from expertpool.draws import protocol as draws
from expertpool.draws.models import Draw, DrawRequestRecord, DrawStatus
from expertpool.experts import accounts, records
from expertpool.experts.models import Expert
from expertpool.organisations import representatives
from expertpool.projects import appointments as appointment_service
from expertpool.projects.models import (
    Appointment,
    AppointmentStatus,
    Lot,
    Project,
    Seat,
    SeatBooking,
    VenueRecord,
)
from expertpool.rooms.models import EvaluationSession
from expertpool.rooms.sessions import (
    STANDARD_FORM,
    PanelDescription,
    SeatSpec,
    StaffSpec,
    VenueSpec,
    create_session,
    state_of,
)


@dataclass(frozen=True)
class Seated:
    """One committee member to seat: the expert and the seat booked for them."""

    expert: Expert
    booking: SeatBooking
    source: str  # "draw <id> group <key>" or "appointment <id>"


def sealed_draws_of(session: Session, project_id: int, lot_id: int | None) -> list[Draw]:
    """The lot's draws still sealed (supplementary draws included), oldest first."""
    return list(
        session.execute(
            select(Draw)
            .join(DrawRequestRecord, DrawRequestRecord.id == Draw.request_id)
            .where(
                Draw.project_id == project_id,
                DrawRequestRecord.lot_id.is_(None)
                if lot_id is None
                else DrawRequestRecord.lot_id == lot_id,
                Draw.status == DrawStatus.SEALED,
            )
            .order_by(Draw.id)
            .with_for_update()
        ).scalars()
    )


def session_of_lot(session: Session, project_id: int, lot_label: str) -> EvaluationSession | None:
    """The session already created for a lot, if any."""
    for row in session.execute(
        select(EvaluationSession).where(EvaluationSession.project_id == project_id)
    ).scalars():
        if row.title.endswith(f"#{lot_label}"):
            return row
    return None


def member_account(session: Session, expert: Expert) -> User:
    """The expert's login account (every expert has one: `experts.accounts`)."""
    return accounts.ensure_account(session, expert, actor="opening")


def open_lot(
    session: Session,
    *,
    project_id: int,
    lot_id: int | None,
    actor: User,
    supervisor_username: str,
    supervisor_password: str,
    keys: KeyStore,
    settings: RoomSettings,
    now: datetime,
) -> EvaluationSession:
    """Open every sealed draw of the lot and create its session in one transaction; commits."""
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound()
    lot = session.get(Lot, lot_id) if lot_id is not None else None
    if lot_id is not None and (lot is None or lot.project_id != project.id):
        raise NotFound()
    lot_label = lot.code if lot else "1"
    # Experts imported without an account get one now, the whole pool at once and committed
    # apart, so that the accounts made at an opening do not tell who sits on its committee.
    if accounts.create_missing_accounts(session, actor="opening"):
        session.expire_all()  # the bulk update moved the experts' rows on
    supervisor = draws.authenticate_openers(
        session,
        project=project,
        actor=actor,
        supervisor_username=supervisor_username,
        supervisor_password=supervisor_password,
        label=f"{project.code}#{lot_label}",
    )
    existing = session_of_lot(session, project.id, lot_label)
    if existing is not None:
        return _open_supplementary(
            session,
            existing,
            project,
            lot_id,
            actor=actor,
            supervisor=supervisor,
            keys=keys,
            now=now,
        )
    sealed = sealed_draws_of(session, project.id, lot_id)
    if not sealed:
        raise Conflict(_("No sealed draw of this lot waits for opening."), code="nothing_sealed")
    try:
        for d in sealed:
            draws.open_sealed(session, d, actor=actor, supervisor=supervisor, keys=keys, now=now)
        seated = _seated(session, project, sealed, keys)
        reps = representatives.seat_representatives(session, project, PiiCipher.from_keys(keys))
        panel = _panel(session, project, lot_label, seated, reps, actor, supervisor, keys)
    except BaseException:
        session.rollback()
        raise
    audit.record(
        session,
        actor=actor.username,
        action="session.open",
        object_type="project",
        object_id=project.id,
        after={
            "lot": lot_label,
            "draws": [d.draw_id for d in sealed],
            "supervisor": supervisor.username,
            "members": len(panel.members),
        },
    )
    # create_session commits the draws' opening, the audit entries and the session together.
    return create_session(session, panel, actor=actor.username, settings=settings, keys=keys)


def _open_supplementary(
    session: Session,
    row: EvaluationSession,
    project: Project,
    lot_id: int | None,
    *,
    actor: User,
    supervisor: User,
    keys: KeyStore,
    now: datetime,
) -> EvaluationSession:
    """Once the session runs, a supplementary draw (补抽, made when a vacated seat's group ran out
    of backups) is opened by the session's main host with one of its supervisors; the experts
    who accepted are then seated by the host in the vacated seats (`rooms.replacements`)."""
    sealed = sealed_draws_of(session, project.id, lot_id)
    if not sealed:
        raise Conflict(_("This lot's session is already open."), code="already_open")
    if any(d.request.parent_id is None for d in sealed):
        raise Conflict(
            _("Only a supplementary draw can be opened into a running session."),
            code="not_supplementary",
        )
    state = state_of(row, keys)
    main = next(v["venue_id"] for v in state["venues"] if v["is_main"])
    roles = {
        (str(p["user_id"]), p["role"], p.get("venue_id"))
        for p in state["participants"]
        if p["status"] == "active"
    }
    if (str(actor.id), "host", main) not in roles:
        raise Forbidden(
            _("A supplementary draw is opened by the session's main host."), code="not_host"
        )
    if not any(u == str(supervisor.id) and r == "supervisor" for u, r, _v in roles):
        raise Forbidden(
            _("A supplementary draw is opened with a supervisor of the session."),
            code="not_session_supervisor",
        )
    try:
        for d in sealed:
            draws.open_sealed(session, d, actor=actor, supervisor=supervisor, keys=keys, now=now)
    except BaseException:
        session.rollback()
        raise
    audit.record(
        session,
        actor=actor.username,
        action="session.open_supplementary",
        object_type="session",
        object_id=row.room_id,
        after={"draws": [d.draw_id for d in sealed], "supervisor": supervisor.username},
    )
    session.commit()
    return row


def _seated(session: Session, project: Project, opened: list[Draw], keys: KeyStore) -> list[Seated]:
    out: list[Seated] = []
    for d in opened:
        for m in panels.seated_members(session, d, keys):
            expert = session.get(Expert, m.expert_id)
            booking = session.get(SeatBooking, m.seat_booking_id)
            if expert is not None and booking is not None and booking.released_at is None:
                out.append(Seated(expert, booking, f"draw {d.draw_id} group {m.group}"))
    for a in session.execute(
        select(Appointment)
        .where(
            Appointment.project_id == project.id,
            Appointment.status == AppointmentStatus.APPROVED,
            Appointment.seat_booking_id.is_not(None),
        )
        .order_by(Appointment.id)
    ).scalars():
        booking = session.get(SeatBooking, a.seat_booking_id)
        expert = session.get(Expert, appointment_service.expert_of(a, keys))
        if expert is not None and booking is not None and booking.released_at is None:
            out.append(Seated(expert, booking, f"appointment {a.id}"))
    return out


def _panel(
    session: Session,
    project: Project,
    lot_label: str,
    seated: list[Seated],
    reps: list[representatives.SeatedRepresentative],
    actor: User,
    supervisor: User,
    keys: KeyStore,
) -> PanelDescription:
    cipher = PiiCipher.from_keys(keys)
    venue_rows: dict[int, VenueRecord] = {}
    seats: dict[int, Seat] = {}
    for s in seated:
        seat = session.get(Seat, s.booking.seat_id)
        if seat is not None:
            seats[s.booking.id] = seat
            venue_rows[seat.venue_id] = seat.venue
    main_ids = [v.id for v in venue_rows.values() if v.centre_id == project.main_centre_id]
    main_id = main_ids[0] if main_ids else None
    venues = [
        VenueSpec(f"v{v.id}", v.name, v.id == main_id)
        for v in sorted(venue_rows.values(), key=lambda v: (v.id != main_id, v.id))
    ]
    if main_id is None:
        venues.insert(0, VenueSpec("main", project.main_centre.name, True))
    main_key = f"v{main_id}" if main_id is not None else "main"
    members = []
    for s in seated:
        seat = seats.get(s.booking.id)
        user = member_account(session, s.expert)
        phone = records.clear_pii(s.expert, cipher).get("phone") or None
        members.append(
            SeatSpec(
                user.id,
                "expert",
                f"v{seat.venue_id}" if seat else main_key,
                str(seat.number) if seat else None,
                phone,
            )
        )
    # The tenderer's representatives sit at the main venue; they count toward the committee.
    members += [SeatSpec(r.user.id, "representative", main_key, None, r.phone) for r in reps]
    hosts = [StaffSpec(actor.id, main_key)]
    for v in venue_rows.values():
        if v.id == main_id:
            continue
        staff = session.execute(
            select(User.id).where(
                User.role == UserRole.CENTRE_STAFF,
                User.centre_id == v.centre_id,
                User.is_active.is_(True),
            )
        ).scalars()
        hosts += [StaffSpec(uid, f"v{v.id}") for uid in staff]
    return PanelDescription(
        title=f"{project.code} {project.name} #{lot_label}",
        project_code=project.code,
        lot=lot_label,
        venues=venues,
        members=members,
        hosts=hosts,
        supervisors=[StaffSpec(supervisor.id)],
        project_id=project.id,
        starts_at=project.evaluation_start_at,
        form=STANDARD_FORM,
    )
