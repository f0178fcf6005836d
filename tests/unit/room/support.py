"""Fakes and a driver that brings a room to any phase through legal moves only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from evaluation_room.model import MemberRef, ParticipantSpec, Phase, Role, RoomSettings, Venue
from evaluation_room.room import EvaluationRoom
from evaluation_room.scoring import Bid, ItemKind, ScoreForm, ScoreItem

MAIN_HOST = "h_gz"
SECONDARY_HOST = "h_sz"
SUPERVISOR = "sup"
VENUES = [Venue("gz", "广州主场", is_main=True), Venue("sz", "深圳副场")]


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self) -> None:
        self.current = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)

    def now(self) -> datetime:
        """Return the fake time."""
        return self.current

    def advance(self, seconds: float) -> None:
        """Move the fake time forward."""
        self.current += timedelta(seconds=seconds)


@dataclass
class FakeConflictChecker:
    """Reports a conflict for the participant ids it is given."""

    conflicted: dict[str, str] = field(default_factory=dict)
    checked: list[str] = field(default_factory=list)

    def find_conflict(self, room_id: str, member: MemberRef) -> str | None:
        """Return the configured conflict of this member, if any."""
        self.checked.append(member.participant_id)
        return self.conflicted.get(member.participant_id)


@dataclass
class FakeReplacementProvider:
    """Hands out queued replacement specs in order, then None."""

    queue: list[ParticipantSpec] = field(default_factory=list)
    asked: list[tuple[str, str]] = field(default_factory=list)

    def draw_replacement(
        self, room_id: str, removed: MemberRef, reason: str
    ) -> ParticipantSpec | None:
        """Pop the next replacement."""
        self.asked.append((removed.participant_id, reason))
        return self.queue.pop(0) if self.queue else None


@dataclass
class FakeAuthenticator:
    """Accepts exactly the passwords it holds."""

    passwords: dict[str, str] = field(default_factory=dict)

    def verify_password(self, user_id: str, password: str) -> bool:
        """Compare with the stored password."""
        return self.passwords.get(user_id) == password


def committee_specs(n_experts: int = 4, n_reps: int = 1) -> list[ParticipantSpec]:
    """Experts e1..eN and representatives r1..; the first three committee seats are in gz."""
    specs: list[ParticipantSpec] = []
    ids = [f"e{i}" for i in range(1, n_experts + 1)] + [f"r{i}" for i in range(1, n_reps + 1)]
    for pos, pid in enumerate(ids):
        venue = "gz" if pos < (len(ids) + 1) // 2 else "sz"
        role = Role.EXPERT if pid.startswith("e") else Role.REPRESENTATIVE
        specs.append(ParticipantSpec(pid, f"u_{pid}", f"姓名{pid}", role, venue, f"S{pos + 1:02d}"))
    return specs


def staff_specs() -> list[ParticipantSpec]:
    """Two hosts and a supervisor."""
    return [
        ParticipantSpec(MAIN_HOST, "u_h_gz", "主场主持", Role.HOST, "gz"),
        ParticipantSpec(SECONDARY_HOST, "u_h_sz", "副场主持", Role.HOST, "sz"),
        ParticipantSpec(SUPERVISOR, "u_sup", "监督员", Role.SUPERVISOR),
    ]


def standard_form(subjective_max: int = 50) -> ScoreForm:
    """Price (lowest-price formula, 30 points), technical and service items."""
    return ScoreForm(
        (
            ScoreItem(
                "price",
                "价格",
                ItemKind.OBJECTIVE,
                Decimal(0),
                Decimal(30),
                Decimal("0.01"),
                formula="lowest_price",
            ),
            ScoreItem(
                "tech",
                "技术",
                ItemKind.SUBJECTIVE,
                Decimal(0),
                Decimal(subjective_max),
                Decimal("0.5"),
            ),
            ScoreItem(
                "service", "服务", ItemKind.SUBJECTIVE, Decimal(0), Decimal(20), Decimal("0.5")
            ),
        )
    )


def standard_bids() -> list[Bid]:
    """Two qualified bids and one that failed the licence check."""
    return [
        Bid("B001", "甲公司", Decimal(1_000_000), {"licence": True}),
        Bid("B002", "乙公司", Decimal(950_000), {"licence": True}),
        Bid("B003", "丙公司", Decimal(900_000), {"licence": False}),
    ]


def uniform_sheet(tech: str = "40", service: str = "15") -> dict[str, dict[str, str]]:
    """The same scores for both qualified bidders."""
    return {b: {"tech": tech, "service": service} for b in ("B001", "B002")}


ORDER = [
    Phase.SCHEDULED,
    Phase.OPENED,
    Phase.CHECK_IN,
    Phase.LEADER_ELECTION,
    Phase.SCORING,
    Phase.DEVIATION_REVIEW,
    Phase.FINALISED,
    Phase.SIGNING,
    Phase.ARCHIVED,
]


class RoomDriver:
    """Builds a standard room and moves it forward with legal calls."""

    def __init__(
        self,
        settings: RoomSettings | None = None,
        n_experts: int = 4,
        n_reps: int = 1,
        form: ScoreForm | None = None,
    ) -> None:
        self.clock = FakeClock()
        self.conflicts = FakeConflictChecker()
        self.replacements = FakeReplacementProvider()
        self.auth = FakeAuthenticator()
        specs = committee_specs(n_experts, n_reps) + staff_specs()
        for s in specs:
            self.auth.passwords[s.user_id] = f"pw-{s.user_id}"
        self.room = EvaluationRoom.create(
            "room-1",
            project={"code": "GZ-2025-001", "lot": "1", "title": "某医院设备采购"},
            venues=VENUES,
            participants=specs,
            clock=self.clock,
            settings=settings,
        )
        self.room.set_form(MAIN_HOST, form or standard_form())
        self.room.set_bids(MAIN_HOST, standard_bids())
        self.sheets: Mapping[str, Mapping[str, Mapping[str, str]]] = {}

    @property
    def members(self) -> list[str]:
        """Ids of the seated committee members in alias order."""
        snap = self.room.snapshot(SUPERVISOR)
        return [m["participant_id"] for m in snap["members"] if m["status"] == "active"]

    def host_of(self, member_id: str) -> str:
        """The host at the member's venue."""
        venue = self.room.participant(member_id).venue_id
        return MAIN_HOST if venue == "gz" else SECONDARY_HOST

    def check_in(self, member_id: str) -> Any:
        """Run the three check-in steps for one member."""
        code, _ = self.room.issue_check_in_code(member_id, member_id)
        self.room.enter_check_in_code(member_id, code)
        return self.room.confirm_identity(
            self.host_of(member_id), member_id, "A-01", self.conflicts, self.replacements
        )

    def remove(
        self, member_id: str, spec: ParticipantSpec | None = None, reason: str = "病"
    ) -> None:
        """The main host proposes taking a member off; the supervisor approves (with `spec`
        taking the seat, or None to leave it vacant)."""
        self.room.propose_removal(MAIN_HOST, member_id, reason)
        self.room.approve_removal(SUPERVISOR, member_id, spec)

    def elect(self, leader: str | None = None) -> None:
        """Every member votes for the same leader (default: the first member)."""
        target = leader or self.members[0]
        for m in self.members:
            self.room.vote(m, target)

    def submit_all(
        self, sheets: Mapping[str, Mapping[str, Mapping[str, str]]] | None = None
    ) -> None:
        """Every member who has not submitted submits (uniform scores unless given)."""
        sheets = sheets or {}
        for m in self.members:
            snap = self.room.snapshot(m)
            if snap["my_sheet"] and snap["my_sheet"]["submitted_at"]:
                continue
            self.room.submit_sheet(m, sheets.get(m, uniform_sheet()))

    def sign_all(self) -> None:
        """Every member agrees and signs."""
        for m in self.members:
            if m in self.room.to_state()["signatures"]:
                continue
            p = self.room.participant(m)
            self.room.sign(
                m,
                verdict="agree",
                reasons="",
                report_digest=self.room.report_digest or "",
                password=f"pw-{p.user_id}",
                authenticator=self.auth,
            )

    def to(self, phase: Phase, *, sign_all: bool = False) -> EvaluationRoom:
        """Advance to ``phase`` (``paused`` means paused during scoring)."""
        if phase is Phase.PAUSED:
            self.to(Phase.SCORING)
            self.room.pause(MAIN_HOST, "网络中断")
            return self.room
        target = ORDER.index(phase)
        r = self.room
        while ORDER.index(r.phase) < target:
            step = r.phase
            if step is Phase.SCHEDULED:
                r.open(MAIN_HOST)
            elif step is Phase.OPENED:
                r.start_check_in(MAIN_HOST)
            elif step is Phase.CHECK_IN:
                for m in self.members:
                    if not r.participant(m).is_checked_in:
                        self.check_in(m)
                r.start_election(MAIN_HOST)
            elif step is Phase.LEADER_ELECTION:
                if r.leader_id is None:
                    self.elect()
                r.start_scoring(MAIN_HOST)
            elif step is Phase.SCORING:
                self.submit_all(self.sheets)
            elif step is Phase.DEVIATION_REVIEW:
                r.finalise(MAIN_HOST)
            elif step is Phase.FINALISED:
                r.start_signing(MAIN_HOST)
            elif step is Phase.SIGNING:
                self.sign_all()
                r.archive(MAIN_HOST)
        if sign_all and r.phase is Phase.SIGNING:
            self.sign_all()
        return r
