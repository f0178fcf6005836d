"""The room's state machine: legal and illegal moves, pause, replacement, scoring rules."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

import pytest

from evaluation_room.errors import (
    AlreadySubmitted,
    IllegalTransition,
    InvalidInput,
    InvalidScore,
    MemberReplaced,
    NotAllowed,
    NotCheckedIn,
    NotOnPanel,
    RoomError,
    RoomPaused,
    ScoringClosed,
    StaleSequence,
)
from evaluation_room.model import AmendReason, ParticipantSpec, Phase, Role
from evaluation_room.room import EvaluationRoom
from evaluation_room.scoring import Bid
from tests.unit.room.support import (
    MAIN_HOST,
    ORDER,
    SECONDARY_HOST,
    SUPERVISOR,
    RoomDriver,
    standard_form,
    uniform_sheet,
)

Move = Callable[[EvaluationRoom], None]
MOVES: dict[str, Move] = {
    "open": lambda r: r.open(MAIN_HOST),
    "start_check_in": lambda r: r.start_check_in(MAIN_HOST),
    "start_election": lambda r: r.start_election(MAIN_HOST),
    "start_scoring": lambda r: r.start_scoring(MAIN_HOST),
    "finalise": lambda r: r.finalise(MAIN_HOST),
    "start_signing": lambda r: r.start_signing(MAIN_HOST),
    "archive": lambda r: r.archive(MAIN_HOST),
    "pause": lambda r: r.pause(MAIN_HOST, "断网"),
    "resume": lambda r: r.resume(MAIN_HOST),
}
LEGAL: dict[Phase, dict[str, Phase]] = {
    Phase.SCHEDULED: {"open": Phase.OPENED},
    Phase.OPENED: {"start_check_in": Phase.CHECK_IN, "pause": Phase.PAUSED},
    Phase.CHECK_IN: {"start_election": Phase.LEADER_ELECTION, "pause": Phase.PAUSED},
    Phase.LEADER_ELECTION: {"start_scoring": Phase.SCORING, "pause": Phase.PAUSED},
    Phase.SCORING: {"pause": Phase.PAUSED},
    Phase.DEVIATION_REVIEW: {"finalise": Phase.FINALISED, "pause": Phase.PAUSED},
    Phase.FINALISED: {"start_signing": Phase.SIGNING, "pause": Phase.PAUSED},
    Phase.SIGNING: {"archive": Phase.ARCHIVED, "pause": Phase.PAUSED},
    Phase.ARCHIVED: {},
    Phase.PAUSED: {"resume": Phase.SCORING},
}


def prepared(phase: Phase) -> RoomDriver:
    """A room in ``phase`` whose legal next move has every precondition met."""
    d = RoomDriver()
    d.to(phase, sign_all=True)
    if phase is Phase.CHECK_IN:
        for m in d.members:
            d.check_in(m)
    if phase is Phase.LEADER_ELECTION:
        d.elect()
    return d


CASES = [(phase, move) for phase in [*ORDER, Phase.PAUSED] for move in MOVES]


@pytest.mark.parametrize(("phase", "move"), CASES, ids=[f"{p.value}-{m}" for p, m in CASES])
def test_every_phase_move_is_either_legal_or_refused_with_a_typed_error(
    phase: Phase, move: str
) -> None:
    d = prepared(phase)
    room = d.room
    seq = room.seq
    target = LEGAL[phase].get(move)
    if target is not None:
        MOVES[move](room)
        assert room.phase is target
        assert room.seq > seq
        return
    expected = RoomPaused if phase is Phase.PAUSED else IllegalTransition
    with pytest.raises(expected):
        MOVES[move](room)
    assert room.seq == seq


def test_phase_moves_belong_to_the_main_host_and_supervisors_only_read() -> None:
    d = RoomDriver()
    for actor in (SECONDARY_HOST, SUPERVISOR, "e1"):
        with pytest.raises(NotAllowed):
            d.room.open(actor)
    with pytest.raises(NotOnPanel):
        d.room.open("stranger")
    with pytest.raises(NotOnPanel):
        d.room.snapshot("stranger")


def test_opening_checks_the_committee_composition() -> None:
    with pytest.raises(NotAllowed) as err:
        RoomDriver(n_experts=3, n_reps=1).room.open(MAIN_HOST)  # even
    assert "committee_size" in err.value.fields
    with pytest.raises(NotAllowed) as err:
        RoomDriver(n_experts=3, n_reps=2).room.open(MAIN_HOST)  # 3/5 < 2/3
    assert "experts" in err.value.fields
    with pytest.raises(NotAllowed):
        RoomDriver(n_experts=3, n_reps=0).room.open(MAIN_HOST)  # fewer than 5
    RoomDriver(n_experts=5, n_reps=2).room.open(MAIN_HOST)  # 7 members, 5/7 >= 2/3


def paused_room() -> RoomDriver:
    d = RoomDriver()
    d.to(Phase.SCORING)
    d.room.enter_scores("e1", {"B001": {"tech": "30"}})
    d.room.pause(SECONDARY_HOST, "副场断网")
    return d


def every_action(d: RoomDriver) -> dict[str, Move]:
    spec = ParticipantSpec("e9", "u_e9", "n", Role.EXPERT, "gz")
    return {
        "enter_scores": lambda r: r.enter_scores("e2", uniform_sheet()),
        "submit_sheet": lambda r: r.submit_sheet("e2", uniform_sheet()),
        "vote": lambda r: r.vote("e1", "专家1"),
        "issue_code": lambda r: r.issue_check_in_code("e1", "e1") and None,
        "enter_code": lambda r: r.enter_check_in_code("e1", "123456"),
        "confirm": lambda r: (
            r.confirm_identity(MAIN_HOST, "e1", "A", d.conflicts, d.replacements) and None
        ),
        "set_form": lambda r: r.set_form(MAIN_HOST, standard_form()),
        "set_bids": lambda r: r.set_bids(MAIN_HOST, []),
        "replace": lambda r: r.replace_member(MAIN_HOST, "e1", spec, "病"),
        "propose_removal": lambda r: r.propose_removal(MAIN_HOST, "e1", "病"),
        "decide_removal": lambda r: r.approve_removal(SUPERVISOR, "e1", spec),
        "recheck": lambda r: r.recheck_conflicts(MAIN_HOST, d.conflicts, d.replacements) and None,
        "explain": lambda r: r.explain_deviation("e1", "x", "y"),
        "revise": lambda r: r.revise_score("e1", "B001", "tech", "1", "n"),
        "amend": lambda r: r.amend_score("e1", "B001", "tech", "1", "arithmetic_error", "n"),
        "amend_bid": lambda r: r.amend_bid(
            MAIN_HOST, Bid("B001", "x", Decimal(1)), "arithmetic_error", "n"
        ),
        "sign": lambda r: r.sign(
            "e1", verdict="agree", reasons="", report_digest="x", password="p", authenticator=d.auth
        ),
        "refusal": lambda r: r.record_refusal(MAIN_HOST, "e1"),
        "pause": lambda r: r.pause(MAIN_HOST, "again"),
        **{name: MOVES[name] for name in MOVES if name not in ("pause", "resume")},
    }


@pytest.mark.parametrize("action", list(every_action(RoomDriver())))
def test_pause_locks_every_action(action: str) -> None:
    d = paused_room()
    before = d.room.to_state()
    with pytest.raises(RoomPaused):
        every_action(d)[action](d.room)
    assert d.room.to_state() == before


def test_resume_returns_to_the_phase_that_was_paused_and_only_the_main_host_resumes() -> None:
    d = paused_room()
    with pytest.raises(NotAllowed):
        d.room.resume(SECONDARY_HOST)
    d.room.resume(MAIN_HOST)
    assert d.room.phase is Phase.SCORING
    assert d.room.snapshot("e1")["my_sheet"]["scores"] == {"B001": {"tech": "30"}}
    d.to(Phase.DEVIATION_REVIEW)
    d.room.pause(MAIN_HOST, "休息")
    assert d.room.snapshot(SUPERVISOR)["paused_from"] == "deviation_review"
    d.room.resume(MAIN_HOST)
    assert d.room.phase is Phase.DEVIATION_REVIEW


def test_scores_cannot_be_entered_outside_scoring() -> None:
    d = RoomDriver()
    d.to(Phase.LEADER_ELECTION)
    with pytest.raises(ScoringClosed):
        d.room.enter_scores("e1", uniform_sheet())
    d.to(Phase.DEVIATION_REVIEW)
    with pytest.raises(ScoringClosed):
        d.room.submit_sheet("e1", uniform_sheet())


def test_drafts_merge_and_an_incomplete_sheet_cannot_be_submitted() -> None:
    d = RoomDriver()
    d.to(Phase.SCORING)
    d.room.enter_scores("e1", {"B001": {"tech": "30"}})
    d.room.enter_scores("e1", {"B001": {"tech": "31", "service": "10"}})
    with pytest.raises(InvalidScore) as err:
        d.room.submit_sheet("e1")
    assert err.value.fields == {"B002.tech": "missing", "B002.service": "missing"}
    d.room.submit_sheet("e1", {"B002": {"tech": "20", "service": "5"}})
    assert d.room.snapshot("e1")["my_sheet"]["scores"]["B001"] == {"tech": "31", "service": "10"}
    with pytest.raises(AlreadySubmitted):
        d.room.submit_sheet("e1")
    with pytest.raises(AlreadySubmitted):
        d.room.enter_scores("e1", {"B001": {"tech": "1"}})


def test_an_invalid_entry_changes_nothing() -> None:
    d = RoomDriver()
    d.to(Phase.SCORING)
    before = d.room.to_state()
    with pytest.raises(InvalidScore):
        d.room.enter_scores("e1", {"B001": {"tech": "30", "service": "99"}})
    with pytest.raises(InvalidScore):
        d.room.enter_scores("e1", {"B003": {"tech": "30"}})  # excluded bidder
    assert d.room.to_state() == before


def test_the_last_submission_moves_to_deviation_review() -> None:
    d = RoomDriver()
    d.to(Phase.SCORING)
    for m in d.members[:-1]:
        d.room.submit_sheet(m, uniform_sheet())
        assert d.room.phase is Phase.SCORING
    d.room.submit_sheet(d.members[-1], uniform_sheet())
    assert d.room.phase is Phase.DEVIATION_REVIEW


def test_replacing_a_member_voids_their_sheet_and_the_replacement_scores_anew() -> None:
    d = RoomDriver()
    d.to(Phase.SCORING)
    d.room.submit_sheet("e1", uniform_sheet(tech="0", service="0"))
    spec = ParticipantSpec("e9", "u_e9", "姓名e9", Role.EXPERT, "gz", "S09")
    d.remove("e1", spec, "突发疾病")
    with pytest.raises(MemberReplaced):
        d.room.enter_scores("e1", uniform_sheet())
    with pytest.raises(MemberReplaced):
        d.room.participant_for_user("u_e1")
    assert d.room.snapshot("e1").keys() >= {"phase", "viewer"}
    assert "members" not in d.room.snapshot("e1")
    assert d.room.to_state()["sheets"]["e1"]["voided_at"] is not None
    for m in ["e2", "e3", "e4", "r1"]:
        d.room.submit_sheet(m, uniform_sheet())
    assert d.room.phase is Phase.SCORING  # e9 has not scored
    with pytest.raises(NotCheckedIn):
        d.room.submit_sheet("e9", uniform_sheet())
    d.check_in("e9")
    d.room.submit_sheet("e9", uniform_sheet())
    assert d.room.phase is Phase.DEVIATION_REVIEW
    results = d.room.results()
    assert results is not None
    assert all(
        b.subjective == {"tech": Decimal("40.00"), "service": Decimal("15.00")}
        for b in results.bidders
    )
    assert d.room.snapshot("e9")["viewer"]["alias"] == "专家6"
    kinds = [e.kind for e in d.room.drain_events()]
    assert "member_replaced" in kinds


def test_replacement_during_deviation_review_reopens_scoring_and_voids_flags() -> None:
    d = RoomDriver()
    d.sheets = {"e1": uniform_sheet(tech="10")}
    d.to(Phase.DEVIATION_REVIEW)
    assert d.room.snapshot(SUPERVISOR)["flags"]
    d.remove("e1", ParticipantSpec("e9", "u9", "n", Role.EXPERT, "gz"))
    assert d.room.phase is Phase.SCORING
    d.check_in("e9")
    d.room.submit_sheet("e9", uniform_sheet())
    assert d.room.phase is Phase.DEVIATION_REVIEW
    assert d.room.snapshot(SUPERVISOR)["flags"] == []
    d.room.finalise(MAIN_HOST)


def test_replacement_during_the_election_returns_to_check_in() -> None:
    d = RoomDriver()
    d.to(Phase.LEADER_ELECTION)
    d.room.vote("e1", "专家1")
    d.remove("e2", ParticipantSpec("e9", "u9", "n", Role.EXPERT, "sz"))
    assert d.room.phase is Phase.CHECK_IN
    d.check_in("e9")
    d.room.start_election(MAIN_HOST)
    assert d.room.snapshot("e1")["election"]["rounds"][0]["voted"] == []


def test_members_cannot_be_replaced_after_finalisation_or_twice() -> None:
    d = RoomDriver()
    d.to(Phase.SCORING)
    spec = ParticipantSpec("e9", "u9", "n", Role.EXPERT, "gz")
    d.remove("e1", spec)
    with pytest.raises(NotAllowed):
        d.room.replace_member(
            MAIN_HOST, "e1", ParticipantSpec("e8", "u8", "n", Role.EXPERT, "gz"), "x"
        )
    d.room.propose_removal(MAIN_HOST, "e2", "duplicate id")
    with pytest.raises(InvalidInput):
        d.room.approve_removal(SUPERVISOR, "e2", spec)
    d.check_in("e9")
    d.to(Phase.FINALISED)
    with pytest.raises(IllegalTransition):
        d.room.propose_removal(MAIN_HOST, "e3", "x")
    with pytest.raises(IllegalTransition):
        d.room.approve_removal(SUPERVISOR, "e2", None)


def deviating() -> RoomDriver:
    d = RoomDriver()
    d.sheets = {"e1": uniform_sheet(tech="10")}  # mean 34, 10 is 70.6 % below
    d.to(Phase.DEVIATION_REVIEW)
    return d


def test_flagged_scores_block_finalisation_until_explained() -> None:
    d = deviating()
    flags = d.room.snapshot("e1")["flags"]
    assert [(f["member"], f["bidder_code"], f["item_id"], f["deviation_pct"]) for f in flags] == [
        ("专家1", "B001", "tech", "70.59"),
        ("专家1", "B002", "tech", "70.59"),
    ]
    with pytest.raises(NotAllowed) as err:
        d.room.finalise(MAIN_HOST)
    assert err.value.details["flags"] == ["e1.B001.tech", "e1.B002.tech"]
    with pytest.raises(InvalidInput):
        d.room.explain_deviation("e2", "e1.B001.tech", "not mine")
    with pytest.raises(InvalidInput):
        d.room.explain_deviation("e1", "e1.B001.tech", "  ")
    d.room.explain_deviation("e1", "e1.B001.tech", "该方案技术路线不可行")
    d.room.explain_deviation("e1", "e1.B002.tech", "同上")
    d.room.finalise("e1")  # the leader may finalise


def test_revising_a_flagged_score_keeps_every_version_and_clears_the_flag() -> None:
    d = deviating()
    d.room.revise_score("e1", "B001", "tech", "35", "复核后修改")
    d.room.explain_deviation("e1", "e1.B002.tech", "保留意见")
    flags = {f["flag_id"]: f["status"] for f in d.room.snapshot("e1")["flags"]}
    assert flags == {"e1.B001.tech": "cleared", "e1.B002.tech": "explained"}
    versions = d.room.to_state()["sheets"]["e1"]["entries"]["B001"]["tech"]
    assert [(v["value"], v["reason"]) for v in versions] == [
        ("10", "entry"),
        ("35", "deviation_revision"),
    ]
    d.room.finalise(MAIN_HOST)


def test_revising_an_explained_score_that_still_deviates_reopens_its_flag() -> None:
    d = deviating()
    d.room.explain_deviation("e1", "e1.B001.tech", "理由")
    d.room.revise_score("e1", "B001", "tech", "12", "改")
    status = {f["flag_id"]: f["status"] for f in d.room.snapshot("e1")["flags"]}
    assert status["e1.B001.tech"] == "open"


def test_after_totals_a_score_changes_only_for_an_allowed_reason_and_versions_are_kept() -> None:
    d = RoomDriver()
    d.to(Phase.FINALISED)
    with pytest.raises(InvalidInput) as err:
        d.room.amend_score("e2", "B001", "tech", "41", "changed_my_mind", "x")
    assert "arithmetic_error" in err.value.fields["reason"]
    with pytest.raises(InvalidInput):
        d.room.amend_score("e2", "B001", "tech", "41", AmendReason.ARITHMETIC_ERROR, "")
    with pytest.raises(InvalidScore):
        d.room.amend_score("e2", "B001", "tech", "40", AmendReason.ARITHMETIC_ERROR, "same")
    d.room.amend_score("e2", "B001", "tech", "45", AmendReason.ARITHMETIC_ERROR, "加总错误")
    d.room.amend_score("e2", "B001", "tech", "50", "abnormal_score", "委员会认定畸低")
    versions = d.room.to_state()["sheets"]["e2"]["entries"]["B001"]["tech"]
    assert [(v["value"], v["reason"]) for v in versions] == [
        ("40", "entry"),
        ("45", "arithmetic_error"),
        ("50", "abnormal_score"),
    ]
    results = d.room.results()
    assert results is not None
    tech = {b.bidder_code: b.subjective["tech"] for b in results.bidders}
    assert tech == {"B001": Decimal("42.00"), "B002": Decimal("40.00")}
    d.room.start_signing(MAIN_HOST)
    with pytest.raises(ScoringClosed):
        d.room.amend_score("e2", "B001", "tech", "41", "arithmetic_error", "x")
    body = d.room.report_body()
    assert [a["reason"] for a in body["amendments"]] == ["arithmetic_error", "abnormal_score"]


def test_a_bid_correction_after_totals_is_versioned_and_recomputes_the_price_score() -> None:
    d = RoomDriver()
    d.to(Phase.FINALISED)
    corrected = Bid("B001", "甲公司", Decimal(900_000), {"licence": True})
    with pytest.raises(InvalidInput):
        d.room.amend_bid(MAIN_HOST, corrected, AmendReason.OBJECTIVE_DISAGREEMENT, "")
    d.room.amend_bid(MAIN_HOST, corrected, AmendReason.OBJECTIVE_DISAGREEMENT, "唱标价录入错误")
    results = d.room.results()
    assert results is not None
    assert {b.bidder_code: b.objective["price"] for b in results.bidders} == {
        "B001": Decimal("30.00"),
        "B002": Decimal("28.42"),
    }
    assert len(d.room.to_state()["bids"]["B001"]) == 2
    revived = Bid("B003", "丙公司", Decimal(900_000), {"licence": True})
    with pytest.raises(NotAllowed):
        d.room.amend_bid(MAIN_HOST, revived, AmendReason.OBJECTIVE_DISAGREEMENT, "x")


def test_ranking_names_qualified_bidders_with_the_tie_rule() -> None:
    d = RoomDriver()
    d.to(Phase.FINALISED)
    results = d.room.results()
    assert results is not None
    # same subjective scores: B002 is cheaper so its price score (30) beats B001 (28.50)
    assert results.candidates == ["B002", "B001"]
    assert [e.bidder_code for e in results.excluded] == ["B003"]


@pytest.mark.parametrize("phase", [*ORDER, Phase.PAUSED])
def test_state_round_trips_through_json_in_every_phase(phase: Phase) -> None:
    d = RoomDriver()
    d.to(phase)
    state = d.room.to_state()
    text = json.dumps(state, ensure_ascii=False, allow_nan=False)
    again = EvaluationRoom.from_state(json.loads(text), d.clock)
    assert again.to_state() == state
    assert again.snapshot(SUPERVISOR) == d.room.snapshot(SUPERVISOR)


def test_every_change_bumps_seq_by_one_and_yields_a_serialisable_event() -> None:
    d = RoomDriver()
    d.to(Phase.ARCHIVED)
    events = d.room.drain_events()
    assert [e.seq for e in events] == list(range(1, d.room.seq + 1))
    assert all(e.room_id == "room-1" and e.occurred_at.tzinfo is not None for e in events)
    json.dumps([e.to_dict() for e in events], allow_nan=False)
    assert d.room.drain_events() == []
    kinds = [e.kind for e in events]
    assert kinds[0] == "room_scheduled"
    assert kinds[-1] == "archived"
    assert events[-1].data["final_report_digest"] == d.room.final_report_digest


def test_a_refused_action_bumps_nothing_and_stale_sequence_numbers_are_detected() -> None:
    d = RoomDriver()
    seq = d.room.seq
    with pytest.raises(RoomError):
        d.room.finalise(MAIN_HOST)
    assert d.room.seq == seq and d.room.pending_events[-1].seq == seq
    d.room.expect_seq(seq)
    with pytest.raises(StaleSequence):
        d.room.expect_seq(seq - 1)


def test_participant_for_user_maps_logins_to_participants() -> None:
    d = RoomDriver()
    assert d.room.participant_for_user("u_e1") == "e1"
    with pytest.raises(NotOnPanel):
        d.room.participant_for_user("u_nobody")


def test_taking_a_member_off_needs_the_main_host_and_a_supervisor() -> None:
    d = RoomDriver()
    d.to(Phase.SCORING)
    d.room.enter_scores("e1", {"B001": {"tech": "30"}})
    spec = ParticipantSpec("e9", "u9", "n", Role.EXPERT, "gz")
    with pytest.raises(NotAllowed):  # a seated member is never taken off by the host alone
        d.room.replace_member(MAIN_HOST, "e1", spec, "病")
    for actor in (SECONDARY_HOST, SUPERVISOR, "e2"):
        with pytest.raises(NotAllowed):
            d.room.propose_removal(actor, "e1", "病")
    with pytest.raises(NotAllowed):  # nothing proposed yet
        d.room.approve_removal(SUPERVISOR, "e1", None)
    d.room.propose_removal(MAIN_HOST, "e1", "病")
    with pytest.raises(NotAllowed):
        d.room.propose_removal(MAIN_HOST, "e1", "again")
    for actor in (MAIN_HOST, SECONDARY_HOST, "e2"):
        with pytest.raises(NotAllowed):
            d.room.approve_removal(actor, "e1", None)
    assert d.room.participant("e1").status.value == "active"  # still seated while pending
    assert [r["member"] for r in d.room.snapshot(SUPERVISOR)["pending_removals"]] == ["专家1"]
    assert "pending_removals" not in d.room.snapshot("e2")
    d.room.reject_removal(SUPERVISOR, "e1", "理由不足")
    assert d.room.participant("e1").status.value == "active"
    assert d.room.snapshot(SUPERVISOR)["pending_removals"] == []
    d.remove("e1", None, "突发疾病")
    assert d.room.participant("e1").status.value == "removed"
    assert d.room.to_state()["sheets"]["e1"]["voided_at"] is not None
    kinds = [e.kind for e in d.room.pending_events]
    assert kinds[-3:] == ["removal_proposed", "removal_approved", "member_removed"]
    assert "removal_rejected" in kinds
    d.room.replace_member(MAIN_HOST, "e1", spec, "备选专家已确认")  # the host fills the vacancy
    assert d.room.participant("e9").replaces == "e1"
