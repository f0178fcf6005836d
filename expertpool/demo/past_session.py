"""Demo step helper: the past project's session, run from its opening to the signed report.

Everything goes through the room model and the app's own adapters, as the live room would do it:
the main venue's host builds the method from the centre's template, enters the bids and opens
check-in; one member checks in by SMS code, one
without a signal is checked in person; one falls ill, the host proposes taking them off and the
supervisor approves, the group's next backup is called, accepts and is seated, and checks in;
the committee elects its leader, runs the compliance review (the majority fails the third
bidder, with reasons), scores the others, signs after re-entering their passwords, and the host
archives the session. The state is saved with its events and audit entries by the room's store.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from evaluation_room.model import Role, Status, Verdict
from evaluation_room.room import EvaluationRoom
from evaluation_room.scoring import Bid
from expertpool.accounts import users
from expertpool.accounts.models import User
from expertpool.demo.accounts import DEMO_PASSWORD
from expertpool.demo.context import DemoContext
from expertpool.demo.methods import TEMPLATE_NAME
from expertpool.draws.models import Draw
from expertpool.notifications import invitations
from expertpool.notifications.models import InvitationRecord, InvitationState
from expertpool.projects.models import Bidder, Project
from expertpool.reports.archive import ReportIssuer
from expertpool.reports.signing import PadesSigner
from expertpool.rooms import methods
from expertpool.rooms.adapters import PasswordAuthenticator
from expertpool.rooms.conflicts import ProjectConflictChecker
from expertpool.rooms.models import EvaluationSession
from expertpool.rooms.replacements import DrawReplacements
from expertpool.rooms.sessions import state_of
from expertpool.rooms.store import SqlRoomStore

PRICES = (Decimal("1760000"), Decimal("1688000"), Decimal("1725000"))
# Each member's technical scores per bidder (0-50) and service scores (0-20): close enough that no
# score deviates far from the mean, different enough to rank the bidders.
TECH = ("44", "41", "38")
SERVICE = ("17", "16", "15")
RESPONSE_FAILS = (
    "未响应★号条款：总监理工程师须驻场",
    "★号条款偏离：驻场人员少于招标文件要求",
    "未承诺总监理工程师驻场，属重大偏离",
)


class _Clock:
    """The session's own time: minutes after the evaluation start, moved on step by step."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def now(self) -> datetime:
        return self.at

    def tick(self, minutes: int = 1) -> datetime:
        self.at += timedelta(minutes=minutes)
        return self.at


def run_to_report(
    session: Session, ctx: DemoContext, row: EvaluationSession, *, starts_at: datetime
) -> str:
    """Run the opened session `row` to its archived, signed report; returns a summary line."""
    clock = _Clock(starts_at)
    project = session.get(Project, row.project_id)
    if project is None:
        return "no project"
    bidders = list(
        session.execute(
            select(Bidder).where(Bidder.project_id == project.id).order_by(Bidder.id)
        ).scalars()
    )
    replacements = DrawReplacements(ctx.sessions, ctx.notify, clock=clock.now)
    conflicts = ProjectConflictChecker(
        ctx.sessions, lookback_years=ctx.config.conflict_lookback_years
    )
    state = state_of(row, ctx.keys)
    room = EvaluationRoom.from_state(state, clock)
    seen = room.seq
    main = next(v["venue_id"] for v in state["venues"] if v["is_main"])
    people = [room.participant(pid) for pid in room.participant_ids()]
    host = next(p.participant_id for p in people if p.role is Role.HOST and p.venue_id == main)
    supervisor = next(p.participant_id for p in people if p.role is Role.SUPERVISOR)
    # The host builds the method from the centre's template (as the editor's "create from a
    # template" does) and enters the bidders, the purchaser's qualification review passed.
    template = next(
        t for t in methods.templates_of(session, project.owner_centre_id) if t.name == TEMPLATE_NAME
    )
    room.set_form(host, methods.template_form(template))
    room.set_bids(
        host,
        [
            Bid(b.credit_code, b.name, PRICES[n % len(PRICES)], {"q_licence": True})
            for n, b in enumerate(bidders)
        ],
    )
    room.open(host)
    clock.tick(5)
    room.start_check_in(host)

    # One member falls ill before checking in: the host proposes, the supervisor approves, and
    # the group's next backup is called; they accept within minutes and take the seat.
    leaving = _committee(room)[1]
    clock.tick(3)
    room.propose_removal(host, leaving, "突发疾病，无法参加评审")
    reason = room.pending_removal(supervisor, leaving).reason
    spec = replacements.draw_replacement(row.room_id, room.participant(leaving).ref(), reason)
    room.approve_removal(supervisor, leaving, spec)
    clock.tick(10)
    for invitation in session.execute(
        select(InvitationRecord).where(
            InvitationRecord.state.in_([InvitationState.QUEUED, InvitationState.CALLING])
        )
    ).scalars():
        if invitation.draw_id in _draw_ids(session, project):
            invitations.move(
                session,
                invitation,
                InvitationState.ACCEPTED,
                now=clock.now(),
                ctx=ctx.notify,
                actor="demo",
                via="demo",
            )
    session.commit()
    seated = replacements.draw_replacement(
        row.room_id, room.participant(leaving).ref(), "备选专家已确认参加"
    )
    if seated is None:
        return "the backup did not accept"
    room.replace_member(host, leaving, seated, "备选专家已确认参加")

    # Check-in: the first member without a signal, in person; the others by SMS code.
    for n, member in enumerate(_committee(room)):
        clock.tick(2)
        seat = f"A-{n + 1:02d}"
        if n == 0:
            room.verify_in_person(host, member, seat, "no_signal", conflicts, replacements)
            continue
        code, _expires = room.issue_check_in_code(member, member)
        room.enter_check_in_code(member, code)
        room.confirm_identity(host, member, seat, conflicts, replacements)

    clock.tick(5)
    room.start_election(host)
    members = _committee(room)
    leader = room.participant(members[0]).alias or ""
    for member in members:
        room.vote(member, leader)
    # The compliance review (符合性审查): three of the five members find that the third
    # bidder did not respond to a starred clause; it leaves the evaluation with their reasons.
    clock.tick(5)
    room.start_review(host)
    failing = bidders[-1].credit_code
    for n, member in enumerate(members):
        clock.tick(10)
        marks: dict[str, object] = {
            b.credit_code: {
                "c_validity": {"passed": True},
                "c_response": (
                    {"passed": False, "reason": RESPONSE_FAILS[n]}
                    if b.credit_code == failing and n < len(RESPONSE_FAILS)
                    else {"passed": True}
                ),
            }
            for b in bidders
        }
        room.submit_review(member, marks)
    clock.tick(5)
    room.start_scoring(host)
    scored = [b for b in bidders if b.credit_code != failing]
    for n, member in enumerate(members):
        clock.tick(20)
        room.submit_sheet(
            member,
            {
                b.credit_code: {
                    "tech": TECH[(k + n) % len(TECH)] if n % 2 else TECH[k % len(TECH)],
                    "service": SERVICE[k % len(SERVICE)],
                }
                for k, b in enumerate(scored)
            },
        )
    clock.tick(10)
    room.finalise(host)
    room.start_signing(host)
    _give_demo_passwords(session, room)
    authenticator = PasswordAuthenticator(ctx.sessions)
    for member in members:
        clock.tick(2)
        room.sign(
            member,
            verdict=Verdict.AGREE,
            reasons="",
            report_digest=room.report_digest or "",
            password=DEMO_PASSWORD,
            authenticator=authenticator,
        )
    clock.tick(5)
    room.archive(host)
    # As in the live room, the archive issues the named report signed by the centre's key.
    store = SqlRoomStore(
        ctx.sessions, None, ctx.keys, on_archived=ReportIssuer(ctx.keys, PadesSigner(ctx.keys))
    )
    store.save(row.room_id, room.to_state(), seen, room.drain_events())
    return f"session {row.room_id} run to its signed report ({len(members)} signatures)"


def _committee(room: EvaluationRoom) -> list[str]:
    """The seated committee members' ids, in alias order."""
    seated = [room.participant(pid) for pid in room.participant_ids()]
    seated = [p for p in seated if p.role.is_committee and p.status is Status.ACTIVE]
    return [p.participant_id for p in sorted(seated, key=lambda p: p.alias_number or 0)]


def _draw_ids(session: Session, project: Project) -> set[str]:
    return set(session.execute(select(Draw.draw_id).where(Draw.project_id == project.id)).scalars())


def _give_demo_passwords(session: Session, room: EvaluationRoom) -> None:
    """The past committee signs with passwords: the demo gives its members the demo password
    (a handful of hashes, not the whole pool's)."""
    for pid in _committee(room):
        user = session.get(User, int(room.participant(pid).user_id))
        if user is not None and not users.has_password(user):
            users.set_password(session, actor="demo", user_id=user.id, password=DEMO_PASSWORD)
    session.commit()
