"""The replacement order of draw-v1 §9."""

from __future__ import annotations

import pytest

from draw import (
    DrawRequest,
    DrawResult,
    GroupResult,
    InvalidInput,
    SkipReason,
    next_invitee,
    redraw_exclusions,
)

from .conftest import make_group_json, make_request_json

REQUEST = DrawRequest.from_json(
    make_request_json(
        distinct_employers=True,
        excluded_experts=["E90"],
        groups=[
            make_group_json(id="tech", count=2, backups=4),
            make_group_json(id="cost", count=1, backups=2),
        ],
    )
)
RESULT = DrawResult(
    attempt=0,
    groups=(
        GroupResult("tech", ("E01", "E02"), ("E03", "E04", "E05", "E06")),
        GroupResult("cost", ("E07",), ("E03", "E08")),
    ),
)
EMPLOYERS = {
    "E01": "ORG1",
    "E02": "",
    "E03": "ORG3",
    "E04": "ORG1",
    "E05": "",
    "E06": "ORG6",
    "E07": "ORG7",
    "E08": "ORG3",
}


def test_the_first_backup_is_invited_when_nothing_stands_in_the_way() -> None:
    replacement = next_invitee(
        REQUEST,
        RESULT,
        "tech",
        EMPLOYERS,
        invited={"E01", "E02", "E07"},
        holding={"E02", "E07"},
        removed={"E01"},
    )
    assert replacement.invitee == "E03"
    assert replacement.skipped == ()


def test_backups_are_skipped_with_their_reasons_in_rank_order() -> None:
    # E01 declined (removed), so ORG1 is free again; E03 was already invited for cost.
    replacement = next_invitee(
        REQUEST,
        RESULT,
        "tech",
        EMPLOYERS,
        invited={"E01", "E02", "E07", "E03"},
        holding={"E02", "E07", "E03", "E01"},
        unavailable={"E05"},
    )
    assert [(s.expert_id, s.reason) for s in replacement.skipped] == [
        ("E03", SkipReason.ALREADY_INVITED),
        ("E04", SkipReason.SHARED_EMPLOYER),  # E01 still holds a seat with ORG1
        ("E05", SkipReason.UNAVAILABLE),
    ]
    assert replacement.invitee == "E06"


def test_an_employer_clash_is_ignored_when_distinct_employers_is_false() -> None:
    request = DrawRequest.from_json({**REQUEST.to_json(), "distinct_employers": False})
    replacement = next_invitee(
        request,
        RESULT,
        "tech",
        EMPLOYERS,
        invited={"E01", "E02", "E07", "E03"},
        holding={"E01", "E02"},
    )
    assert replacement.invitee == "E04"


def test_a_removed_expert_is_never_invited_again_and_frees_the_employer() -> None:
    replacement = next_invitee(
        REQUEST,
        RESULT,
        "cost",
        EMPLOYERS,
        invited={"E01", "E02", "E07"},
        holding={"E01", "E02", "E03"},
        removed={"E03"},
    )
    assert [(s.expert_id, s.reason) for s in replacement.skipped] == [("E03", SkipReason.REMOVED)]
    assert replacement.invitee == "E08"  # ORG3 no longer holds a seat


def test_exhausted_backups_return_no_invitee_and_the_exclusions_for_a_new_draw() -> None:
    invited = {"E07", "E03", "E08"}
    replacement = next_invitee(REQUEST, RESULT, "cost", EMPLOYERS, invited=invited, holding=set())
    assert replacement.invitee is None and replacement.is_exhausted
    assert len(replacement.skipped) == 2
    assert redraw_exclusions(REQUEST, invited) == ("E03", "E07", "E08", "E90")


def test_an_unknown_group_or_missing_employer_is_refused() -> None:
    with pytest.raises(InvalidInput):
        next_invitee(REQUEST, RESULT, "legal", EMPLOYERS, invited=set(), holding=set())
    with pytest.raises(InvalidInput):
        next_invitee(REQUEST, RESULT, "tech", {}, invited=set(), holding={"E01"})
