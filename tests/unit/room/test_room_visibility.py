"""Who sees what: aliases, names per venue, and independence of subjective scores."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from evaluation_room.errors import RoomError
from evaluation_room.model import ParticipantSpec, Phase, Role
from evaluation_room.room import EvaluationRoom
from evaluation_room.scoring import ItemKind, ScoreForm, ScoreItem
from tests.unit.room.support import (
    MAIN_HOST,
    SECONDARY_HOST,
    SUPERVISOR,
    RoomDriver,
    uniform_sheet,
)


def names_in(snapshot: dict[str, Any]) -> set[str]:
    return {m["name"] for m in snapshot["members"] if "name" in m}


def text(snapshot: dict[str, Any]) -> str:
    return json.dumps(snapshot, ensure_ascii=False)


def test_before_opening_nobody_sees_another_members_name_or_other_venues() -> None:
    d = RoomDriver()
    assert names_in(d.room.snapshot(SUPERVISOR)) == set()
    assert names_in(d.room.snapshot(MAIN_HOST)) == set()
    host = d.room.snapshot(SECONDARY_HOST)
    assert [v["venue_id"] for v in host["venues"]] == ["sz"]
    assert {m["venue_id"] for m in host["members"]} == {"sz"}
    assert host["bids"] is None
    expert = d.room.snapshot("e1")
    assert [m["alias"] for m in expert["members"]] == ["专家1"]
    assert names_in(expert) == {"姓名e1"}


def test_after_opening_hosts_see_names_at_their_venue_and_supervisors_see_all() -> None:
    d = RoomDriver()
    d.to(Phase.OPENED)
    assert names_in(d.room.snapshot(MAIN_HOST)) == {"姓名e1", "姓名e2", "姓名e3"}
    assert names_in(d.room.snapshot(SECONDARY_HOST)) == {"姓名e4", "姓名r1"}
    assert names_in(d.room.snapshot(SUPERVISOR)) == {
        f"姓名{m}" for m in ("e1", "e2", "e3", "e4", "r1")
    }


def test_members_see_each_other_only_as_aliases() -> None:
    d = RoomDriver()
    d.to(Phase.ARCHIVED)
    snap = d.room.snapshot("e2")
    assert [m["alias"] for m in snap["members"]] == [f"专家{i}" for i in range(1, 6)]
    assert names_in(snap) == {"姓名e2"}
    blob = text(snap)
    for other in ("e1", "e3", "e4", "r1"):
        assert f"姓名{other}" not in blob
        assert f'"{other}"' not in blob and f"u_{other}" not in blob
    assert all("role" not in m for m in snap["members"])


def test_aliases_follow_venue_then_seat_order() -> None:
    d = RoomDriver()
    snap = d.room.snapshot(SUPERVISOR)
    assert [(m["alias"], m["participant_id"]) for m in snap["members"]] == [
        ("专家1", "e1"),
        ("专家2", "e2"),
        ("专家3", "e3"),
        ("专家4", "e4"),
        ("专家5", "r1"),
    ]


def test_hosts_and_supervisors_see_no_subjective_score_until_all_have_submitted() -> None:
    d = RoomDriver()
    d.to(Phase.SCORING)
    for m in d.members[:-1]:
        d.room.submit_sheet(m, uniform_sheet(tech="37.5"))
    for viewer in (MAIN_HOST, SECONDARY_HOST, SUPERVISOR, *d.members):
        snap = d.room.snapshot(viewer)
        assert snap["scores"] is None and snap["results"] is None and snap["flags"] is None
    for viewer in (MAIN_HOST, SECONDARY_HOST, SUPERVISOR, d.members[-1]):
        assert '"37.5"' not in text(d.room.snapshot(viewer))
    d.room.submit_sheet(d.members[-1], uniform_sheet(tech="37.5"))
    snap = d.room.snapshot(SECONDARY_HOST)
    assert snap["scores"]["专家1"]["B001"]["tech"] == "37.5"
    assert snap["results"]["candidates"] == ["B002", "B001"]


def test_objective_price_scores_are_visible_to_everyone_during_scoring() -> None:
    d = RoomDriver()
    d.to(Phase.SCORING)
    assert d.room.snapshot("e1")["objective"] == {
        "B001": {"price": "28.50"},
        "B002": {"price": "30.00"},
    }


# --- independence property ------------------------------------------------------------------

BIG_FORM = ScoreForm(
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
        ScoreItem("tech", "技术", ItemKind.SUBJECTIVE, Decimal(0), Decimal(1000), Decimal("0.01")),
    )
)


def signature_value(alias_number: int, salt: int) -> str:
    """A score no other member (and no other field) can produce: 5AA.SS with AA = alias number."""
    return f"{500 + alias_number * 20 + salt % 20}.{(alias_number * 7 + salt) % 89 + 10:02d}"


def sheet_for(room: EvaluationRoom, member: str, salt: int) -> dict[str, dict[str, str]]:
    n = room.participant(member).alias_number or 0
    return {b: {"tech": signature_value(n, salt + i)} for i, b in enumerate(("B001", "B002"))}


def all_values(room: EvaluationRoom) -> dict[str, set[str]]:
    """Every subjective value ever given, by member (including voided and revised ones)."""
    out: dict[str, set[str]] = {}
    for member, sheet in room.to_state()["sheets"].items():
        for items in sheet["entries"].values():
            for versions in items.values():
                out.setdefault(member, set()).update(v["value"] for v in versions)
    return out


# Submissions are weighted up so that many runs reach deviation review and beyond.
ACTIONS = [
    "enter",
    "submit",
    "submit",
    "rest",
    "replace",
    "pause",
    "resume",
    "revise",
    "revise",
    "explain",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.sampled_from(ACTIONS), st.integers(0, 9), st.integers(0, 99)),
        min_size=5,
        max_size=40,
    )
)
def test_no_one_sees_anothers_subjective_scores_before_they_may(
    steps: list[tuple[str, int, int]],
) -> None:
    d = RoomDriver(form=BIG_FORM)
    d.to(Phase.SCORING)
    room = d.room
    spare = 0
    reached: set[str] = set()
    for action, who, salt in steps:
        state = room.to_state()
        members = d.members
        m = members[who % len(members)]
        try:
            if action == "enter":
                room.enter_scores(m, {"B001": sheet_for(room, m, salt)["B001"]})
            elif action == "submit":
                room.submit_sheet(m, sheet_for(room, m, salt))
            elif action == "rest":  # everyone still scoring submits, checked one by one
                for other in members:
                    snap = room.snapshot(other)["my_sheet"]
                    if not (snap and snap["submitted_at"]):
                        room.submit_sheet(other, sheet_for(room, other, salt))
                        check_independence(room)
            elif action == "replace":
                spare += 1
                pid = f"x{spare}"
                d.remove(m, ParticipantSpec(pid, f"u_{pid}", pid, Role.EXPERT, "gz"))
                d.check_in(pid)
            elif action == "pause":
                room.pause(SECONDARY_HOST, "断网")
            elif action == "resume":
                room.resume(MAIN_HOST)
            elif action == "revise":
                n = room.participant(m).alias_number or 0
                room.revise_score(m, "B002", "tech", signature_value(n, salt), "复核")
            elif action == "explain":
                for f in room.snapshot(m)["flags"] or []:
                    if f["flag_id"]:
                        room.explain_deviation(m, f["flag_id"], "理由")
        except RoomError:
            # A refused command is never saved: continue from the last saved state.
            room = d.room = EvaluationRoom.from_state(state, d.clock)
            continue
        room = d.room = EvaluationRoom.from_state(room.to_state(), d.clock)
        check_independence(room)
        reached.add(room.effective_phase.value)
    event(f"reached deviation review: {'deviation_review' in reached}")


def check_independence(room: EvaluationRoom) -> None:
    values = all_values(room)
    state = room.to_state()
    everyone_in = room.effective_phase is not Phase.SCORING
    for p in state["participants"]:
        viewer = p["participant_id"]
        sheet = state["sheets"].get(viewer)
        has_submitted = bool(sheet and sheet["submitted_at"] and not sheet["voided_at"])
        is_active_member = p["role"] in ("expert", "representative") and p["status"] == "active"
        may_see = everyone_in and (
            (is_active_member and has_submitted) or p["role"] in ("host", "supervisor")
        )
        if may_see:
            continue
        blob = text(room.snapshot(viewer))
        for owner, vals in values.items():
            if owner == viewer:
                continue
            leaked = [v for v in vals if f'"{v}"' in blob]
            assert not leaked, (viewer, owner, leaked, room.phase)


def test_asking_for_scores_early_is_refused_for_hosts_and_members_alike() -> None:
    from evaluation_room.errors import ScoresHidden

    d = RoomDriver()
    d.to(Phase.SCORING)
    d.room.submit_sheet("e1", uniform_sheet())
    for viewer in (MAIN_HOST, SUPERVISOR, "e1", "e2"):
        with pytest.raises(ScoresHidden):
            d.room.visible_scores(viewer)
    d.submit_all()
    assert d.room.visible_scores(SECONDARY_HOST)["专家5"]["B002"]["service"] == "15"
