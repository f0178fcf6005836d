"""The room's state record and the read-only queries the room, its views and its report share.

:class:`RoomState` is everything a room knows; :meth:`evaluation_room.room.EvaluationRoom.to_state`
serialises exactly this. The functions here only read it: who a participant is, their alias,
the seated committee, the current bids, the submitted scores and the results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from evaluation_room.election import Election
from evaluation_room.errors import MemberReplaced, NotOnPanel
from evaluation_room.model import (
    SCORES_VISIBLE_PHASES,
    BidVersion,
    Flag,
    Participant,
    Phase,
    Removal,
    RoomSettings,
    Sheet,
    Signature,
    Status,
    Venue,
)
from evaluation_room.review import ReviewStage, review_exclusions
from evaluation_room.scoring import Bid, Results, ScoreForm, compute_results

STATE_SCHEMA = 1


@dataclass
class RoomState:
    """Everything the room knows; :meth:`EvaluationRoom.to_state` serialises exactly this."""

    room_id: str
    project: dict[str, str]
    settings: RoomSettings
    venues: list[Venue]
    participants: list[Participant]
    committee_size: int
    created_at: datetime
    updated_at: datetime
    schema: int = STATE_SCHEMA
    seq: int = 0
    phase: Phase = Phase.SCHEDULED
    paused_from: Phase | None = None
    pause_reason: str = ""
    form: ScoreForm | None = None
    bids: dict[str, list[BidVersion]] = field(default_factory=dict)
    election: Election | None = None
    leader_id: str | None = None
    scoring_bidders: list[str] = field(default_factory=list)
    sheets: dict[str, Sheet] = field(default_factory=dict)
    flags: dict[str, Flag] = field(default_factory=dict)
    finalised_at: datetime | None = None
    report_body: dict[str, Any] | None = None
    report_digest: str | None = None
    signatures: dict[str, Signature] = field(default_factory=dict)
    final_report_digest: str | None = None
    next_alias: int = 1
    pending_removals: dict[str, Removal] = field(default_factory=dict)
    """Removals the main host proposed that wait for a supervisor, by member id."""
    requests: dict[str, int] = field(default_factory=dict)
    """Each participant's last applied request number (see :meth:`EvaluationRoom.request`)."""
    stages: list[ReviewStage] = field(default_factory=list)
    """The review stages run before scoring, in order (empty for a form without any)."""


def effective_phase(s: RoomState) -> Phase:
    """The phase the room is in, or was in before it was paused."""
    return s.paused_from or s.phase


def find_participant(s: RoomState, participant_id: str) -> Participant:
    """Return the participant itself (not a copy) or raise :class:`NotOnPanel`."""
    for p in s.participants:
        if p.participant_id == participant_id:
            return p
    raise NotOnPanel("not a participant of this room", participant_id=participant_id)


def find_active(s: RoomState, participant_id: str) -> Participant:
    """Return an active participant; raise :class:`NotOnPanel` or :class:`MemberReplaced`."""
    p = find_participant(s, participant_id)
    if p.status is not Status.ACTIVE:
        raise MemberReplaced("you were replaced and can no longer act in this room")
    return p


def alias_of(s: RoomState, participant_id: str | None) -> str | None:
    """A participant's alias (None for None or for staff)."""
    if participant_id is None:
        return None
    return find_participant(s, participant_id).alias


def main_venue(s: RoomState) -> Venue:
    """The room's main venue."""
    return next(v for v in s.venues if v.is_main)


def seated_committee(s: RoomState) -> list[Participant]:
    """The committee members still active (replaced and removed ones left out)."""
    return [p for p in s.participants if p.role.is_committee and p.status is Status.ACTIVE]


def current_bids(s: RoomState) -> list[Bid]:
    """The latest version of every bid, in entry order."""
    return [versions[-1].bid for versions in s.bids.values()]


def active_sheets(s: RoomState) -> dict[str, Sheet]:
    """The seated members' sheets that are not voided, by member id."""
    ids = {p.participant_id for p in seated_committee(s)}
    return {m: sheet for m, sheet in s.sheets.items() if m in ids and sheet.voided_at is None}


def submitted_scores(s: RoomState) -> dict[str, dict[str, dict[str, Decimal]]]:
    """Current scores of every active submitted sheet: member id -> bidder -> item -> score."""
    return {m: sheet.current() for m, sheet in active_sheets(s).items() if sheet.submitted_at}


def room_results(s: RoomState) -> Results | None:
    """Aggregates, totals and ranking, once every member has submitted (else None)."""
    if effective_phase(s) not in SCORES_VISIBLE_PHASES or s.form is None:
        return None
    return compute_results(
        s.form,
        current_bids(s),
        submitted_scores(s),
        s.settings.scoring,
        review_exclusions(s.stages),
    )


def current_stage(s: RoomState) -> ReviewStage | None:
    """The review stage under way (None when none is, or all have concluded)."""
    if s.stages and s.stages[-1].concluded_at is None:
        return s.stages[-1]
    return None
