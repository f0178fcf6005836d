"""The demo's entry step: a batch in publicity with one objection pending, a recommended
applicant in the housing bureau's queue."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from expertpool.accounts.models import User
from expertpool.demo import actors
from expertpool.demo import entry as demo_entry
from expertpool.demo.accounts import ensure_accounts
from expertpool.demo.context import DemoContext
from expertpool.experts import publicity, review
from expertpool.experts.models import EntryState, Expert, ExpertStatus
from expertpool.notifications.notifier import services_of
from tests.integration.entry.conftest import GUANGDONG

pytestmark = pytest.mark.integration


def test_the_demo_has_a_batch_in_publicity_an_objection_and_a_recommended_applicant(
    app: Flask, db_session: Any
) -> None:
    st = app.extensions["expertpool"]
    ctx = DemoContext(
        config=st.config, keys=st.keys, notify=services_of(app).ctx, sessions=st.sessions
    )
    ensure_accounts(db_session)
    actors.departments_step(db_session, ctx, 1, {})
    line = demo_entry.demo_step(db_session, ctx, 1, {})
    assert "1 objection open" in line
    assert demo_entry.demo_step(db_session, ctx, 1, {}) == "already present"
    published = publicity.published(db_session)
    assert len(published) == 3
    assert len(publicity.open_objections(db_session)) == 1
    recommended = db_session.execute(
        select(Expert)
        .join(EntryState, EntryState.expert_id == Expert.id)
        .where(EntryState.recommended_by != "", Expert.status == ExpertStatus.SUBMITTED)
    ).scalar_one()
    housing = db_session.execute(select(User).where(User.username == "reviewer.gz")).scalar_one()
    queue = review.queue(db_session, reviewer=housing, entry_rules=GUANGDONG)
    assert recommended.id in [e.id for e in queue.items]
