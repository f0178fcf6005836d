"""At check-in the conflict check runs again on current records (a new conflict removes the
member).
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from flask import Flask

from evaluation_room.model import MemberRef, Role
from expertpool.experts.models import AvoidanceKind, Expert, ExpertAvoidance, ExpertStatus
from expertpool.rooms.conflicts import ProjectConflictChecker
from expertpool.rooms.models import EvaluationSession
from tests.integration.draws.conftest import BIDDERS, Setup, add_experts

pytestmark = pytest.mark.integration


def _checker(app: Flask) -> ProjectConflictChecker:
    st = app.extensions["expertpool"]
    return ProjectConflictChecker(st.sessions, lookback_years=st.config.conflict_lookback_years)


def _member(app: Flask, setup: Setup, make_user: Any, **expert: Any) -> tuple[str, MemberRef]:
    session = setup.session
    user = make_user(role="expert")
    (expert_id,) = add_experts(app, 1, start=900 + user.id)
    row = session.get(Expert, expert_id)
    row.user_id = user.id
    for key, value in expert.items():
        setattr(row, key, value)
    room_id = "r" + secrets.token_hex(6)
    session.add(
        EvaluationSession(
            room_id=room_id,
            project_id=setup.project_id,
            title="t",
            phase="scheduled",
            seq=0,
            state="{}",
            participant_count=0,
            created_by="test",
        )
    )
    session.commit()
    return room_id, MemberRef("p1", str(user.id), Role.EXPERT, "main")


def test_a_clean_expert_passes_the_check_again(app: Flask, setup: Setup, make_user: Any) -> None:
    room_id, member = _member(app, setup, make_user)
    assert _checker(app).find_conflict(room_id, member) is None


def test_an_expert_now_employed_by_a_bidder_is_found(
    app: Flask, setup: Setup, make_user: Any
) -> None:
    room_id, member = _member(app, setup, make_user, employer_code=BIDDERS[0])
    assert _checker(app).find_conflict(room_id, member) == "employer_conflict"


def test_a_new_declared_avoidance_or_a_suspension_is_found(
    app: Flask, setup: Setup, make_user: Any
) -> None:
    room_id, member = _member(app, setup, make_user)
    session = setup.session
    expert = session.query(Expert).filter(Expert.user_id == int(member.user_id)).one()
    session.add(
        ExpertAvoidance(
            expert_id=expert.id,
            org_code=BIDDERS[1],
            org_name="亲属单位",
            kind=AvoidanceKind.RELATIVE,
        )
    )
    session.commit()
    assert _checker(app).find_conflict(room_id, member) == "avoidance_conflict"
    expert.status = ExpertStatus.SUSPENDED
    session.commit()
    assert _checker(app).find_conflict(room_id, member) == "not_active"


def test_representatives_and_sessions_without_a_project_are_not_checked(
    app: Flask, setup: Setup, make_user: Any
) -> None:
    room_id, member = _member(app, setup, make_user, employer_code=BIDDERS[0])
    rep = MemberRef(member.participant_id, member.user_id, Role.REPRESENTATIVE, "main")
    assert _checker(app).find_conflict(room_id, rep) is None
    assert _checker(app).find_conflict("no-such-room", member) is None
