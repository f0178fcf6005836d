"""The review chain: the industry department, then the provincial pool office, an opinion at
each step; a return goes back to the applicant; each queue holds only its own step."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from expertpool.core.errors import Forbidden
from expertpool.experts import review
from expertpool.experts.models import EntryState, ExpertStatus, ReviewDecision
from tests.conftest import csrf_token
from tests.integration.entry.conftest import GUANGDONG, NOW

pytestmark = pytest.mark.integration


def _ids(session: Any, reviewer: Any) -> list[int]:
    return [
        e.id
        for e in review.queue(
            session, reviewer=reviewer, entry_rules=GUANGDONG, today=NOW.date()
        ).items
    ]


def test_an_application_passes_the_industry_department_then_the_pool_office(
    db_session: Any, applicant: Any, make_user: Any, submitted_on: Any
) -> None:
    _, expert = applicant(specialties=["A010102"], home_region="440100")
    submitted_on(expert, NOW)
    housing = make_user(role="reviewer", department="440100-housing")
    office = make_user(role="reviewer", department="440000-coordination")
    city_office = make_user(role="reviewer", department="440100-coordination")
    assert _ids(db_session, housing) == [expert.id]
    assert _ids(db_session, office) == []
    with pytest.raises(Forbidden) as info:
        review.decide(
            db_session,
            reviewer=office,
            expert_id=expert.id,
            decision="approve",
            entry_rules=GUANGDONG,
            today=NOW.date(),
        )
    assert info.value.code == "not_your_step"
    db_session.rollback()

    review.decide(
        db_session,
        reviewer=housing,
        expert_id=expert.id,
        decision="approve",
        opinion="资格符合",
        entry_rules=GUANGDONG,
        today=NOW.date(),
    )
    assert expert.status is ExpertStatus.UNDER_REVIEW
    assert db_session.get(EntryState, expert.id).step == 1
    assert _ids(db_session, housing) == []
    assert _ids(db_session, office) == [expert.id]
    assert _ids(db_session, city_office) == []
    with pytest.raises(Forbidden):
        review.decide(
            db_session,
            reviewer=housing,
            expert_id=expert.id,
            decision="approve",
            entry_rules=GUANGDONG,
            today=NOW.date(),
        )
    db_session.rollback()

    review.decide(
        db_session,
        reviewer=office,
        expert_id=expert.id,
        decision="approve",
        opinion="同意入库",
        entry_rules=GUANGDONG,
        today=NOW.date(),
    )
    assert expert.status is ExpertStatus.IN_PUBLICITY
    steps = [(d.step, d.opinion) for d in review.decisions(db_session, expert.id)]
    assert steps == [(0, "资格符合"), (1, "同意入库")]


def test_a_return_at_the_second_step_goes_back_to_the_applicant_and_restarts_the_chain(
    app: Any,
    db_session: Any,
    applicant: Any,
    make_user: Any,
    submitted_on: Any,
    cipher: Any,
    cfg: Any,
) -> None:
    from expertpool.experts import applications

    user, expert = applicant(specialties=["A010102"], home_region="440100")
    submitted_on(expert, NOW)
    housing = make_user(role="reviewer", department="440000-housing")
    office = make_user(role="reviewer", department="440000-coordination")
    review.decide(
        db_session,
        reviewer=housing,
        expert_id=expert.id,
        decision="approve",
        entry_rules=GUANGDONG,
        today=NOW.date(),
    )
    review.decide(
        db_session,
        reviewer=office,
        expert_id=expert.id,
        decision="return",
        opinion="请补充职称证书",
        entry_rules=GUANGDONG,
        today=NOW.date(),
    )
    assert expert.status is ExpertStatus.RETURNED
    assert db_session.get(EntryState, expert.id).step == 0
    applications.submit(db_session, cipher=cipher, config=cfg, actor=user, expert_id=expert.id)
    submitted_on(expert, NOW)
    assert _ids(db_session, housing) == [expert.id]
    assert _ids(db_session, office) == []


def test_the_expert_reads_the_opinion_of_the_step_that_returned_it(
    client: FlaskClient,
    db_session: Any,
    applicant: Any,
    make_user: Any,
    login: Any,
    guangdong: Any,
    submitted_on: Any,
) -> None:
    user, expert = applicant(specialties=["A010102"], home_region="440100")
    submitted_on(expert, NOW)
    housing = make_user(role="reviewer", department="440100-housing")
    login(client, housing)
    queue = client.get("/experts/review").get_data(as_text=True)
    assert f"/experts/{expert.id}" in queue
    path = f"/experts/{expert.id}"
    resp = client.post(
        path,
        data={"csrf_token": csrf_token(client, path), "action": "return", "opinion": "缺少业绩"},
    )
    assert resp.status_code == 302
    login(client, user)
    page = client.get("/experts/me").get_data(as_text=True)
    assert "缺少业绩" in page
    assert 'data-testid="my-status"' in page
    decision = db_session.query(ReviewDecision).filter_by(expert_id=expert.id).one()
    assert decision.step == 0


def test_the_single_rule_set_is_a_chain_of_one_step(
    db_session: Any, applicant: Any, make_user: Any
) -> None:
    _, expert = applicant()
    reviewer = make_user(role="reviewer")
    review.decide(db_session, reviewer=reviewer, expert_id=expert.id, decision="approve")
    assert expert.status is ExpertStatus.ACTIVE
    assert review.decisions(db_session, expert.id)[0].step == 0


def test_the_api_follows_the_chain_too(
    app: Any, db_session: Any, applicant: Any, make_user: Any, guangdong: Any, submitted_on: Any
) -> None:
    from expertpool.accounts import users

    _, expert = applicant(specialties=["A010102"], home_region="440100")
    submitted_on(expert, NOW)
    office = make_user(role="reviewer", department="440000-coordination")
    headers = {"Authorization": f"Bearer {users.issue_token(db_session, office, 1)[0]}"}
    client = app.test_client()
    queue = client.get("/api/v1/experts/review-queue", headers=headers).get_json()
    assert [row["id"] for row in queue["items"]] == []
    resp = client.post(
        f"/api/v1/experts/{expert.id}/decision", json={"decision": "approve"}, headers=headers
    )
    assert resp.status_code == 403, resp.get_data(as_text=True)
    assert "not_your_step" in resp.get_data(as_text=True), resp.get_data(as_text=True)
