"""Check-in: one-time codes (hash only, limited attempts, expiry), host confirmation, conflicts."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from evaluation_room.errors import (
    AlreadySubmitted,
    CheckInCodeExpired,
    CheckInFailed,
    IllegalTransition,
    InvalidInput,
    MemberReplaced,
    NotAllowed,
    NotCheckedIn,
    TooManyAttempts,
)
from evaluation_room.model import ParticipantSpec, Phase, Role, RoomSettings
from tests.unit.room.support import MAIN_HOST, SECONDARY_HOST, RoomDriver


def at_check_in(settings: RoomSettings | None = None) -> RoomDriver:
    d = RoomDriver(settings=settings)
    d.to(Phase.CHECK_IN)
    return d


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_only_a_hash_of_the_code_is_stored() -> None:
    d = at_check_in()
    code, expires_at = d.room.issue_check_in_code("e1", "e1")
    assert len(code) == 6 and code.isdigit()
    state = json.dumps(d.room.to_state())
    assert f'"{code}"' not in state
    assert expires_at == d.clock.now() + timedelta(seconds=600)
    events = json.dumps([e.to_dict() for e in d.room.drain_events()])
    assert code not in events


def test_a_member_checks_in_with_code_and_host_confirmation_at_their_venue() -> None:
    d = at_check_in()
    room = d.room
    code, _ = room.issue_check_in_code("e4", "e4")
    room.enter_check_in_code("e4", code)
    with pytest.raises(NotAllowed):
        room.confirm_identity(MAIN_HOST, "e4", "B-02", d.conflicts, d.replacements)
    outcome = room.confirm_identity(SECONDARY_HOST, "e4", "B-02", d.conflicts, d.replacements)
    assert outcome.is_checked_in
    p = room.participant("e4")
    assert (p.check_in.venue_id, p.check_in.seat, p.check_in.confirmed_by) == (
        "sz",
        "B-02",
        SECONDARY_HOST,
    )
    assert d.conflicts.checked == ["e4"]


def test_the_host_cannot_confirm_before_a_valid_code_is_entered() -> None:
    d = at_check_in()
    d.room.issue_check_in_code("e1", "e1")
    with pytest.raises(NotCheckedIn):
        d.room.confirm_identity(MAIN_HOST, "e1", "A-1", d.conflicts, d.replacements)


def test_wrong_codes_are_counted_and_lock_after_the_limit() -> None:
    d = at_check_in(RoomSettings(code_max_attempts=3))
    code, _ = d.room.issue_check_in_code("e1", "e1")
    seq = d.room.seq
    for left in (2, 1, 0):
        with pytest.raises(CheckInFailed) as err:
            d.room.enter_check_in_code("e1", wrong(code))
        assert err.value.is_state_changed
        assert err.value.details["attempts_left"] == left
    assert d.room.seq == seq + 3
    with pytest.raises(TooManyAttempts):
        d.room.enter_check_in_code("e1", code)


def test_an_expired_code_is_refused_and_a_new_code_replaces_the_old() -> None:
    d = at_check_in(RoomSettings(code_ttl_seconds=60))
    old, _ = d.room.issue_check_in_code("e1", "e1")
    d.clock.advance(61)
    with pytest.raises(CheckInCodeExpired):
        d.room.enter_check_in_code("e1", old)
    new, _ = d.room.issue_check_in_code(MAIN_HOST, "e1")
    if new != old:
        with pytest.raises(CheckInFailed):
            d.room.enter_check_in_code("e1", old)
    d.room.enter_check_in_code("e1", new)
    with pytest.raises(CheckInCodeExpired):
        d.room.enter_check_in_code("e1", new)  # used


def test_the_number_of_codes_issued_is_limited() -> None:
    d = at_check_in(RoomSettings(code_max_issues=2))
    d.room.issue_check_in_code("e1", "e1")
    d.room.issue_check_in_code("e1", "e1")
    with pytest.raises(TooManyAttempts):
        d.room.issue_check_in_code("e1", "e1")


def test_codes_are_issued_only_by_the_member_or_their_venue_host_during_check_in() -> None:
    d = RoomDriver()
    d.to(Phase.OPENED)
    with pytest.raises(IllegalTransition):
        d.room.issue_check_in_code("e1", "e1")
    d.room.start_check_in(MAIN_HOST)
    with pytest.raises(NotAllowed):
        d.room.issue_check_in_code("e2", "e1")
    with pytest.raises(NotAllowed):
        d.room.issue_check_in_code(SECONDARY_HOST, "e1")
    d.check_in("e1")
    with pytest.raises(AlreadySubmitted):
        d.room.issue_check_in_code("e1", "e1")


def test_a_new_conflict_at_check_in_removes_the_expert_and_seats_the_replacement() -> None:
    d = at_check_in()
    d.conflicts.conflicted["e2"] = "employed_by_bidder"
    d.replacements.queue.append(ParticipantSpec("e9", "u_e9", "姓名e9", Role.EXPERT, "gz", "S09"))
    outcome = d.check_in("e2")
    assert not outcome.is_checked_in
    assert (outcome.conflict, outcome.replacement_id) == ("employed_by_bidder", "e9")
    assert d.replacements.asked == [("e2", "conflict:employed_by_bidder")]
    with pytest.raises(MemberReplaced):
        d.room.issue_check_in_code("e2", "e2")
    assert d.room.participant("e9").alias == "专家6"
    with pytest.raises(NotCheckedIn):
        d.room.start_election(MAIN_HOST)
    d.check_in("e9")
    for m in d.members:
        if not d.room.participant(m).is_checked_in:
            d.check_in(m)
    d.room.start_election(MAIN_HOST)
    assert "e9" in d.members and "e2" not in d.members


def test_without_a_replacement_the_seat_stays_vacant_until_filled() -> None:
    d = at_check_in()
    d.conflicts.conflicted["e1"] = "relative"
    d.check_in("e1")
    for m in d.members:
        d.check_in(m)
    with pytest.raises(NotAllowed) as err:
        d.room.start_election(MAIN_HOST)
    assert err.value.details["seated"] == 4
    d.room.replace_member(
        MAIN_HOST, "e1", ParticipantSpec("e8", "u_e8", "姓名e8", Role.EXPERT, "gz"), "vacancy"
    )
    d.check_in("e8")
    d.room.start_election(MAIN_HOST)


def test_representatives_are_not_re_checked_for_conflicts() -> None:
    d = at_check_in()
    d.conflicts.conflicted["r1"] = "whatever"
    assert d.check_in("r1").is_checked_in
    assert d.conflicts.checked == []


def test_the_main_host_can_re_run_the_conflict_check_for_every_seated_expert() -> None:
    d = at_check_in()
    d.conflicts.conflicted["e3"] = "credit_record"
    removed = d.room.recheck_conflicts(MAIN_HOST, d.conflicts, d.replacements)
    assert removed == ["e3"]
    assert sorted(d.conflicts.checked) == ["e1", "e2", "e3", "e4"]


def test_after_every_code_failed_the_venue_host_checks_the_id_card_in_person() -> None:
    d = at_check_in(RoomSettings(code_max_issues=3))
    room = d.room
    # While codes may still work, "codes failed" is refused: the host sends a code first.
    with pytest.raises(NotAllowed):
        room.verify_in_person(
            SECONDARY_HOST, "e4", "B-02", "codes_failed", d.conflicts, d.replacements
        )
    for _ in range(3):
        code, _ = room.issue_check_in_code("e4", "e4")
        with pytest.raises(CheckInFailed):
            room.enter_check_in_code("e4", wrong(code))
    assert room.codes_exhausted("e4")
    with pytest.raises(NotAllowed):  # only the host at the member's own venue
        room.verify_in_person(MAIN_HOST, "e4", "B-02", "codes_failed", d.conflicts, d.replacements)
    room.drain_events()
    outcome = room.verify_in_person(
        SECONDARY_HOST, "e4", "B-02", "codes_failed", d.conflicts, d.replacements
    )
    assert outcome.is_checked_in
    ci = room.participant("e4").check_in
    assert (ci.method, ci.in_person_reason, ci.confirmed_by, ci.seat) == (
        "in_person",
        "codes_failed",
        SECONDARY_HOST,
        "B-02",
    )
    assert ci.checked_in_at == d.clock.now()
    (event,) = [e for e in room.drain_events() if e.kind == "checked_in_in_person"]
    assert event.to_dict()["data"]["reason"] == "codes_failed"
    assert d.conflicts.checked == ["e4"]


def test_without_a_signal_the_host_checks_the_id_card_at_once_and_conflicts_still_count() -> None:
    d = at_check_in()
    d.conflicts.conflicted["e1"] = "employed_by_bidder"
    outcome = d.room.verify_in_person(
        MAIN_HOST, "e1", "A-01", "no_signal", d.conflicts, d.replacements
    )
    assert not outcome.is_checked_in and outcome.conflict == "employed_by_bidder"
    with pytest.raises(InvalidInput):  # the reason must be one we know
        d.room.verify_in_person(MAIN_HOST, "e2", "A-02", "trust me", d.conflicts, d.replacements)
    assert not d.room.participant("e2").is_checked_in
