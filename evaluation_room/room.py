"""The evaluation room: a plain state machine over one lot's remote evaluation session.

Phases run ``scheduled → opened → check_in → leader_election → scoring → deviation_review →
finalised → signing → archived``; ``paused`` can be entered from any phase between ``opened``
and ``signing`` and locks every action until the main venue's host resumes it into the phase
it paused. Every change bumps ``seq`` by one and appends a :class:`RoomEvent` to
``pending_events``; the app saves :meth:`EvaluationRoom.to_state` with those events under
optimistic locking on ``seq`` (see :mod:`evaluation_room.commands`). The state record lives in
:mod:`evaluation_room.state`, what each viewer sees in :mod:`evaluation_room.views` and the
report's assembly in :mod:`evaluation_room.report`; the room's methods delegate to them.

Who may do what:

* the main venue's host runs the session (form, bids, phase moves, replacements, resume);
* any host may pause, issue a check-in code to and confirm the identity of members seated at
  their venue, and record a refusal to sign by such a member;
* committee members (drawn experts and the tenderer's representatives) check in, vote, score,
  explain or revise flagged scores, amend scores for an allowed reason, and sign;
* the leader, or the main host, finalises and starts signing;
* supervisors only read.

Checks run in this order, so the error is predictable: unknown actor (``not_on_panel``),
replaced actor (``member_replaced``), paused room (``room_paused``), role (``not_allowed``),
then phase (``illegal_transition`` / ``scoring_closed``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from evaluation_room import report as report_mod
from evaluation_room import views
from evaluation_room._codec import decode, encode
from evaluation_room.checkin import issue_code, verify_code
from evaluation_room.election import Election
from evaluation_room.errors import (
    AlreadySubmitted,
    CheckInFailed,
    DigestMismatch,
    IllegalTransition,
    InvalidInput,
    InvalidScore,
    MemberReplaced,
    NotAllowed,
    NotCheckedIn,
    NotOnPanel,
    ReauthenticationFailed,
    RoomPaused,
    ScoringClosed,
    StaleRequest,
    StaleSequence,
    TooManyAttempts,
)
from evaluation_room.model import (
    ALIAS_FORMAT,
    PAUSABLE_PHASES,
    SETUP_PHASES,
    AmendReason,
    BidVersion,
    Flag,
    FlagStatus,
    Participant,
    ParticipantSpec,
    Phase,
    Removal,
    Role,
    RoomEvent,
    RoomSettings,
    ScoreVersion,
    Sheet,
    Signature,
    Status,
    Venue,
    Verdict,
)
from evaluation_room.ports import Authenticator, Clock, ConflictChecker, ReplacementProvider
from evaluation_room.review import ReviewSheet, ReviewStage, conclude, parse_marks
from evaluation_room.scoring import (
    Bid,
    Category,
    Results,
    ScoreForm,
    check_price_weight,
    find_deviations,
    missing_entries,
    missing_reasons,
    parse_entries,
    validate_bids,
    validate_form,
)
from evaluation_room.state import (
    STATE_SCHEMA,
    RoomState,
    active_sheets,
    alias_of,
    current_bids,
    current_stage,
    effective_phase,
    find_active,
    find_participant,
    main_venue,
    room_results,
    seated_committee,
    submitted_scores,
)

REPLACEABLE_PHASES = frozenset(
    {
        Phase.SCHEDULED,
        Phase.OPENED,
        Phase.CHECK_IN,
        Phase.LEADER_ELECTION,
        Phase.REVIEW,
        Phase.SCORING,
        Phase.DEVIATION_REVIEW,
    }
)
MAX_SCORE_REASON = 200
"""The longest short reason for a low score."""
IN_PERSON_REASONS = ("codes_failed", "no_signal")
"""Why a host checks an ID card in person instead of an SMS code."""

CHECK_IN_PHASES = frozenset(
    {Phase.CHECK_IN, Phase.LEADER_ELECTION, Phase.REVIEW, Phase.SCORING, Phase.DEVIATION_REVIEW}
)


@dataclass(frozen=True)
class CheckInOutcome:
    """Result of a host's confirmation: checked in, or removed for a conflict (and replaced)."""

    is_checked_in: bool
    conflict: str | None = None
    replacement_id: str | None = None


class EvaluationRoom:
    """A remote evaluation session of one lot; see the module docstring for the rules."""

    def __init__(self, state: RoomState, clock: Clock) -> None:
        self._s = state
        self._clock = clock
        self.pending_events: list[RoomEvent] = []
        self._request: tuple[str, int] | None = None

    # --- construction and persistence -------------------------------------------------------

    @classmethod
    def create(
        cls,
        room_id: str,
        *,
        project: Mapping[str, str],
        venues: Sequence[Venue],
        participants: Sequence[ParticipantSpec],
        clock: Clock,
        settings: RoomSettings | None = None,
        actor_id: str | None = None,
    ) -> EvaluationRoom:
        """Schedule a room; committee aliases follow venue order (as given), then seat, then id."""
        if sum(1 for v in venues if v.is_main) != 1:
            raise InvalidInput("exactly one main venue is required", fields={"venues": "one main"})
        venue_ids = [v.venue_id for v in venues]
        ids = [p.participant_id for p in participants]
        problems: dict[str, str] = {}
        if len(set(ids)) != len(ids):
            problems["participants"] = "participant ids must be unique"
        if len(set(venue_ids)) != len(venue_ids):
            problems["venues"] = "venue ids must be unique"
        for p in participants:
            needs_venue = p.role is not Role.SUPERVISOR
            if needs_venue and p.venue_id not in venue_ids:
                problems[p.participant_id] = "needs a venue of this room"
        if problems:
            raise InvalidInput("the room's participants are invalid", fields=problems)
        now = clock.now()
        state = RoomState(
            room_id=room_id,
            project=dict(project),
            settings=settings or RoomSettings(),
            venues=list(venues),
            participants=[],
            committee_size=sum(1 for p in participants if p.role.is_committee),
            created_at=now,
            updated_at=now,
        )
        room = cls(state, clock)

        def seat_key(p: ParticipantSpec) -> tuple[int, str, str]:
            return (venue_ids.index(p.venue_id or ""), p.seat or "", p.participant_id)

        committee = sorted((p for p in participants if p.role.is_committee), key=seat_key)
        staff = [p for p in participants if not p.role.is_committee]
        for spec in [*committee, *staff]:
            room._add_participant(spec)
        room._emit("room_scheduled", actor_id, committee_size=state.committee_size)
        return room

    def to_state(self) -> dict[str, Any]:
        """Return the whole state as JSON-serialisable data (decimals and times as strings)."""
        out: dict[str, Any] = encode(self._s)
        return out

    @classmethod
    def from_state(cls, state: Mapping[str, Any], clock: Clock) -> EvaluationRoom:
        """Rebuild a room from :meth:`to_state` output."""
        if state.get("schema") != STATE_SCHEMA:
            raise InvalidInput("unsupported room state schema", fields={"schema": "unsupported"})
        return cls(decode(RoomState, state), clock)

    def drain_events(self) -> list[RoomEvent]:
        """Return and forget the events produced since the last drain."""
        events, self.pending_events = self.pending_events, []
        return events

    @property
    def room_id(self) -> str:
        """The room's id."""
        return self._s.room_id

    @property
    def seq(self) -> int:
        """The sequence number, bumped by every change."""
        return self._s.seq

    @property
    def phase(self) -> Phase:
        """The current phase (``paused`` while paused)."""
        return self._s.phase

    @property
    def effective_phase(self) -> Phase:
        """The phase the room is in, or was in before it was paused."""
        return effective_phase(self._s)

    @property
    def leader_id(self) -> str | None:
        """Participant id of the elected leader, if any."""
        return self._s.leader_id

    @property
    def report_digest(self) -> str | None:
        """Digest of the report body being signed (set when signing starts)."""
        return self._s.report_digest

    @property
    def final_report_digest(self) -> str | None:
        """Digest of the signed report (set when archived)."""
        return self._s.final_report_digest

    def participant(self, participant_id: str) -> Participant:
        """Return a participant (a copy) or raise :class:`NotOnPanel`."""
        return copy.deepcopy(self._find(participant_id))

    def participant_ids(self) -> list[str]:
        """Ids of every participant, replaced ones included (cheaper than ``to_state()``)."""
        return [p.participant_id for p in self._s.participants]

    def venue_name(self, venue_id: str | None) -> str:
        """The name of a venue ("" when unknown)."""
        return next((v.name for v in self._s.venues if v.venue_id == venue_id), "")

    def participant_for_user(self, user_id: str) -> str:
        """Return the id of the user's active participant; raise if absent or replaced."""
        mine = [p for p in self._s.participants if p.user_id == user_id]
        for p in mine:
            if p.status is Status.ACTIVE:
                return p.participant_id
        if mine:
            raise MemberReplaced("you were replaced and can no longer act in this room")
        raise NotOnPanel("you are not a participant of this room")

    def expect_seq(self, seen_seq: int) -> None:
        """Raise :class:`StaleSequence` unless the client has seen the current state."""
        if seen_seq != self._s.seq:
            raise StaleSequence(
                "the room changed since you last saw it", seen_seq=seen_seq, seq=self._s.seq
            )

    @contextmanager
    def request(self, participant_id: str, req: object) -> Iterator[None]:
        """Make the changes inside the block as the participant's request number ``req``.

        Numbers must increase per participant: one not above the last applied number raises
        :class:`StaleRequest` (details ``last_request``), so a change that arrives after a newer
        one of the same participant (a retry after a timeout, a reordered delivery) cannot
        overwrite it. The number is recorded with the block's first event; a block that changes
        nothing records nothing.
        """
        if not isinstance(req, int) or isinstance(req, bool) or req < 1:
            raise InvalidInput("req must be a positive integer", fields={"req": "positive integer"})
        last = self._s.requests.get(participant_id, 0)
        if req <= last:
            raise StaleRequest(
                "a newer change of yours was already applied", req=req, last_request=last
            )
        self._request = (participant_id, req)
        try:
            yield
        finally:
            self._request = None

    def last_request(self, participant_id: str) -> int:
        """The participant's last applied request number (0 when none)."""
        return self._s.requests.get(participant_id, 0)

    # --- internals --------------------------------------------------------------------------

    def _now(self) -> datetime:
        now = self._clock.now()
        if now.tzinfo is None:
            raise ValueError("the clock must return timezone-aware times")
        return now

    def _emit(self, kind: str, actor_id: str | None, **data: Any) -> None:
        now = self._now()
        self._s.seq += 1
        self._s.updated_at = now
        if self._request is not None:
            pid, req = self._request
            self._s.requests[pid] = req  # above the last one: request() checked
        self.pending_events.append(
            RoomEvent(self._s.seq, self._s.room_id, kind, actor_id, now, encode(data))
        )

    def _check_spec(self, spec: ParticipantSpec) -> None:
        if any(p.participant_id == spec.participant_id for p in self._s.participants):
            raise InvalidInput(
                "participant id already used", fields={"participant_id": "already used"}
            )
        if spec.role is not Role.SUPERVISOR and spec.venue_id not in self._venue_ids():
            raise InvalidInput("unknown venue", fields={"venue_id": "not a venue of this room"})

    def _add_participant(self, spec: ParticipantSpec, replaces: str | None = None) -> Participant:
        self._check_spec(spec)
        p = Participant(
            spec.participant_id, spec.user_id, spec.name, spec.role, spec.venue_id, spec.seat
        )
        if spec.role.is_committee:
            p.alias_number = self._s.next_alias
            p.alias = ALIAS_FORMAT.format(n=p.alias_number)
            self._s.next_alias += 1
        p.replaces = replaces
        self._s.participants.append(p)
        return p

    def _venue_ids(self) -> list[str]:
        return [v.venue_id for v in self._s.venues]

    def _main_venue(self) -> Venue:
        return main_venue(self._s)

    def _find(self, participant_id: str) -> Participant:
        return find_participant(self._s, participant_id)

    def _actor(self, actor_id: str) -> Participant:
        return find_active(self._s, actor_id)

    def _unpaused(self) -> None:
        if self._s.phase is Phase.PAUSED:
            raise RoomPaused("the session is paused")

    def _staff_actor(
        self, actor_id: str, *, main_only: bool, leader_ok: bool = False
    ) -> Participant:
        p = self._actor(actor_id)
        self._unpaused()
        if leader_ok and p.participant_id == self._s.leader_id:
            return p
        if p.role is not Role.HOST or (main_only and p.venue_id != self._main_venue().venue_id):
            who = "the main venue's host" + (" or the leader" if leader_ok else "")
            raise NotAllowed(f"only {who} may do this")
        return p

    def _member_actor(self, actor_id: str) -> Participant:
        p = self._actor(actor_id)
        self._unpaused()
        if not p.role.is_committee:
            raise NotAllowed("only committee members may do this")
        return p

    def _phase_is(self, *phases: Phase, action: str) -> None:
        if self._s.phase not in phases:
            raise IllegalTransition(
                f"cannot {action} in phase {self._s.phase.value}",
                phase=self._s.phase.value,
                allowed=[p.value for p in phases],
            )

    def _move(self, to: Phase, actor_id: str | None, kind: str, **data: Any) -> None:
        frm = self._s.phase
        self._s.phase = to
        self._emit(kind, actor_id, from_phase=frm, phase=to, **data)

    def _committee(self) -> list[Participant]:
        return seated_committee(self._s)

    def _require_full_committee(self, *, checked_in: bool) -> None:
        committee = self._committee()
        if len(committee) != self._s.committee_size:
            raise NotAllowed(
                "a committee seat is vacant: replace the member first",
                seated=len(committee),
                committee_size=self._s.committee_size,
            )
        if checked_in:
            missing = [p.alias for p in committee if not p.is_checked_in]
            if missing:
                raise NotCheckedIn("not every member has checked in", missing=missing)

    def _bids(self) -> list[Bid]:
        return current_bids(self._s)

    def _active_sheets(self) -> dict[str, Sheet]:
        return active_sheets(self._s)

    def _submitted(self) -> dict[str, dict[str, dict[str, Decimal]]]:
        return submitted_scores(self._s)

    def _alias(self, participant_id: str | None) -> str | None:
        return alias_of(self._s, participant_id)

    def _form(self) -> ScoreForm:
        if self._s.form is None:
            raise NotAllowed("no score form has been set")
        return self._s.form

    # --- setup by the main host -------------------------------------------------------------

    def set_form(self, actor_id: str, form: ScoreForm) -> None:
        """Set (or replace) the lot's score form; allowed until scoring starts."""
        self._staff_actor(actor_id, main_only=True)
        self._phase_is(*SETUP_PHASES, action="set the score form")
        validate_form(form)
        check_price_weight(form, self._s.settings.scoring.price_weight_pct)
        self._s.form = form
        self._emit("form_set", actor_id, form=form)

    def set_bids(self, actor_id: str, bids: Sequence[Bid], note: str = "") -> None:
        """Enter or import the opened bids (price, qualification checks) until scoring starts."""
        self._staff_actor(actor_id, main_only=True)
        self._phase_is(*SETUP_PHASES, action="enter bids")
        validate_bids(bids)
        now = self._now()
        self._s.bids = {b.bidder_code: [BidVersion(b, now, actor_id, "entry", note)] for b in bids}
        self._emit("bids_set", actor_id, bids=list(bids))

    def amend_bid(self, actor_id: str, bid: Bid, reason: AmendReason | str, note: str) -> None:
        """Correct a bid after totals (price or failed check) for an allowed reason; versioned."""
        self._staff_actor(actor_id, main_only=True)
        self._phase_is(Phase.DEVIATION_REVIEW, Phase.FINALISED, action="amend a bid")
        why = _amend_reason(reason)
        _require_text(note, "note")
        versions = self._s.bids.get(bid.bidder_code)
        if versions is None:
            raise InvalidInput("unknown bidder", fields={"bidder_code": "unknown"})
        validate_bids([bid])
        if bid.is_qualified and bid.bidder_code not in self._s.scoring_bidders:
            raise NotAllowed("a bidder excluded before scoring cannot be brought back now")
        versions.append(BidVersion(bid, self._now(), actor_id, why.value, note))
        self._emit("bid_amended", actor_id, bid=bid, reason=why, note=note, results=self.results())

    # --- phase moves ------------------------------------------------------------------------

    def open(self, actor_id: str) -> None:
        """Open the session: scheduled → opened (checks the committee's composition)."""
        self._staff_actor(actor_id, main_only=True)
        self._phase_is(Phase.SCHEDULED, action="open the session")
        self._check_composition()
        self._move(Phase.OPENED, actor_id, "opened")

    def _check_composition(self) -> None:
        st = self._s.settings
        committee = self._committee()
        size = len(committee)
        experts = sum(1 for p in committee if p.role is Role.EXPERT)
        num, den = st.min_expert_share
        problems: dict[str, str] = {}
        if size != self._s.committee_size:
            problems["committee"] = "a committee seat is vacant"
        if size < st.min_committee_size:
            problems["committee_size"] = f"at least {st.min_committee_size} members"
        if st.is_odd_size_required and size % 2 == 0:
            problems["committee_size"] = "the committee must have an odd number of members"
        if experts * den < size * num:
            problems["experts"] = f"drawn experts must be at least {num}/{den} of the committee"
        if problems:
            raise NotAllowed("the committee's composition is not valid", fields=problems)

    def start_check_in(self, actor_id: str) -> None:
        """opened → check_in."""
        self._staff_actor(actor_id, main_only=True)
        self._phase_is(Phase.OPENED, action="start check-in")
        self._move(Phase.CHECK_IN, actor_id, "check_in_started")

    def start_election(self, actor_id: str) -> None:
        """check_in → leader_election, once every member has checked in; electorate = present."""
        self._staff_actor(actor_id, main_only=True)
        self._phase_is(Phase.CHECK_IN, action="start the leader election")
        self._require_full_committee(checked_in=True)
        committee = self._committee()
        electorate = [p.participant_id for p in committee]
        eligible = (
            None
            if self._s.settings.representatives_may_lead
            else [p.participant_id for p in committee if p.role is Role.EXPERT]
        )
        self._s.election = Election(electorate, eligible=eligible)
        self._move(Phase.LEADER_ELECTION, actor_id, "election_started")

    def start_review(self, actor_id: str) -> None:
        """leader_election → review: the first review stage the form gives the committee
        (qualification, then compliance) starts for the bids that passed their checks."""
        self._staff_actor(actor_id, main_only=True)
        self._phase_is(Phase.LEADER_ELECTION, action="start the review")
        if self._s.leader_id is None:
            raise NotAllowed("no leader has been elected yet")
        form = self._form()
        if not form.stages:
            raise NotAllowed("the scoring method has no review stage: start scoring")
        qualified = [b.bidder_code for b in self._bids() if b.is_qualified]
        if not qualified:
            raise NotAllowed("there is no qualified bid to review")
        self._require_full_committee(checked_in=True)
        self._s.phase = Phase.REVIEW
        self._s.stages = []
        self._start_stage(actor_id, form.stages[0], qualified)

    def _start_stage(self, actor_id: str | None, stage: Category, bidders: list[str]) -> None:
        self._s.stages.append(ReviewStage(stage, list(bidders), self._now()))
        self._emit("review_stage_started", actor_id, stage=stage, bidders=bidders)

    def submit_review(self, actor_id: str, marks: Mapping[str, object]) -> None:
        """A member submits pass/fail marks for every bidder and item of the stage under way,
        with a reason for each fail; the last submission concludes the stage (majority rule)
        and starts the next stage, if any."""
        member = self._member_actor(actor_id)
        self._phase_is(Phase.REVIEW, action="submit review marks")
        if not member.is_checked_in:
            raise NotCheckedIn("check in before the review")
        stage = current_stage(self._s)
        if stage is None:
            raise NotAllowed("every review stage has concluded: scoring starts next")
        if actor_id in stage.sheets and stage.sheets[actor_id].submitted_at is not None:
            raise AlreadySubmitted("your review marks are already submitted")
        form = self._form()
        parsed = parse_marks(form, stage.stage, stage.bidders, marks)
        stage.sheets[actor_id] = ReviewSheet(actor_id, parsed, self._now())
        self._emit("review_submitted", actor_id, member=member.alias, stage=stage.stage)
        self._conclude_stage_when_complete()

    def _conclude_stage_when_complete(self) -> None:
        stage = current_stage(self._s)
        if stage is None:
            return
        committee = self._committee()
        seated = {p.participant_id for p in committee}
        sheets = {m: sh for m, sh in stage.sheets.items() if m in seated and sh.submitted_at}
        if len(committee) != self._s.committee_size or len(sheets) != len(committee):
            return
        form = self._form()
        stage.failed = conclude(stage, form, sheets, self._s.settings.review_majority)
        stage.concluded_at = self._now()
        self._emit(
            "review_stage_concluded",
            None,
            stage=stage.stage,
            passed=stage.passed,
            failed={
                b: [{"item_id": f.item_id, "fails": f.fails, "reasons": f.reasons} for f in items]
                for b, items in stage.failed.items()
                if items
            },
        )
        later = [c for c in form.stages if c not in {st.stage for st in self._s.stages}]
        if later and stage.passed:
            self._start_stage(None, later[0], stage.passed)

    def start_scoring(self, actor_id: str) -> None:
        """leader_election → scoring (a form without review stages) or review → scoring (every
        stage concluded): needs a leader, a form, bids and every member present. Bids that
        failed their checks or a review stage are left out."""
        self._staff_actor(actor_id, main_only=True)
        self._phase_is(Phase.LEADER_ELECTION, Phase.REVIEW, action="start scoring")
        if self._s.leader_id is None:
            raise NotAllowed("no leader has been elected yet")
        form = self._form()
        qualified = [b.bidder_code for b in self._bids() if b.is_qualified]
        if form.stages:
            if self._s.phase is not Phase.REVIEW or current_stage(self._s) is not None:
                raise NotAllowed("the review stages come first", stages=list(form.stages))
            qualified = [b for b in self._s.stages[-1].passed if b in qualified]
        if not qualified:
            raise NotAllowed("there is no qualified bid to score")
        self._require_full_committee(checked_in=True)
        validate_form(form)
        self._s.scoring_bidders = qualified
        self._move(Phase.SCORING, actor_id, "scoring_started", bidders=qualified)

    def finalise(self, actor_id: str) -> None:
        """deviation_review → finalised once every flag is explained or cleared."""
        self._staff_actor(actor_id, main_only=True, leader_ok=True)
        self._phase_is(Phase.DEVIATION_REVIEW, action="finalise")
        open_flags = [f.flag_id for f in self._s.flags.values() if f.status is FlagStatus.OPEN]
        if open_flags:
            raise NotAllowed(
                "some flagged scores need an explanation or a revision", flags=open_flags
            )
        self._s.finalised_at = self._now()
        self._move(Phase.FINALISED, actor_id, "finalised", results=self.results())

    def start_signing(self, actor_id: str) -> None:
        """finalised → signing: freezes the report body and its digest."""
        self._staff_actor(actor_id, main_only=True, leader_ok=True)
        self._phase_is(Phase.FINALISED, action="start signing")
        body = report_mod.body_from_state(self._s)
        self._s.report_body = body
        self._s.report_digest = report_mod.digest(body)
        self._move(Phase.SIGNING, actor_id, "signing_started", report_digest=self._s.report_digest)

    def archive(self, actor_id: str) -> None:
        """signing → archived once every member has signed (or a refusal was recorded)."""
        self._staff_actor(actor_id, main_only=True)
        self._phase_is(Phase.SIGNING, action="archive")
        unsigned = [
            p.alias for p in self._committee() if p.participant_id not in self._s.signatures
        ]
        if unsigned:
            raise NotAllowed("not every member has signed", unsigned=unsigned)
        self._s.final_report_digest = self.final_report()["report_digest"]
        self._move(
            Phase.ARCHIVED, actor_id, "archived", final_report_digest=self._s.final_report_digest
        )

    def pause(self, actor_id: str, reason: str) -> None:
        """Pause from any active phase (any host); every action is then locked."""
        self._staff_actor(actor_id, main_only=False)
        if self._s.phase not in PAUSABLE_PHASES:
            raise IllegalTransition(f"cannot pause in phase {self._s.phase.value}")
        _require_text(reason, "reason")
        self._s.paused_from = self._s.phase
        self._s.pause_reason = reason
        self._move(Phase.PAUSED, actor_id, "paused", reason=reason)

    def resume(self, actor_id: str) -> None:
        """Resume into the phase that was paused (main host)."""
        p = self._actor(actor_id)
        if p.role is not Role.HOST or p.venue_id != self._main_venue().venue_id:
            raise NotAllowed("only the main venue's host may resume")
        if self._s.phase is not Phase.PAUSED or self._s.paused_from is None:
            raise IllegalTransition("the session is not paused")
        to = self._s.paused_from
        self._s.paused_from = None
        self._s.pause_reason = ""
        self._move(to, actor_id, "resumed")

    # --- replacement ------------------------------------------------------------------------

    def propose_removal(self, actor_id: str, member_id: str, reason: str) -> None:
        """The main venue's host asks to take a seated member off the committee (withdrawal, a
        conflict found, illness, leaving). Nothing changes until a supervisor of the session
        approves (:meth:`approve_removal`) or rejects (:meth:`reject_removal`) it."""
        self.check_replaceable(actor_id, member_id)
        _require_text(reason, "reason")
        old = self._find(member_id)
        if old.status is not Status.ACTIVE:
            raise NotAllowed("only a seated committee member can be taken off")
        if member_id in self._s.pending_removals:
            raise NotAllowed("a removal of this member already waits for a supervisor")
        self._s.pending_removals[member_id] = Removal(member_id, reason, actor_id, self._now())
        self._emit(
            "removal_proposed", actor_id, member=old.alias, member_id=member_id, reason=reason
        )

    def pending_removal(self, actor_id: str, member_id: str) -> Removal:
        """The proposal a supervisor of the session may decide now, or a typed refusal; checked
        before anything is done outside the room (the replacement provider's acts are real)."""
        p = self._actor(actor_id)
        self._unpaused()
        if p.role is not Role.SUPERVISOR:
            raise NotAllowed("only a supervisor of the session may decide a removal")
        if self._s.phase not in REPLACEABLE_PHASES:
            raise IllegalTransition(f"cannot take a member off in phase {self._s.phase.value}")
        removal = self._s.pending_removals.get(member_id)
        if removal is None:
            raise NotAllowed("no removal of this member waits for a decision")
        if self._find(member_id).status is not Status.ACTIVE:
            raise NotAllowed("only a seated committee member can be taken off")
        return removal

    def approve_removal(
        self, actor_id: str, member_id: str, replacement: ParticipantSpec | None
    ) -> None:
        """A supervisor approves the host's proposal: the member leaves the committee (their
        sheets and flags void) and `replacement` takes the seat, or, when None (the next backup
        is being called), the seat stays vacant until :meth:`replace_member` fills it."""
        removal = self.pending_removal(actor_id, member_id)
        if replacement is not None:
            if not replacement.role.is_committee:
                raise InvalidInput(
                    "the replacement must be a committee member", fields={"role": "committee"}
                )
            self._check_spec(replacement)
        old = self._find(member_id)
        del self._s.pending_removals[member_id]
        self._emit(
            "removal_approved",
            actor_id,
            member=old.alias,
            member_id=member_id,
            proposed_by=removal.proposed_by,
            reason=removal.reason,
        )
        status = Status.REMOVED if replacement is None else Status.REPLACED
        self._seat_replacement(removal.proposed_by, old, replacement, removal.reason, status)

    def reject_removal(self, actor_id: str, member_id: str, reason: str) -> None:
        """A supervisor rejects the host's proposal: the member keeps the seat."""
        removal = self.pending_removal(actor_id, member_id)
        _require_text(reason, "reason")
        del self._s.pending_removals[member_id]
        self._emit(
            "removal_rejected",
            actor_id,
            member=self._find(member_id).alias,
            member_id=member_id,
            proposed_by=removal.proposed_by,
            reason=reason,
        )

    def replace_member(
        self, actor_id: str, member_id: str, replacement: ParticipantSpec, reason: str
    ) -> None:
        """Fill a vacated seat (the main host, once the backup called for it has accepted): the
        replacement gets the next alias number, must check in and re-scores. Taking a seated
        member off needs a supervisor's approval first (:meth:`propose_removal`).

        During the election it returns to check-in (new electorate); during deviation review it
        returns to scoring.
        """
        self.check_replaceable(actor_id, member_id)
        _require_text(reason, "reason")
        old = self._find(member_id)
        if old.status is Status.ACTIVE:
            raise NotAllowed("a seated member is taken off only with a supervisor's approval")
        if old.replaced_by is not None:
            raise NotAllowed("this seat was already filled")
        if not replacement.role.is_committee:
            raise InvalidInput(
                "the replacement must be a committee member", fields={"role": "committee"}
            )
        self._check_spec(replacement)
        self._seat_replacement(actor_id, old, replacement, reason, Status.REPLACED)

    def check_replaceable(self, actor_id: str, member_id: str) -> None:
        """Refuse, before anything is done outside the room, a replacement this actor may not
        ask for now: only the main venue's host, in a phase that allows it, for a committee
        member."""
        self._staff_actor(actor_id, main_only=True)
        if self._s.phase not in REPLACEABLE_PHASES:
            raise IllegalTransition(f"cannot replace a member in phase {self._s.phase.value}")
        if not self._find(member_id).role.is_committee:
            raise NotAllowed("only a committee member can be replaced")

    def _seat_replacement(
        self,
        actor_id: str | None,
        old: Participant,
        spec: ParticipantSpec | None,
        reason: str,
        status: Status,
    ) -> None:
        now = self._now()
        if old.status is Status.ACTIVE:
            old.status = status
            old.removal_reason = reason
            self._s.pending_removals.pop(old.participant_id, None)
            sheet = self._s.sheets.get(old.participant_id)
            if sheet is not None and sheet.voided_at is None:
                sheet.voided_at = now
            for f in self._s.flags.values():
                if f.member_id == old.participant_id and f.status is not FlagStatus.VOIDED:
                    f.status = FlagStatus.VOIDED
            if self._s.leader_id == old.participant_id:
                self._s.leader_id = None
        new: Participant | None = None
        if spec is not None:
            new = self._add_participant(spec, replaces=old.participant_id)
            # Filling a removed member's vacant seat leaves their status "removed".
            old.replaced_by = new.participant_id
        self._emit(
            "member_replaced" if status is Status.REPLACED else "member_removed",
            actor_id,
            member=old.alias,
            member_id=old.participant_id,
            replacement=new.alias if new else None,
            replacement_id=new.participant_id if new else None,
            reason=reason,
        )
        if self._s.phase is Phase.LEADER_ELECTION:
            self._s.election = None
            self._move(Phase.CHECK_IN, actor_id, "election_cancelled")
        elif self._s.phase is Phase.DEVIATION_REVIEW:
            for f in self._s.flags.values():
                if f.status is not FlagStatus.VOIDED:
                    f.status = FlagStatus.VOIDED
            self._move(Phase.SCORING, actor_id, "scoring_reopened")

    def recheck_conflicts(
        self, actor_id: str, checker: ConflictChecker, replacements: ReplacementProvider
    ) -> list[str]:
        """Re-run the conflict check for every seated expert; return ids of those removed."""
        self._staff_actor(actor_id, main_only=True)
        if self._s.phase not in REPLACEABLE_PHASES:
            raise IllegalTransition(f"cannot re-check conflicts in phase {self._s.phase.value}")
        removed: list[str] = []
        for p in list(self._committee()):
            if p.role is Role.EXPERT and self._conflict_check(actor_id, p, checker, replacements):
                removed.append(p.participant_id)
        return removed

    def _conflict_check(
        self,
        actor_id: str | None,
        p: Participant,
        checker: ConflictChecker,
        replacements: ReplacementProvider,
    ) -> str | None:
        conflict = checker.find_conflict(self._s.room_id, p.ref())
        if conflict is None:
            return None
        reason = f"conflict:{conflict}"
        spec = replacements.draw_replacement(self._s.room_id, p.ref(), reason)
        if spec is not None:
            if not spec.role.is_committee:
                raise InvalidInput("the replacement must be a committee member")
            self._check_spec(spec)
        self._seat_replacement(actor_id, p, spec, reason, Status.REMOVED)
        return conflict

    # --- check-in ---------------------------------------------------------------------------

    def _check_in_target(self, actor: Participant, member_id: str) -> Participant:
        member = self._find(member_id)
        if member.status is not Status.ACTIVE or not member.role.is_committee:
            raise NotAllowed("not a seated committee member")
        is_self = actor.participant_id == member.participant_id
        is_venue_host = actor.role is Role.HOST and actor.venue_id == member.venue_id
        if not (is_self or is_venue_host):
            raise NotAllowed("only the member or the host at the member's venue may do this")
        if self._s.phase not in CHECK_IN_PHASES:
            raise IllegalTransition(f"check-in is not open in phase {self._s.phase.value}")
        if member.is_checked_in:
            raise AlreadySubmitted("the member has already checked in")
        return member

    def issue_check_in_code(self, actor_id: str, member_id: str) -> tuple[str, datetime]:
        """Create a one-time code for a member; return (plaintext, expiry) to send after saving.

        Only the code's hash is kept; issuing a new code invalidates the previous one.
        """
        actor = self._actor(actor_id)
        self._unpaused()
        member = self._check_in_target(actor, member_id)
        st = self._s.settings
        if member.check_in.codes_issued >= st.code_max_issues:
            raise TooManyAttempts(
                "too many codes issued: the host must verify the member in person"
            )
        code, record = issue_code(self._now(), timedelta(seconds=st.code_ttl_seconds))
        member.check_in.code = record
        member.check_in.codes_issued += 1
        self._emit(
            "check_in_code_issued", actor_id, member=member.alias, expires_at=record.expires_at
        )
        return code, record.expires_at

    def enter_check_in_code(self, actor_id: str, code: str) -> None:
        """The member (logged in at the seat) enters the one-time code.

        A wrong code is counted and raises :class:`CheckInFailed` with ``is_state_changed``: save.
        """
        member = self._member_actor(actor_id)
        self._check_in_target(member, actor_id)
        try:
            verify_code(member.check_in.code, code, self._now(), self._s.settings.code_max_attempts)
        except CheckInFailed as exc:
            if exc.is_state_changed:
                self._emit("check_in_code_rejected", actor_id, member=member.alias)
            raise
        member.check_in.code_verified_at = self._now()
        self._emit("check_in_code_accepted", actor_id, member=member.alias)

    def confirm_identity(
        self,
        actor_id: str,
        member_id: str,
        seat: str,
        conflicts: ConflictChecker,
        replacements: ReplacementProvider,
    ) -> CheckInOutcome:
        """The host at the member's venue confirms the person; the conflict check runs again.

        A new conflict removes an expert and seats the provider's replacement (if any).
        """
        host = self._staff_actor(actor_id, main_only=False)
        member = self._check_in_target(host, member_id)
        if host.participant_id == member.participant_id:
            raise NotAllowed("a host confirms someone else")
        if member.check_in.code_verified_at is None:
            raise NotCheckedIn("the member has not entered a valid check-in code yet")
        _require_text(seat, "seat")
        if member.role is Role.EXPERT:
            conflict = self._conflict_check(actor_id, member, conflicts, replacements)
            if conflict is not None:
                return CheckInOutcome(False, conflict, member.replaced_by)
        ci = member.check_in
        ci.confirmed_by = actor_id
        ci.checked_in_at = self._now()
        ci.venue_id = member.venue_id
        ci.seat = seat
        ci.method = "sms_code"
        self._emit("checked_in", actor_id, member=member.alias, venue_id=member.venue_id, seat=seat)
        return CheckInOutcome(True)

    def codes_exhausted(self, member_id: str) -> bool:
        """Whether SMS codes can no longer check this member in: every code was issued, or the
        current one is locked by wrong attempts."""
        ci = self._find(member_id).check_in
        st = self._s.settings
        locked = ci.code is not None and ci.code.attempts >= st.code_max_attempts
        return ci.codes_issued >= st.code_max_issues or locked

    def verify_in_person(
        self,
        actor_id: str,
        member_id: str,
        seat: str,
        reason: str,
        conflicts: ConflictChecker,
        replacements: ReplacementProvider,
    ) -> CheckInOutcome:
        """The host at the member's venue checks the ID card in person: after the SMS codes have
        failed, or when there is no signal. Recorded (who, how, when, why); the conflict check
        runs again as for any check-in."""
        host = self._staff_actor(actor_id, main_only=False)
        member = self._check_in_target(host, member_id)
        if host.participant_id == member.participant_id:
            raise NotAllowed("a host confirms someone else")
        if reason not in IN_PERSON_REASONS:
            raise InvalidInput(
                "say why the ID card is checked in person", fields={"reason": "codes_failed"}
            )
        if reason == "codes_failed" and not self.codes_exhausted(member_id):
            raise NotAllowed("the SMS codes have not failed yet: send a code first")
        _require_text(seat, "seat")
        if member.role is Role.EXPERT:
            conflict = self._conflict_check(actor_id, member, conflicts, replacements)
            if conflict is not None:
                return CheckInOutcome(False, conflict, member.replaced_by)
        ci = member.check_in
        ci.confirmed_by = actor_id
        ci.checked_in_at = self._now()
        ci.venue_id = member.venue_id
        ci.seat = seat
        ci.method = "in_person"
        ci.in_person_reason = reason
        self._emit(
            "checked_in_in_person",
            actor_id,
            member=member.alias,
            venue_id=member.venue_id,
            seat=seat,
            reason=reason,
        )
        return CheckInOutcome(True)

    # --- election ---------------------------------------------------------------------------

    def _member_by_ref(self, ref: str) -> Participant:
        for p in self._s.participants:
            if p.role.is_committee and ref in (p.alias, p.participant_id):
                return p
        raise InvalidInput("no such member", fields={"candidate": "unknown"})

    def vote(self, actor_id: str, candidate: str) -> None:
        """Vote for a leader (candidate by alias or id); closes the round when all have voted."""
        member = self._member_actor(actor_id)
        self._phase_is(Phase.LEADER_ELECTION, action="vote")
        election = self._s.election
        if election is None:
            raise IllegalTransition("no election is under way", action="vote")
        cand = self._member_by_ref(candidate)
        before = len(election.rounds)
        st = self._s.settings
        election.cast(
            member.participant_id, cand.participant_id, st.election_tie_rule, st.election_seed
        )
        self._emit("vote_cast", actor_id, voter=member.alias, candidate=cand.alias)
        rnd = election.rounds[before - 1]
        if rnd.counts:
            counts = {self._alias(k) or k: v for k, v in rnd.counts.items()}
            self._emit("election_round_closed", None, round=rnd.number, counts=counts)
        if election.leader is not None:
            self._s.leader_id = election.leader
            self._emit(
                "leader_elected",
                None,
                leader=self._alias(election.leader),
                decided_by=election.decided_by,
            )

    # --- scoring ----------------------------------------------------------------------------

    def _scoring_member(self, actor_id: str) -> Participant:
        member = self._member_actor(actor_id)
        if self._s.phase is not Phase.SCORING:
            raise ScoringClosed(f"scoring is not open in phase {self._s.phase.value}")
        if not member.is_checked_in:
            raise NotCheckedIn("check in before scoring")
        sheet = self._s.sheets.get(actor_id)
        if sheet is not None and sheet.submitted_at is not None:
            raise AlreadySubmitted("your sheet is already submitted")
        return member

    def enter_scores(
        self,
        actor_id: str,
        scores: Mapping[str, Mapping[str, object]],
        reasons: Mapping[str, Mapping[str, object]] | None = None,
    ) -> None:
        """Save draft subjective scores (bidder -> item -> decimal string) before submitting,
        with any short reasons for low scores (bidder -> item -> text)."""
        self._scoring_member(actor_id)
        parsed = parse_entries(self._form(), self._s.scoring_bidders, scores)
        why = self._parse_reasons(reasons)
        self._merge_draft(actor_id, parsed, why)
        self._emit("scores_entered", actor_id, scores=parsed)

    def _parse_reasons(
        self, raw: Mapping[str, Mapping[str, object]] | None
    ) -> dict[str, dict[str, str]]:
        if raw is None:
            return {}
        form = self._form()
        subjective = {i.item_id for i in form.subjective}
        out: dict[str, dict[str, str]] = {}
        problems: dict[str, str] = {}
        if not isinstance(raw, Mapping):
            raise InvalidScore("reasons must map bidders to items", fields={"reasons": "mapping"})
        for bidder, items in raw.items():
            if bidder not in self._s.scoring_bidders or not isinstance(items, Mapping):
                problems[f"{bidder}.reason"] = "not a bidder being scored"
                continue
            for item_id, text in items.items():
                key = f"{bidder}.{item_id}.reason"
                if item_id not in subjective:
                    problems[key] = "not a subjective item of this form"
                elif not isinstance(text, str) or len(text) > MAX_SCORE_REASON:
                    problems[key] = f"at most {MAX_SCORE_REASON} characters"
                elif text.strip():
                    out.setdefault(bidder, {})[item_id] = text.strip()
        if problems:
            raise InvalidScore("some reasons are invalid", fields=problems)
        return out

    def _merge_draft(
        self,
        actor_id: str,
        parsed: Mapping[str, Mapping[str, Decimal]],
        reasons: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        sheet = self._s.sheets.setdefault(actor_id, Sheet(actor_id))
        now = self._now()
        for bidder, items in parsed.items():
            for item_id, value in items.items():
                # Drafts are private until submission: only the latest draft value is kept.
                sheet.entries.setdefault(bidder, {})[item_id] = [ScoreVersion(value, now, "entry")]
        for bidder, texts in (reasons or {}).items():
            sheet.reasons.setdefault(bidder, {}).update(texts)

    def submit_sheet(
        self,
        actor_id: str,
        scores: Mapping[str, Mapping[str, object]] | None = None,
        reasons: Mapping[str, Mapping[str, object]] | None = None,
    ) -> None:
        """Submit the sheet (merging ``scores`` and ``reasons`` first); it must be complete,
        and every subjective score below the rules' share of its item's maximum needs a short
        reason (shown to the committee once everyone has submitted).

        When the last member submits, deviation flags are computed and the room moves to
        deviation review.
        """
        member = self._scoring_member(actor_id)
        form = self._form()
        parsed = parse_entries(form, self._s.scoring_bidders, scores or {})
        why = self._parse_reasons(reasons)
        existing = self._s.sheets.get(actor_id)
        merged = existing.current() if existing else {}
        for bidder, items in parsed.items():
            merged.setdefault(bidder, {}).update(items)
        missing = missing_entries(form, self._s.scoring_bidders, merged)
        if missing:
            raise InvalidScore("the sheet is incomplete", fields=missing)
        all_reasons = copy.deepcopy(existing.reasons) if existing else {}
        for bidder, texts in why.items():
            all_reasons.setdefault(bidder, {}).update(texts)
        unexplained = missing_reasons(
            form, merged, all_reasons, self._s.settings.scoring.low_score_reason_pct
        )
        if unexplained:
            raise InvalidScore("low scores need a short reason", fields=unexplained)
        self._merge_draft(actor_id, parsed, why)
        sheet = self._s.sheets[actor_id]
        sheet.submitted_at = self._now()
        self._emit("sheet_submitted", actor_id, member=member.alias, scores=sheet.current())
        committee = self._committee()
        if (
            len(committee) == self._s.committee_size
            and all(p.is_checked_in for p in committee)
            and len(self._submitted()) == len(committee)
        ):
            self._recompute_flags()
            self._move(Phase.DEVIATION_REVIEW, None, "deviation_review_started")

    def _recompute_flags(self) -> None:
        """Raise, keep or clear flags so they match the current submitted scores.

        A flag stays explained while the member's score is unchanged; a revised score that
        still deviates reopens it; one that no longer deviates clears it.
        """
        now = self._now()
        devs = find_deviations(
            self._form(),
            self._s.scoring_bidders,
            self._submitted(),
            self._s.settings.scoring.deviation_threshold_pct,
            self._s.settings.scoring.decimals,
        )
        current: set[str] = set()
        for d in devs:
            fid = f"{d.member_id}.{d.bidder_code}.{d.item_id}"
            current.add(fid)
            f = self._s.flags.get(fid)
            if f is None or f.status in (FlagStatus.CLEARED, FlagStatus.VOIDED):
                self._s.flags[fid] = Flag(
                    fid,
                    d.member_id,
                    d.bidder_code,
                    d.item_id,
                    d.score,
                    d.mean,
                    d.deviation_pct,
                    FlagStatus.OPEN,
                    now,
                )
                continue
            if f.score != d.score:
                f.status, f.explanation, f.resolved_at = FlagStatus.OPEN, "", None
            f.score, f.mean, f.deviation_pct = d.score, d.mean, d.deviation_pct
        for fid, f in self._s.flags.items():
            if fid not in current and f.status in (FlagStatus.OPEN, FlagStatus.EXPLAINED):
                f.status, f.resolved_at = FlagStatus.CLEARED, now

    def _flag_of(self, actor_id: str, flag_id: str) -> Flag:
        f = self._s.flags.get(flag_id)
        if f is None or f.member_id != actor_id or f.status is FlagStatus.VOIDED:
            raise InvalidInput("no such flag on your scores", fields={"flag_id": "unknown"})
        return f

    def explain_deviation(self, actor_id: str, flag_id: str, explanation: str) -> None:
        """Give the written explanation a flagged score needs (deviation review)."""
        member = self._member_actor(actor_id)
        self._phase_is(Phase.DEVIATION_REVIEW, action="explain a deviation")
        f = self._flag_of(actor_id, flag_id)
        _require_text(explanation, "explanation")
        f.status, f.explanation, f.resolved_at = FlagStatus.EXPLAINED, explanation, self._now()
        self._emit(
            "deviation_explained",
            actor_id,
            member=member.alias,
            flag_id=flag_id,
            bidder_code=f.bidder_code,
            item_id=f.item_id,
            explanation=explanation,
        )

    def _change_score(
        self, actor_id: str, bidder: str, item_id: str, value: object, reason: str, note: str
    ) -> tuple[Participant, Decimal, Decimal]:
        member = self._member_actor(actor_id)
        sheet = self._active_sheets().get(actor_id)
        if sheet is None or sheet.submitted_at is None:
            raise NotAllowed("you have no submitted sheet")
        parsed = parse_entries(self._form(), self._s.scoring_bidders, {bidder: {item_id: value}})
        new = parsed[bidder][item_id]
        versions = sheet.entries[bidder][item_id]
        old = versions[-1].value
        if new == old:
            raise InvalidScore(
                "the score is unchanged", fields={f"{bidder}.{item_id}": "unchanged"}
            )
        _require_text(note, "note")
        versions.append(ScoreVersion(new, self._now(), reason, note))
        return member, old, new

    def revise_score(
        self, actor_id: str, bidder: str, item_id: str, value: object, note: str
    ) -> None:
        """Revise a submitted score during deviation review (kept as a new version)."""
        self._member_actor(actor_id)
        if self._s.phase is not Phase.DEVIATION_REVIEW:
            raise ScoringClosed(f"scores cannot be revised in phase {self._s.phase.value}")
        member, old, new = self._change_score(
            actor_id, bidder, item_id, value, "deviation_revision", note
        )
        self._emit(
            "score_revised",
            actor_id,
            member=member.alias,
            bidder_code=bidder,
            item_id=item_id,
            old=old,
            new=new,
            note=note,
        )
        self._recompute_flags()

    def amend_score(
        self,
        actor_id: str,
        bidder: str,
        item_id: str,
        value: object,
        reason: AmendReason | str,
        note: str,
    ) -> None:
        """Change a score after totals, only for an allowed reason; every version is kept."""
        self._member_actor(actor_id)
        if self._s.phase is not Phase.FINALISED:
            raise ScoringClosed(f"scores cannot be amended in phase {self._s.phase.value}")
        why = _amend_reason(reason)
        member, old, new = self._change_score(actor_id, bidder, item_id, value, why.value, note)
        self._emit(
            "score_amended",
            actor_id,
            member=member.alias,
            bidder_code=bidder,
            item_id=item_id,
            old=old,
            new=new,
            reason=why,
            note=note,
            results=self.results(),
        )

    # --- results and report (see evaluation_room.report) ------------------------------------

    def results(self) -> Results | None:
        """Aggregates, totals and ranking, once every member has submitted (else None)."""
        return room_results(self._s)

    def report_body(self) -> dict[str, Any]:
        """The frozen report body being signed (raises before signing starts)."""
        return report_mod.frozen_body(self._s)

    def final_report(self) -> dict[str, Any]:
        """The report body with signatures and digests (for rendering and the audit trail)."""
        return report_mod.final_report(self._s)

    # --- signing ----------------------------------------------------------------------------

    def sign(
        self,
        actor_id: str,
        *,
        verdict: Verdict | str,
        reasons: str,
        report_digest: str,
        password: str,
        authenticator: Authenticator,
    ) -> None:
        """Sign the report digest after re-authenticating; dissent needs written reasons."""
        member = self._member_actor(actor_id)
        if self._s.phase is not Phase.SIGNING:
            raise IllegalTransition(f"cannot sign in phase {self._s.phase.value}")
        try:
            verdict = Verdict(verdict)
        except ValueError:
            raise InvalidInput("unknown verdict", fields={"verdict": "agree or dissent"}) from None
        if actor_id in self._s.signatures:
            raise AlreadySubmitted("you have already signed")
        if report_digest != self._s.report_digest:
            raise DigestMismatch("the report changed: reload it before signing")
        if verdict is Verdict.DISSENT:
            _require_text(reasons, "reasons")
        if not authenticator.verify_password(member.user_id, password):
            raise ReauthenticationFailed("password not confirmed")
        self._record_signature(actor_id, member, verdict, reasons, is_refusal=False)

    def record_refusal(self, actor_id: str, member_id: str, reason: str | None = None) -> None:
        """A host records a member's refusal to sign: with a reason it is dissent, else
        agreement.
        """
        host = self._staff_actor(actor_id, main_only=False)
        if self._s.phase is not Phase.SIGNING:
            raise IllegalTransition(f"cannot record a refusal in phase {self._s.phase.value}")
        member = self._find(member_id)
        if member.status is not Status.ACTIVE or not member.role.is_committee:
            raise NotAllowed("not a seated committee member")
        main = self._main_venue().venue_id
        if host.venue_id not in (member.venue_id, main):
            raise NotAllowed("only the member's venue host or the main host may record this")
        if member_id in self._s.signatures:
            raise AlreadySubmitted("the member has already signed")
        has_reason = bool(reason and reason.strip())
        verdict = Verdict.DISSENT if has_reason else Verdict.AGREE
        self._record_signature(actor_id, member, verdict, (reason or "").strip(), is_refusal=True)

    def _record_signature(
        self,
        actor_id: str,
        member: Participant,
        verdict: Verdict,
        reasons: str,
        *,
        is_refusal: bool,
    ) -> None:
        digest = self._s.report_digest
        if member.alias is None or digest is None:
            raise IllegalTransition("the report is not frozen for signing", action="sign")
        sig = Signature(
            member.participant_id,
            member.alias,
            self._now(),
            digest,
            verdict,
            reasons,
            is_refusal,
            actor_id,
        )
        self._s.signatures[member.participant_id] = sig
        self._emit(
            "refusal_recorded" if is_refusal else "signed",
            actor_id,
            member=member.alias,
            verdict=verdict,
            reasons=reasons,
            report_digest=sig.report_digest,
        )

    # --- what each viewer sees (see evaluation_room.views) ----------------------------------

    def snapshot(self, viewer_id: str) -> dict[str, Any]:
        """Return what ``viewer_id`` may see now, as JSON-serialisable data with ``seq``.

        Members see each other only as aliases; before every member has submitted nobody sees
        anyone else's subjective scores (nor aggregates, flags or results); hosts see real names
        of members booked at their venue once opened; supervisors see every name once opened;
        before opening nobody sees another member's name.
        """
        return views.snapshot(self._s, viewer_id)

    def visible_scores(self, viewer_id: str) -> dict[str, Any]:
        """Every member's current scores by alias, or :class:`ScoresHidden` before all submit."""
        return views.visible_scores(self._s, viewer_id)


def _require_text(value: str | None, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{name} is required", fields={name: "required"})
    return value.strip()


def _amend_reason(reason: AmendReason | str) -> AmendReason:
    try:
        return AmendReason(reason)
    except ValueError:
        allowed = ", ".join(r.value for r in AmendReason)
        raise InvalidInput(f"reason must be one of {allowed}", fields={"reason": allowed}) from None
