"""Demo experts: valid identifiers, real codes, every lifecycle state, searchable."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from expertpool.demo import experts as expert_demo
from expertpool.experts import identity, records
from expertpool.experts import search as expert_search
from expertpool.experts.models import Expert, ExpertSpecialty, ExpertStatus
from expertpool.reference.models import Specialty

pytestmark = pytest.mark.integration


def test_demo_experts_are_valid_cover_every_state_and_share_employers(
    db_session: Any, cipher: Any
) -> None:
    expert_demo.create_experts(db_session, cipher=cipher, count=400, seed=7)
    rows = list(db_session.execute(select(Expert)).scalars())
    assert len(rows) == 400
    assert {e.status for e in rows} == set(ExpertStatus)
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
