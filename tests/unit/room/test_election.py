"""Leader election: majority, re-vote on no majority, then the configured rule."""

from __future__ import annotations

import pytest

from evaluation_room.election import Election, TieRule, break_tie
from evaluation_room.errors import AlreadySubmitted, InvalidInput, NotAllowed
from evaluation_room.model import Phase, Role, RoomSettings
from tests.unit.room.support import MAIN_HOST, RoomDriver

VOTERS = ["a", "b", "c", "d", "e"]


def run(election: Election, votes: list[str], rule: TieRule = TieRule.LOWEST_ALIAS) -> None:
    for voter, cand in zip(election.electorate, votes, strict=True):
        election.cast(voter, cand, rule, "seed-1")


def test_a_majority_of_present_members_elects_the_leader_in_one_round() -> None:
    e = Election(VOTERS)
    run(e, ["c", "c", "c", "a", "b"])
    assert (e.leader, e.decided_by) == ("c", "majority")
    assert e.rounds[0].counts == {"a": 1, "b": 1, "c": 3}


def test_no_majority_in_the_first_round_opens_one_re_vote() -> None:
    e = Election(VOTERS)
    run(e, ["a", "a", "b", "b", "c"])
    assert e.leader is None
    assert len(e.rounds) == 2
    run(e, ["b", "b", "b", "a", "a"])
    assert (e.leader, e.decided_by) == ("b", "majority")


def test_a_tie_after_the_re_vote_goes_to_the_lowest_alias() -> None:
    e = Election(VOTERS)
    run(e, ["d", "d", "b", "b", "c"])
    run(e, ["d", "d", "b", "b", "c"])
    assert (e.leader, e.decided_by) == ("b", "lowest_alias")


def test_a_plurality_without_tie_after_the_re_vote_elects_the_front_runner() -> None:
    e = Election(VOTERS)
    run(e, ["d", "d", "b", "b", "c"])
    run(e, ["d", "d", "b", "a", "c"])
    assert (e.leader, e.decided_by) == ("d", "most_votes_after_revote")


def test_the_seeded_rule_is_deterministic_and_documented() -> None:
    import hashlib

    tied = ["b", "d"]
    digest = hashlib.sha256(b"seed-1|b,d").digest()
    expected = tied[int.from_bytes(digest, "big") % 2]
    assert break_tie(tied, TieRule.SEEDED_RANDOM, "seed-1") == expected
    e = Election(VOTERS)
    run(e, ["d", "d", "b", "b", "c"], TieRule.SEEDED_RANDOM)
    run(e, ["d", "d", "b", "b", "c"], TieRule.SEEDED_RANDOM)
    assert (e.leader, e.decided_by) == (expected, "seeded_random")
    picks = {break_tie(["p", "q", "r"], TieRule.SEEDED_RANDOM, f"s{i}") for i in range(30)}
    assert picks == {"p", "q", "r"}


def test_voting_twice_outsiders_and_unknown_candidates_are_refused() -> None:
    e = Election(VOTERS)
    e.cast("a", "b", TieRule.LOWEST_ALIAS, "")
    with pytest.raises(AlreadySubmitted):
        e.cast("a", "c", TieRule.LOWEST_ALIAS, "")
    with pytest.raises(NotAllowed):
        e.cast("zz", "c", TieRule.LOWEST_ALIAS, "")
    with pytest.raises(InvalidInput):
        e.cast("b", "zz", TieRule.LOWEST_ALIAS, "")


def test_the_room_election_takes_aliases_and_reveals_counts_only_after_the_round() -> None:
    d = RoomDriver(settings=RoomSettings(election_tie_rule=TieRule.LOWEST_ALIAS))
    room = d.to(Phase.LEADER_ELECTION)
    m = d.members
    room.vote(m[0], "专家2")
    snap = room.snapshot(m[1])
    assert snap["election"]["rounds"][0]["voted"] == ["专家1"]
    assert snap["election"]["rounds"][0]["counts"] is None
    assert snap["election"]["rounds"][0]["my_vote"] is None
    for voter, cand in zip(m[1:], ["专家2", "专家3", "专家3", "专家1"], strict=True):
        room.vote(voter, cand)
    assert room.leader_id is None  # 2-2-1: re-vote
    for voter, cand in zip(m, ["专家2", "专家2", "专家3", "专家3", "专家1"], strict=True):
        room.vote(voter, cand)
    assert room.leader_id == m[1]
    snap = room.snapshot(m[0])
    assert snap["leader"] == "专家2"
    assert snap["election"]["decided_by"] == "lowest_alias"
    assert snap["election"]["rounds"][1]["counts"] == {"专家1": 1, "专家2": 2, "专家3": 2}
    kinds = [e.kind for e in room.drain_events()]
    assert kinds.count("election_round_closed") == 2
    assert kinds[-1] == "leader_elected"


def test_hosts_cannot_vote_and_scoring_cannot_start_without_a_leader() -> None:
    d = RoomDriver()
    room = d.to(Phase.LEADER_ELECTION)
    with pytest.raises(NotAllowed):
        room.vote(MAIN_HOST, "专家1")
    with pytest.raises(NotAllowed):
        room.start_scoring(MAIN_HOST)


def test_where_the_rules_forbid_it_the_representative_cannot_be_elected_leader() -> None:
    """Government procurement: the purchaser's representative may not lead (财库〔2012〕69号)."""
    for may_lead in (True, False):
        d = RoomDriver(settings=RoomSettings(representatives_may_lead=may_lead))
        room = d.to(Phase.LEADER_ELECTION)
        rep = next(m for m in d.members if room.participant(m).role is Role.REPRESENTATIVE)
        alias = room.participant(rep).alias
        assert alias is not None
        candidates = room.snapshot(d.members[0])["election"]["candidates"]
        assert (alias in candidates) is may_lead  # the vote menu offers only those eligible
        assert len(candidates) == len(d.members) - (0 if may_lead else 1)
        if may_lead:
            room.vote(d.members[0], alias)
        else:
            with pytest.raises(InvalidInput):
                room.vote(d.members[0], alias)


def test_a_score_form_outside_the_price_weight_range_is_refused() -> None:
    from decimal import Decimal

    from evaluation_room.scoring import ScoringSettings

    goods = ScoringSettings(price_weight_pct=(Decimal(30), Decimal(60)))
    RoomDriver(settings=RoomSettings(scoring=goods))  # the standard form: price 30 of 100
    services = ScoringSettings(price_weight_pct=(Decimal(10), Decimal(25)))
    with pytest.raises(InvalidInput):
        RoomDriver(settings=RoomSettings(scoring=services))
