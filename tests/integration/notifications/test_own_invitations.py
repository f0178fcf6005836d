"""An expert's home page shows their own invitations and history, never another expert's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from expertpool.accounts.models import User
from expertpool.core.pii import PiiCipher
from expertpool.demo import experts as expert_demo
from expertpool.experts import accounts
from expertpool.experts.models import Expert
from expertpool.notifications import invitations
from expertpool.notifications.models import InvitationState
from expertpool.notifications.notifier import services_of

pytestmark = pytest.mark.integration


def _invite(app: Flask, expert: Expert, rank: int, venue: str) -> Any:
    session = app.extensions["expertpool"].sessions()
    invitation = invitations.enqueue_invitation(
        session,
        draw_id="D-own",
        group_id="G",
        expert_id=expert.id,
        rank=rank,
        phone=f"+861340000000{rank}",
        expert_name=expert.name,
        venue=venue,
        starts_at=datetime(2026, 12, 20, 1, 30, tzinfo=UTC),
        ctx=services_of(app).ctx,
    )
    session.commit()
    return invitation


def test_an_expert_sees_their_own_invitations_and_no_one_elses(
    app: Flask, db_session: Any, login: Any
) -> None:
    st = app.extensions["expertpool"]
    expert_demo.create_experts(db_session, cipher=PiiCipher.from_keys(st.keys), count=3, seed=8)
    accounts.create_missing_accounts(db_session, actor="test")
    first, second, third = db_session.execute(select(Expert).order_by(Expert.id)).scalars()
    _invite(app, first, 1, "第一会场甲")
    answered = _invite(app, second, 2, "第二会场乙")
    invitations.move(
        db_session,
        db_session.get(type(answered), answered.id),
        InvitationState.DECLINED,
        now=datetime.now(UTC),
        ctx=services_of(app).ctx,
        via="sms",
    )
    db_session.commit()

    def home(expert: Expert) -> str:
        user = db_session.get(User, expert.user_id)
        return login(app.test_client(), user).get("/dashboard").get_data(as_text=True)

    mine = home(first)
    assert "第一会场甲" in mine and "第二会场乙" not in mine
    assert 'data-invitation-state="queued"' in mine
    theirs = home(second)
    assert "第二会场乙" in theirs and "第一会场甲" not in theirs
    history = theirs.split('data-testid="my-history"', 1)[1]
    assert "第二会场乙" in history and 'data-invitation-state="declined"' in history
    nobody = home(third)
    assert "会场" not in nobody and "data-invitation-state" not in nobody


def test_staff_dashboards_are_unchanged(app: Flask, make_user: Any, login: Any) -> None:
    page = login(app.test_client(), make_user(role="reviewer")).get("/dashboard")
    assert page.status_code == 200
    assert 'data-testid="my-invitations"' not in page.get_data(as_text=True)
