"""Plain data of the evaluation room: phases, roles, settings, participants and audit events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from evaluation_room._codec import encode
from evaluation_room.checkin import CheckInCode
from evaluation_room.election import TieRule
from evaluation_room.scoring import Bid, ScoringSettings

ALIAS_FORMAT = "专家{n}"
"""How committee members appear to each other (experts and tenderer's representatives alike)."""


class Phase(StrEnum):
    """Phases of a session, in order, plus ``paused``."""

    SCHEDULED = "scheduled"
    OPENED = "opened"
    CHECK_IN = "check_in"
    LEADER_ELECTION = "leader_election"
    REVIEW = "review"
    SCORING = "scoring"
    DEVIATION_REVIEW = "deviation_review"
    FINALISED = "finalised"
    SIGNING = "signing"
    ARCHIVED = "archived"
    PAUSED = "paused"


PAUSABLE_PHASES = frozenset(
    {
        Phase.OPENED,
        Phase.CHECK_IN,
        Phase.LEADER_ELECTION,
        Phase.REVIEW,
        Phase.SCORING,
        Phase.DEVIATION_REVIEW,
        Phase.FINALISED,
        Phase.SIGNING,
    }
)
SCORES_VISIBLE_PHASES = frozenset(
    {Phase.DEVIATION_REVIEW, Phase.FINALISED, Phase.SIGNING, Phase.ARCHIVED}
)
SETUP_PHASES = frozenset({Phase.SCHEDULED, Phase.OPENED, Phase.CHECK_IN, Phase.LEADER_ELECTION})
"""Phases before scoring: the form and bids may still change, objective scores are not shown."""


class Role(StrEnum):
    """Roles in a room: committee members (experts, tenderer's representatives) and staff."""

    EXPERT = "expert"
    REPRESENTATIVE = "representative"
    HOST = "host"
    SUPERVISOR = "supervisor"

    @property
    def is_committee(self) -> bool:
        """True for roles that sit on the committee, vote, score and sign."""
        return self in (Role.EXPERT, Role.REPRESENTATIVE)


class Status(StrEnum):
    """Whether a participant may still act."""

    ACTIVE = "active"
    REPLACED = "replaced"
    REMOVED = "removed"


class Verdict(StrEnum):
    """A member's verdict on the report."""

    AGREE = "agree"
    DISSENT = "dissent"


class AmendReason(StrEnum):
    """The only reasons for which a score may change after totals are computed."""

    ARITHMETIC_ERROR = "arithmetic_error"
    OUT_OF_RANGE = "out_of_range"
    OBJECTIVE_DISAGREEMENT = "objective_disagreement"
    ABNORMAL_SCORE = "abnormal_score"


class FlagStatus(StrEnum):
    """State of a deviation flag."""

    OPEN = "open"
    EXPLAINED = "explained"
    CLEARED = "cleared"
    VOIDED = "voided"


@dataclass(frozen=True)
class Venue:
    """A venue of the session: the main venue (主场) or a secondary one (副场)."""

    venue_id: str
    name: str
    is_main: bool = False


@dataclass(frozen=True)
class ParticipantSpec:
    """Who joins a room: committee members with their booked venue and seat, hosts, supervisors."""

    participant_id: str
    user_id: str
    name: str
    role: Role
    venue_id: str | None = None
    seat: str | None = None


@dataclass(frozen=True)
class MemberRef:
    """What the app's collaborators learn about a member (no check-in secrets)."""

    participant_id: str
    user_id: str
    role: Role
    venue_id: str | None


@dataclass(frozen=True)
class RoomSettings:
    """Settings of a room (configurable per province); stored with the room."""

    scoring: ScoringSettings = field(default_factory=ScoringSettings)
    min_committee_size: int = 5
    is_odd_size_required: bool = True
    min_expert_share: tuple[int, int] = (2, 3)
    """At least this fraction (numerator, denominator) of the committee are drawn experts."""
    code_ttl_seconds: int = 600
    code_max_attempts: int = 5
    code_max_issues: int = 3
    election_tie_rule: TieRule = TieRule.LOWEST_ALIAS
    election_seed: str = ""
    representatives_may_lead: bool = True
    """False where the purchaser's representative may not lead (government procurement)."""
    review_majority: str = "simple_majority"
    """How a review stage concludes an item (see :mod:`evaluation_room.review`)."""


@dataclass
class CheckIn:
    """Check-in progress of a committee member: code, host confirmation, venue and seat."""

    code: CheckInCode | None = None
    codes_issued: int = 0
    code_verified_at: datetime | None = None
    confirmed_by: str | None = None
    checked_in_at: datetime | None = None
    venue_id: str | None = None
    seat: str | None = None
    method: str | None = None  # "sms_code" or "in_person" (the host checked the ID card)
    in_person_reason: str | None = None  # "codes_failed" or "no_signal"


@dataclass
class Participant:
    """A participant of the room and their state."""

    participant_id: str
    user_id: str
    name: str
    role: Role
    venue_id: str | None
    seat: str | None
    alias: str | None = None
    alias_number: int | None = None
    status: Status = Status.ACTIVE
    replaces: str | None = None
    replaced_by: str | None = None
    removal_reason: str | None = None
    check_in: CheckIn = field(default_factory=CheckIn)

    @property
    def is_checked_in(self) -> bool:
        """True once the host at the member's venue has confirmed the person."""
        return self.check_in.checked_in_at is not None

    def ref(self) -> MemberRef:
        """Return the reference handed to the app's collaborators."""
        return MemberRef(self.participant_id, self.user_id, self.role, self.venue_id)


@dataclass
class ScoreVersion:
    """One version of one score, with why it was set."""

    value: Decimal
    set_at: datetime
    reason: str
    note: str = ""


@dataclass
class Sheet:
    """A member's scores (bidder -> item -> versions, newest last), submission and voiding."""

    member_id: str
    entries: dict[str, dict[str, list[ScoreVersion]]] = field(default_factory=dict)
    submitted_at: datetime | None = None
    voided_at: datetime | None = None
    reasons: dict[str, dict[str, str]] = field(default_factory=dict)
    """Short reasons for low subjective scores: bidder -> item -> reason."""

    def current(self) -> dict[str, dict[str, Decimal]]:
        """Return the latest value of every score."""
        return {b: {i: v[-1].value for i, v in items.items()} for b, items in self.entries.items()}


@dataclass
class BidVersion:
    """One version of a bid as entered by a host, with the reason of a change."""

    bid: Bid
    entered_at: datetime
    by: str
    reason: str
    note: str = ""


@dataclass
class Flag:
    """A deviation flag on one member's score; it needs an explanation or a revision."""

    flag_id: str
    member_id: str
    bidder_code: str
    item_id: str
    score: Decimal
    mean: Decimal
    deviation_pct: Decimal | None
    status: FlagStatus
    raised_at: datetime
    explanation: str = ""
    resolved_at: datetime | None = None


@dataclass
class Removal:
    """The main venue's host asks to take a member off the committee; a supervisor of the
    session approves (the seat is then vacated or refilled) or rejects it."""

    member_id: str
    reason: str
    proposed_by: str
    proposed_at: datetime


@dataclass
class Signature:
    """A member's signature on the report digest, or a refusal recorded by a host."""

    member_id: str
    alias: str
    signed_at: datetime
    report_digest: str
    verdict: Verdict
    reasons: str
    is_refusal: bool
    recorded_by: str


@dataclass(frozen=True)
class RoomEvent:
    """An audit record of one change; ``seq`` is the room's sequence number after the change."""

    seq: int
    room_id: str
    kind: str
    actor_id: str | None
    occurred_at: datetime
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-serialisable form."""
        out: dict[str, Any] = encode(self)
        return out
