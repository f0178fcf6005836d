"""Batches: outside its window an application waits, and the expert sees until when."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from expertpool.core.errors import Conflict
from expertpool.experts import review
from expertpool.experts.models import ExpertStatus
from tests.integration.entry.conftest import GUANGDONG

pytestmark = pytest.mark.integration

JULY = datetime(2026, 7, 10, 2, 0, tzinfo=UTC)


def test_an_application_of_july_waits_for_the_december_batch(
    db_session: Any, applicant: Any, make_user: Any, submitted_on: Any
) -> None:
    _, expert = applicant(specialties=["A010102"], home_region="440100")
    submitted_on(expert, JULY)
    housing = make_user(role="reviewer", department="440100-housing")
    in_july = review.queue(db_session, reviewer=housing, entry_rules=GUANGDONG, today=JULY.date())
    assert in_july.total == 0
    with pytest.raises(Conflict) as info:
        review.decide(
            db_session,
            reviewer=housing,
            expert_id=expert.id,
            decision="approve",
            entry_rules=GUANGDONG,
            today=JULY.date(),
        )
    assert info.value.code == "batch_not_open"
    db_session.rollback()
    december = datetime(2026, 12, 1).date()
    assert [
        e.id
        for e in review.queue(
            db_session, reviewer=housing, entry_rules=GUANGDONG, today=december
        ).items
    ] == [expert.id]
    review.decide(
        db_session,
        reviewer=housing,
        expert_id=expert.id,
        decision="approve",
        entry_rules=GUANGDONG,
        today=december,
    )
    assert expert.status is ExpertStatus.UNDER_REVIEW


def test_an_application_submitted_inside_a_window_is_reviewed_in_it(
    db_session: Any, applicant: Any, make_user: Any, submitted_on: Any
) -> None:
    _, expert = applicant(specialties=["A010102"], home_region="440100")
    submitted_on(expert, datetime(2026, 6, 20, 2, 0, tzinfo=UTC))
    housing = make_user(role="reviewer", department="440100-housing")
    june = datetime(2026, 6, 21).date()
    assert review.queue(db_session, reviewer=housing, entry_rules=GUANGDONG, today=june).total == 1


def test_the_expert_and_the_record_page_show_the_batch_it_waits_for(
    client: FlaskClient,
    applicant: Any,
    make_user: Any,
    login: Any,
    guangdong: Any,
    submitted_on: Any,
) -> None:
    user, expert = applicant(specialties=["A010102"], home_region="440100")
    guangdong(datetime(2026, 7, 15, 2, 0, tzinfo=UTC))
    submitted_on(expert, JULY)
    login(client, user)
    page = client.get("/experts/me").get_data(as_text=True)
    assert 'data-testid="batch-wait"' in page
    assert "2026-12-01" in page and "2026-12-31" in page
    housing = make_user(role="reviewer", department="440100-housing")
    login(client, housing)
    assert f'/experts/{expert.id}"' not in client.get("/experts/review").get_data(as_text=True)
    record = client.get(f"/experts/{expert.id}").get_data(as_text=True)
    assert 'data-testid="decision-form"' not in record
    assert 'data-testid="batch-wait"' in record
