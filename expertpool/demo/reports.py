"""Demo step: the past project's session run to its sign-off, with its signed report.

The past project (`demo/draws.py`) was drawn, opened and awarded a week ago; its session was
created by the opening act. This step replays that evaluation on the room model at the times it
took place: the bids (the third one failing its qualification check), check-in by SMS code, the
leader's election, the scores, one dissent, the members' signatures and the archive. Then it
issues the named report exactly as a live sign-off does (`reports.archive.issue_report`, signed
by the centre's key), so `/org/projects/<id>` and the API serve a report that validates.

The members' signatures are replayed: nobody types passwords into a demo, so the replay's
authenticator accepts them (a live room re-checks each member's password).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from evaluation_room.errors import RoomError
from evaluation_room.model import MemberRef, ParticipantSpec, Role
from evaluation_room.room import EvaluationRoom
from evaluation_room.scoring import Bid
from expertpool.demo.context import DemoContext
from expertpool.demo.draws import CODE
from expertpool.projects.models import Project
from expertpool.reports.archive import issue_report, report_of
from expertpool.reports.signing import PadesSigner
from expertpool.rooms import sealing
from expertpool.rooms.models import EvaluationSession
from expertpool.rooms.sessions import sessions_for_project, state_of
from expertpool.rooms.store import dumps, write_trail

PRICES = ("1685000", "1712000", "1590000")
DISSENT = "对投标人2的监理人员配置评分偏低有保留意见"


class _ReplayClock:
    """The replay's clock: the evaluation's own times, a minute per step."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        """The time of the next step."""
        self.current += timedelta(minutes=1)
        return self.current


class _Replayed:
    """No conflict found, no replacement needed, signatures accepted (see the module)."""

    def find_conflict(self, room_id: str, member: MemberRef) -> str | None:
        """The past committee had no conflict."""
        return None

    def draw_replacement(
        self, room_id: str, removed: MemberRef, reason: str
    ) -> ParticipantSpec | None:
        """Nobody was replaced."""
        return None

    def verify_password(self, user_id: str, password: str) -> bool:
        """A replayed signature."""
        return True


def signed_report_step(
    session: Session, ctx: DemoContext, seed: int, options: dict[str, int]
) -> str:
    """Run the past project's session to its sign-off once; return a one-line summary."""
    project = session.execute(select(Project).where(Project.code == CODE)).scalar_one_or_none()
    rows = sessions_for_project(session, project.id) if project is not None else []
    if project is None or not rows:
        return "skipped (no past project or session)"
    row = rows[0]
    if report_of(session, row.room_id) is not None:
        return "exists"
    try:
        room = _replay(row, ctx, project)
    except RoomError as exc:
        return f"skipped ({exc.message})"
    state = room.to_state()
    row.state = sealing.seal(ctx.keys, row.room_id, dumps(state))
    row.seq = room.seq
    row.phase = str(state["phase"])
    try:
        write_trail(
            session,
            row.id,
            state,
            room.drain_events(),
            known_participants=row.participant_count,
            keys=ctx.keys,
        )
        report = issue_report(
            session,
            room_id=row.room_id,
            state=state,
            keys=ctx.keys,
            signer=PadesSigner(ctx.keys),
            now=_ended(state),
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return f"{CODE} signed off; report of {row.room_id} sha256 {report.pdf_sha256[:16]}…"


def _ended(state: dict[str, object]) -> datetime:
    return datetime.fromisoformat(str(state["updated_at"]))


def _replay(row: EvaluationSession, ctx: DemoContext, project: Project) -> EvaluationRoom:
    start = row.starts_at or project.evaluation_start_at
    room = EvaluationRoom.from_state(state_of(row, ctx.keys), _ReplayClock(start))
    people = room.to_state()["participants"]
    main = next(v["venue_id"] for v in room.to_state()["venues"] if v["is_main"])
    hosts = {p["venue_id"]: p["participant_id"] for p in people if p["role"] == Role.HOST.value}
    host = hosts[main]
    members = [
        p["participant_id"]
        for p in people
        if p["role"] in (Role.EXPERT.value, Role.REPRESENTATIVE.value)
    ]
    replayed = _Replayed()
    room.set_bids(
        host,
        [
            Bid(
                f"B{n:03d}",
                b.name,
                Decimal(PRICES[(n - 1) % len(PRICES)]),
                {"资质证书": n != len(project.bidders), "投标保证金": True},
            )
            for n, b in enumerate(project.bidders, 1)
        ],
    )
    room.open(host)
    room.start_check_in(host)
    for n, m in enumerate(members, 1):
        code, _ = room.issue_check_in_code(m, m)
        room.enter_check_in_code(m, code)
        venue = room.participant(m).venue_id or main
        room.confirm_identity(hosts.get(venue, host), m, f"A-{n:02d}", replayed, replayed)
    room.start_election(host)
    for m in members:
        room.vote(m, members[0])
    room.start_scoring(host)
    qualified = [f"B{n:03d}" for n in range(1, len(project.bidders))]
    for n, m in enumerate(members):
        room.submit_sheet(
            m,
            {
                code: {"tech": str(42 - k * 2 + n % 2), "service": str(16 - k)}
                for k, code in enumerate(qualified)
            },
        )
    room.finalise(host)
    room.start_signing(host)
    digest = room.report_digest or ""
    for n, m in enumerate(members):
        is_dissent = n == len(members) - 1
        room.sign(
            m,
            verdict="dissent" if is_dissent else "agree",
            reasons=DISSENT if is_dissent else "",
            report_digest=digest,
            password="",
            authenticator=replayed,
        )
    room.archive(host)
    return room
