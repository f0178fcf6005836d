"""Demo experts: valid identifiers, real codes, every lifecycle state, searchable."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from expertpool.core.calendar import cst_date
from expertpool.core.db import utcnow
from expertpool.demo import experts as expert_demo
from expertpool.demo import pool as pool_demo
from expertpool.demo.context import DemoContext
from expertpool.experts import identity, records
from expertpool.experts import search as expert_search
from expertpool.experts.models import Expert, ExpertSpecialty, ExpertStatus
from expertpool.experts.pool_rules import load_pool_rules
from expertpool.notifications.notifier import services_of
from expertpool.reference.models import Specialty
from expertpool.training.models import TrainingLapse, TrainingRecord

pytestmark = pytest.mark.integration


def test_demo_experts_are_valid_cover_every_state_and_share_employers(
    db_session: Any, cipher: Any
) -> None:
    expert_demo.create_experts(db_session, cipher=cipher, count=400, seed=7)
    rows = list(db_session.execute(select(Expert)).scalars())
    assert len(rows) == 400
    # Applications in publicity come from the entry step (demo/entry.py), with their period.
    assert {e.status for e in rows} == set(ExpertStatus) - {ExpertStatus.IN_PUBLICITY}
    for e in rows[:50]:
        pii = records.clear_pii(e, cipher)
        assert identity.check_id_number(pii["id_number"], e.created_at.date())[1] == e.birth_date
        assert identity.check_mobile(pii["phone"]) == pii["phone"]
        assert identity.check_credit_code(e.employer_code) == e.employer_code
    levels = set(
        db_session.execute(
            select(Specialty.level).join(ExpertSpecialty, ExpertSpecialty.code == Specialty.code)
        ).scalars()
    )
    assert levels <= {3, 4}
    shared = db_session.execute(
        select(func.count()).select_from(
            select(Expert.employer_code)
            .group_by(Expert.employer_code)
            .having(func.count() > 1)
            .subquery()
        )
    ).scalar_one()
    assert shared > 10
    assert expert_search.search(db_session, city="440606").total > 0


def test_demo_is_deterministic_for_a_seed(db_session: Any, cipher: Any) -> None:
    expert_demo.create_experts(db_session, cipher=cipher, count=30, seed=11)
    first = [
        (e.name, e.birth_date, e.employer_code, e.status)
        for e in db_session.execute(select(Expert).order_by(Expert.id)).scalars()
    ]
    from flask import current_app

    from tests.conftest import clean_database

    clean_database(current_app._get_current_object())  # type: ignore[attr-defined]
    expert_demo.create_experts(db_session, cipher=cipher, count=30, seed=11)
    second = [
        (e.name, e.birth_date, e.employer_code, e.status)
        for e in db_session.execute(select(Expert).order_by(Expert.id)).scalars()
    ]
    assert first == second


def test_the_demo_pool_shows_terms_training_and_lapses_in_each_state(
    app: Any, db_session: Any, cipher: Any
) -> None:
    expert_demo.create_experts(db_session, cipher=cipher, count=400, seed=7)
    st = app.extensions["expertpool"]
    ctx = DemoContext(
        config=st.config, keys=st.keys, notify=services_of(app).ctx, sessions=st.sessions
    )
    assert "training records" in pool_demo.run_step(db_session, ctx, 7, {})
    assert pool_demo.run_step(db_session, ctx, 7, {}) == "already present"  # safe to run twice
    today = cst_date(utcnow())
    window = timedelta(days=load_pool_rules().renewal_window_days)
    in_pool = (ExpertStatus.ACTIVE, ExpertStatus.ON_LEAVE, ExpertStatus.SUSPENDED)
    terms = [
        e.term_ends_on
        for e in db_session.execute(select(Expert).where(Expert.status.in_(in_pool))).scalars()
    ]
    assert all(t is not None for t in terms)
    assert any(t < today for t in terms)  # over: undrawable until renewed
    assert any(today <= t <= today + window for t in terms)  # renewal window open
    assert any(t > today + window for t in terms)
    outcomes = set(db_session.execute(select(TrainingLapse.outcome)).scalars())
    assert outcomes == {"suspended", "removed"}
    assert db_session.execute(select(func.count()).select_from(TrainingRecord)).scalar_one() > 100
