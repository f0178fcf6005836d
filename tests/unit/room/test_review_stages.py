"""Review stages before scoring (资格审查, 符合性审查) and reasons for low scores."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluation_room.errors import (
    AlreadySubmitted,
    IllegalTransition,
    InvalidInput,
    InvalidScore,
    NotAllowed,
)
from evaluation_room.model import ParticipantSpec, Phase, Role, RoomSettings
from evaluation_room.review import is_failed
from evaluation_room.room import EvaluationRoom
from evaluation_room.scoring import Category, ItemKind, ScoreForm, ScoreItem, ScoringSettings
from tests.unit.room.support import MAIN_HOST, SUPERVISOR, RoomDriver, standard_form, uniform_sheet


def staged_form() -> ScoreForm:
    """The standard form with one committee qualification item and two compliance items."""
    zero = Decimal(0)
    review = (
        ScoreItem(
            "q_licence",
            "营业执照",
            ItemKind.PASS_FAIL,
            zero,
            zero,
            category=Category.QUALIFICATION,
            criteria="有效营业执照",
        ),
        ScoreItem(
            "c_term",
            "工期",
            ItemKind.PASS_FAIL,
            zero,
            zero,
            category=Category.COMPLIANCE,
            criteria="满足工期",
        ),
        ScoreItem("c_bond", "保证金", ItemKind.PASS_FAIL, zero, zero, category=Category.COMPLIANCE),
    )
    return ScoreForm(review + standard_form().items)


def marks(room: EvaluationRoom, fail: dict[str, str] | None = None) -> dict[str, object]:
    """Pass everything in the current stage except ``fail`` ("bidder.item" -> reason)."""
    fail = fail or {}
    stage = room.to_state()["stages"][-1]
    form = ScoreForm(staged_form().items)
    items = form.review_items(Category(stage["stage"]))
    out: dict[str, dict[str, object]] = {}
    for b in stage["bidders"]:
        for i in items:
            key = f"{b}.{i.item_id}"
            out.setdefault(b, {})[i.item_id] = (
                {"passed": False, "reason": fail[key]} if key in fail else {"passed": True}
            )
    return out


def in_review(rule: str = "simple_majority") -> RoomDriver:
    d = RoomDriver(settings=RoomSettings(review_majority=rule), form=staged_form())
    d.to(Phase.LEADER_ELECTION)
    d.elect()
    d.room.start_review(MAIN_HOST)
    return d


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=1, max_value=15).flatmap(
        lambda n: st.tuples(st.just(n), st.integers(min_value=0, max_value=n))
    )
)
def test_the_majority_rule_fails_an_item_exactly_when_enough_members_fail_it(
    case: tuple[int, int],
) -> None:
    members, fails = case
    assert is_failed(fails, members, "simple_majority") is (fails > members / 2)
    assert is_failed(fails, members, "two_thirds") is (fails > 0 and fails >= members * 2 / 3)
    # one more fail never turns a failed item into a passed one
    if fails < members:
        for rule in ("simple_majority", "two_thirds"):
            assert is_failed(fails, members, rule) <= is_failed(fails + 1, members, rule)


def test_a_form_with_review_items_runs_the_stages_before_scoring() -> None:
    d = RoomDriver(form=staged_form())
    d.to(Phase.LEADER_ELECTION)
    d.elect()
    with pytest.raises(NotAllowed):
        d.room.start_scoring(MAIN_HOST)
    d.room.start_review(MAIN_HOST)
    assert d.room.phase is Phase.REVIEW
    stage = d.room.snapshot(d.members[0])["stages"][-1]
    assert stage["stage"] == "qualification"
    assert stage["bidders"] == ["B001", "B002"]  # B003 failed its checks before the session


def test_a_form_without_review_items_cannot_start_a_review() -> None:
    d = RoomDriver()
    d.to(Phase.LEADER_ELECTION)
    d.elect()
    with pytest.raises(NotAllowed):
        d.room.start_review(MAIN_HOST)


def test_a_fail_needs_a_reason_and_the_marks_must_be_complete() -> None:
    d = in_review()
    m = d.members[0]
    bad = marks(d.room)
    bad["B001"]["q_licence"] = {"passed": False, "reason": " "}  # type: ignore[index]
    with pytest.raises(InvalidInput) as err:
        d.room.submit_review(m, bad)
    assert err.value.fields == {"B001.q_licence": "a fail needs a reason"}
    with pytest.raises(InvalidInput) as err:
        d.room.submit_review(m, {"B001": {"q_licence": {"passed": True}}})
    assert "B002.q_licence" in err.value.fields
    d.room.submit_review(m, marks(d.room))
    with pytest.raises(AlreadySubmitted):
        d.room.submit_review(m, marks(d.room))


def test_staff_cannot_mark_and_scores_wait_for_the_stages() -> None:
    d = in_review()
    with pytest.raises(NotAllowed):
        d.room.submit_review(MAIN_HOST, marks(d.room))
    with pytest.raises(NotAllowed):
        d.room.start_scoring(MAIN_HOST)


def test_a_bidder_the_majority_fails_in_compliance_leaves_scoring_with_its_reasons() -> None:
    d = in_review()
    for m in d.members:
        d.room.submit_review(m, marks(d.room))
    assert d.room.to_state()["stages"][-1]["stage"] == "compliance"  # the next stage started
    members = d.members
    for n, m in enumerate(members):
        fail = {"B002.c_term": f"工期不满足{n}"} if n < 3 else {}  # 3 of 5 fail B002
        if n == 4:
            fail = {"B001.c_bond": "未交保证金"}  # 1 of 5 fails B001: it passes
        d.room.submit_review(m, marks(d.room, fail))
    snap = d.room.snapshot(SUPERVISOR)
    stage = snap["stages"][-1]
    assert stage["is_concluded"] and stage["passed"] == ["B001"]
    assert [f["item_id"] for f in stage["failed"]["B002"]] == ["c_term"]
    d.room.start_scoring(MAIN_HOST)
    assert d.room.phase is Phase.SCORING
    assert d.room.snapshot(members[0])["scoring_bidders"] == ["B001"]
    for m in members:
        d.room.submit_sheet(m, {"B001": {"tech": "40", "service": "15"}})
    results = d.room.results()
    assert results is not None
    assert [b.bidder_code for b in results.bidders] == ["B001"]
    excluded = {e.bidder_code: e for e in results.excluded}
    assert excluded["B002"].stage == "compliance"
    assert any("工期不满足0" in r for r in excluded["B002"].reasons)
    d.to(Phase.SIGNING)
    review = d.room.report_body()["review"]
    assert review[1]["failed"][0]["bidder_code"] == "B002"
    assert review[1]["failed"][0]["fails"] == 3


def test_under_two_thirds_three_fails_of_five_do_not_fail_a_bidder() -> None:
    d = in_review("two_thirds")
    for n, m in enumerate(d.members):
        d.room.submit_review(m, marks(d.room, {"B002.q_licence": "过期"} if n < 3 else {}))
    assert d.room.snapshot(SUPERVISOR)["stages"][0]["passed"] == ["B001", "B002"]


def test_nobody_sees_another_members_marks_and_the_review_is_only_in_its_phase() -> None:
    d = in_review()
    a, b = d.members[0], d.members[1]
    d.room.submit_review(a, marks(d.room, {"B001.q_licence": "缺失"}))
    other = d.room.snapshot(b)["stages"][0]
    assert other["my_marks"] is None and other["failed"] is None
    assert other["submitted"] == [d.room.participant(a).alias]
    d2 = RoomDriver(form=staged_form())
    d2.to(Phase.LEADER_ELECTION)
    with pytest.raises(IllegalTransition):
        d2.room.submit_review(d2.members[0], {})


def test_old_states_without_stages_or_reasons_still_load() -> None:
    d = RoomDriver()
    d.to(Phase.SCORING)
    state = d.room.to_state()
    del state["stages"]
    for item in state["form"]["items"]:
        del item["category"], item["criteria"], item["by_committee"]
    room = EvaluationRoom.from_state(state, d.clock)
    assert room.snapshot(SUPERVISOR)["stages"] == []


def low_room() -> RoomDriver:
    settings = RoomSettings(scoring=replace(ScoringSettings(), low_score_reason_pct=Decimal(60)))
    d = RoomDriver(settings=settings)
    d.to(Phase.SCORING)
    return d


def test_a_score_below_the_share_of_its_maximum_needs_a_short_reason() -> None:
    d = low_room()
    m = d.members[0]
    low = uniform_sheet(tech="20")  # tech maximum 50: 20 < 60 % of 50
    with pytest.raises(InvalidScore) as err:
        d.room.submit_sheet(m, low)
    assert err.value.fields == {"B001.tech.reason": "required", "B002.tech.reason": "required"}
    assert d.room.snapshot(m)["my_sheet"] is None  # the refused submission saved nothing
    reasons = {"B001": {"tech": "方案不完整"}, "B002": {"tech": "缺少进度计划"}}
    d.room.submit_sheet(m, low, reasons)
    assert d.room.snapshot(d.members[1])["low_score_reasons"] is None  # hidden before all submit
    d.submit_all()
    shown = d.room.snapshot(d.members[1])["low_score_reasons"]
    assert {(r["member"], r["bidder_code"], r["reason"]) for r in shown} == {
        ("专家1", "B001", "方案不完整"),
        ("专家1", "B002", "缺少进度计划"),
    }


def test_a_score_at_the_share_needs_no_reason_and_no_rule_asks_for_none() -> None:
    d = low_room()
    d.room.submit_sheet(d.members[0], uniform_sheet(tech="30"))  # exactly 60 % of 50
    d2 = RoomDriver()
    d2.to(Phase.SCORING)
    d2.room.submit_sheet(d2.members[0], uniform_sheet(tech="0"))


def test_a_member_replaced_during_the_review_leaves_void_marks_the_new_one_reviews() -> None:
    d = in_review()
    first, *others = d.members
    d.room.submit_review(first, marks(d.room, {"B002.q_licence": "过期"}))
    for m in others[:-1]:
        d.room.submit_review(m, marks(d.room))
    spec = ParticipantSpec("e9", "u_e9", "新专家", Role.EXPERT, "gz")
    d.remove(first, spec)
    assert d.room.phase is Phase.REVIEW
    d.room.submit_review(others[-1], marks(d.room))
    assert d.room.to_state()["stages"][0]["concluded_at"] is None  # e9 has not reviewed
    d.check_in("e9")
    d.room.submit_review("e9", marks(d.room))
    stage = d.room.snapshot(SUPERVISOR)["stages"][0]
    assert stage["is_concluded"] and stage["passed"] == ["B001", "B002"]
    assert d.room.participant("e9").alias not in (None, "")
