"""Demo step: evaluation sessions run to their close at known times, with their fee statements.

`run_session` drives a stored room through legal moves only (opening, check-in in person, the
election, scoring, signing, archiving, optionally one member taken off mid-session with the
supervisor's approval and the seat filled) with a clock
set to the times given, so the minutes each member served are known. Tests use it too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from evaluation_room.model import MemberRef, ParticipantSpec, Role
from evaluation_room.room import CheckInOutcome, EvaluationRoom
from expertpool.accounts.models import User
from expertpool.core.keys import KeyStore
from expertpool.demo.context import DemoContext
from expertpool.experts.accounts import ensure_account
from expertpool.experts.models import Expert, ExpertStatus
from expertpool.fees import statements
from expertpool.projects.models import VenueRecord
from expertpool.rooms import sealing
from expertpool.rooms.models import EvaluationSession
from expertpool.rooms.sessions import (
    STANDARD_FORM,
    PanelDescription,
    SeatSpec,
    StaffSpec,
    VenueSpec,
    create_session,
    get_session,
    new_participant_id,
    room_settings,
    state_of,
)
from expertpool.rooms.store import dumps, write_trail

SHEET = {b: {"tech": "40", "service": "15"} for b in ("B001", "B002")}
"""The same scores for the two qualified demo bids (no deviation to explain)."""
BIDS = [
    {"bidder_code": "B001", "bidder_name": "广东甲建设有限公司", "price": "980000", "checks": {}},
    {"bidder_code": "B002", "bidder_name": "深圳乙工程有限公司", "price": "950000", "checks": {}},
]


class _Clock:
    """The room's clock, set by the driver."""

    def __init__(self, at: datetime) -> None:
        self.current = at

    def now(self) -> datetime:
        """The time the driver set."""
        return self.current


class _NoConflicts:
    """The demo's experts have no conflict."""

    def find_conflict(self, room_id: str, member: MemberRef) -> str | None:
        """None: no conflict."""
        return None


class _NoReplacements:
    """The demo seats its replacement itself."""

    def draw_replacement(self, room_id: str, removed: MemberRef, reason: str) -> None:
        """None: no automatic replacement."""
        return None


class _DemoSignatures:
    """Made-up experts sign the demo report: their accounts have no password to re-enter."""

    def verify_password(self, user_id: str, password: str) -> bool:
        """True: the demo signs for them."""
        return True


@dataclass(frozen=True)
class Replacement:
    """At `at` the member with account `user_id` leaves; `by_user_id` takes the seat and checks
    in at `checked_in_at`."""

    user_id: int
    by_user_id: int
    by_name: str
    at: datetime
    checked_in_at: datetime


def run_session(
    session: Session,
    keys: KeyStore,
    room_id: str,
    *,
    opened_at: datetime,
    check_ins: Mapping[int, datetime],
    leader_user_id: int,
    closed_at: datetime,
    replacement: Replacement | None = None,
) -> None:
    """Drive a scheduled stored room to its archived close at the given times; commits."""
    row = get_session(session, room_id)
    clock = _Clock(opened_at)
    room = EvaluationRoom.from_state(state_of(row, keys), clock)
    seq = room.seq
    state = room.to_state()
    known = len(state["participants"])
    main_venue = next(v["venue_id"] for v in state["venues"] if v["is_main"])
    hosts: dict[str, str] = {}
    by_user: dict[int, str] = {}
    supervisor = ""
    for pid in room.participant_ids():
        p = room.participant(pid)
        if p.role is Role.HOST and p.venue_id:
            hosts.setdefault(p.venue_id, pid)
        elif p.role is Role.SUPERVISOR:
            supervisor = pid
        elif p.role.is_committee:
            by_user[int(p.user_id)] = pid
    main = hosts[main_venue]

    def check_in(pid: str, at: datetime) -> None:
        clock.current = at
        p = room.participant(pid)
        outcome: CheckInOutcome = room.verify_in_person(
            hosts[p.venue_id or main_venue],
            pid,
            p.seat or "S",
            "no_signal",
            _NoConflicts(),
            _NoReplacements(),
        )
        assert outcome.is_checked_in

    room.open(main)
    room.start_check_in(main)
    for user_id, at in sorted(check_ins.items(), key=lambda kv: kv[1]):
        check_in(by_user[user_id], at)
    clock.current = max(check_ins.values()) + timedelta(minutes=5)
    room.start_election(main)
    committee = [pid for pid in by_user.values()]
    for pid in committee:
        room.vote(pid, by_user[leader_user_id])
    room.start_scoring(main)
    if replacement is not None:
        clock.current = replacement.at
        old = by_user[replacement.user_id]
        seat = room.participant(old)
        room.propose_removal(main, old, "因病无法继续评标")
        room.approve_removal(supervisor, old, None)
        new = ParticipantSpec(
            new_participant_id(),
            str(replacement.by_user_id),
            replacement.by_name,
            Role.EXPERT,
            seat.venue_id,
            seat.seat,
        )
        room.replace_member(main, old, new, "备选专家递补")
        check_in(new.participant_id, replacement.checked_in_at)
        committee = [pid for pid in committee if pid != old] + [new.participant_id]
    clock.current = closed_at - timedelta(minutes=20)
    for pid in committee:
        room.submit_sheet(pid, SHEET)
    room.finalise(main)
    room.start_signing(main)
    for pid in committee:
        room.sign(
            pid,
            verdict="agree",
            reasons="",
            report_digest=room.report_digest or "",
            password="",
            authenticator=_DemoSignatures(),
        )
    clock.current = closed_at
    room.archive(main)
    final = room.to_state()
    row.state = sealing.seal(keys, room_id, dumps(final))
    row.seq, row.phase, row.updated_at = int(final["seq"]), str(final["phase"]), closed_at
    write_trail(session, row.id, final, room.drain_events(), known_participants=known, keys=keys)
    assert seq < row.seq
    session.commit()


DEMO_PREFIX = "演示（已结束）："


def _demo_experts(session: Session, region: str, n: int) -> list[Expert]:
    return list(
        session.execute(
            select(Expert)
            .where(Expert.status == ExpertStatus.ACTIVE, Expert.home_region == region)
            .order_by(Expert.id)
            .limit(n)
        ).scalars()
    )


def _venue(session: Session, region: str) -> VenueRecord | None:
    return next(
        (
            v
            for v in session.execute(select(VenueRecord).order_by(VenueRecord.id)).scalars()
            if v.centre.region_code == region
        ),
        None,
    )


def demo_step(session: Session, ctx: DemoContext, seed: int, options: dict[str, int]) -> str:
    """Two closed sessions (a Guangzhou main venue with a Shenzhen secondary one, one member
    replaced midway) and the statements of every closed session."""
    made = 0
    gz, sz = _venue(session, "440100"), _venue(session, "440300")
    gz_experts, sz_experts = (
        _demo_experts(session, "440100", 5),
        _demo_experts(session, "440300", 2),
    )
    staff = {
        u.username: u
        for u in session.execute(
            select(User).where(User.username.in_(("staff.gz", "staff.sz", "supervisor")))
        ).scalars()
    }
    ready = gz and sz and len(gz_experts) == 5 and len(sz_experts) == 2 and len(staff) == 3
    for n, replaced in ((1, False), (2, True)):
        title = f"{DEMO_PREFIX}第{n}场 远程异地评标（广州主场、深圳副场）"
        if (
            not ready
            or session.execute(
                select(EvaluationSession.id).where(EvaluationSession.title == title)
            ).first()
        ):
            continue
        assert gz is not None and sz is not None
        members = [ensure_account(session, e, actor="demo") for e in gz_experts[:4]]
        remote = ensure_account(session, sz_experts[0], actor="demo")
        backup = ensure_account(session, gz_experts[4], actor="demo")
        panel = PanelDescription(
            title=title,
            project_code=f"GZ-DEMO-FEES-{n:03d}",
            lot="1",
            venues=[VenueSpec(f"v{gz.id}", gz.name, True), VenueSpec(f"v{sz.id}", sz.name)],
            members=[
                SeatSpec(u.id, "expert", f"v{gz.id}", f"G-{i:02d}")
                for i, u in enumerate(members, 1)
            ]
            + [SeatSpec(remote.id, "expert", f"v{sz.id}", "S-01")],
            hosts=[
                StaffSpec(staff["staff.gz"].id, f"v{gz.id}"),
                StaffSpec(staff["staff.sz"].id, f"v{sz.id}"),
            ],
            supervisors=[StaffSpec(staff["supervisor"].id)],
            form=STANDARD_FORM,
            bids=BIDS,
        )
        row = create_session(
            session, panel, actor="demo", settings=room_settings(ctx.config), keys=ctx.keys
        )
        day = datetime(2026, 11, 2 + 7 * n, 1, 0, tzinfo=UTC)  # 09:00 CST on a Monday
        check_ins = {u.id: day + timedelta(minutes=5 * i) for i, u in enumerate(members)}
        check_ins[remote.id] = day + timedelta(minutes=12)
        run_session(
            session,
            ctx.keys,
            row.room_id,
            opened_at=day - timedelta(minutes=10),
            check_ins=check_ins,
            leader_user_id=members[0].id,
            closed_at=day + timedelta(hours=5, minutes=30),
            replacement=Replacement(
                members[3].id,
                backup.id,
                backup.display_name,
                day + timedelta(hours=2),
                day + timedelta(hours=2, minutes=40),
            )
            if replaced
            else None,
        )
        made += 1
    statements_made = statements.make_due_statements(session, ctx.keys, actor="demo")
    return f"{made} sessions closed, {statements_made} statements"
