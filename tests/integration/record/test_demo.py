"""The demo shows experts with ratings, credit events, a decided sanction, an objection and a
full archive."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from expertpool.demo import runner as demo
from expertpool.demo.context import DemoContext
from expertpool.experts.models import Expert
from expertpool.notifications.notifier import services_of
from expertpool.record import archive
from expertpool.record.credit_rules import load_credit_rules
from expertpool.record.models import (
    CreditEvent,
    Objection,
    Posting,
    Rating,
    Sanction,
    SanctionStatus,
)

pytestmark = pytest.mark.integration


def test_the_demo_rates_posts_sanctions_and_fills_an_archive(app: Flask) -> None:
    st = app.extensions["expertpool"]
    session = st.sessions()
    ctx = DemoContext(
        config=st.config, keys=st.keys, notify=services_of(app).ctx, sessions=st.sessions
    )
    lines = demo.run(session, ctx)
    assert "record: 3 sessions rated and posted, 1 sanction decided, 1 objection" in lines, [
        x for x in lines if x.startswith("record")
    ]
    assert session.execute(select(func.count()).select_from(Posting)).scalar_one() == 3
    assert session.execute(select(func.count()).select_from(Rating)).scalar_one() >= 15
    warned = session.execute(
        select(Sanction).where(Sanction.status == SanctionStatus.DECIDED)
    ).scalar_one()
    objection = session.execute(select(Objection)).scalar_one()
    rules = load_credit_rules()
    rated = archive.section_rows(
        archive.build(
            session,
            session.get(Expert, objection.expert_id),
            st.keys,
            rules,
            now=objection.created_at,
        )
    )
    for key in ("ratings", "facts", "credit", "objections", "sessions", "fees", "specialties"):
        assert rated[key].rows, key
    warned_archive = archive.section_rows(
        archive.build(
            session, session.get(Expert, warned.expert_id), st.keys, rules, now=objection.created_at
        )
    )
    assert warned_archive["sanctions"].rows and warned_archive["credit"].rows
    assert session.execute(
        select(CreditEvent).where(CreditEvent.expert_id == warned.expert_id)
    ).first()
    # running the demo again changes nothing
    assert "record: 0 sessions rated and posted, 0 sanction decided, 0 objection" in demo.run(
        session, ctx
    )
