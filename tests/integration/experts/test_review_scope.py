"""Reviewers belong to a department and see and decide only applications in its field and region."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from expertpool.core.errors import Forbidden
from expertpool.experts import review
from expertpool.experts.models import ExpertStatus
from tests.conftest import csrf_token

pytestmark = pytest.mark.integration

# A Guangzhou applicant in road planning (works, A): who may decide?
CASES = [
    ("440100-housing", True),  # the city's housing bureau: works, Guangzhou
    ("440000-housing", True),  # the province's housing department covers every city
    ("440000-coordination", True),  # the province's coordinating department covers everything
    ("440300-housing", False),  # another city
    ("440100-procurement", False),  # another field (goods and services)
]


@pytest.mark.parametrize(("department", "allowed"), CASES)
def test_a_reviewer_decides_only_within_their_department(
    db_session: Any, applicant: Any, make_user: Any, department: str, allowed: bool
) -> None:
    _, expert = applicant(specialties=["A010102"], home_region="440100")
    reviewer = make_user(role="reviewer", department=department)
    listed = review.queue(db_session, reviewer=reviewer).items
    assert (expert in listed) is allowed
    if allowed:
        review.decide(db_session, reviewer=reviewer, expert_id=expert.id, decision="approve")
        assert expert.status is ExpertStatus.ACTIVE
    else:
        with pytest.raises(Forbidden) as info:
            review.decide(db_session, reviewer=reviewer, expert_id=expert.id, decision="approve")
        assert info.value.code == "outside_department"
        db_session.rollback()
        assert expert.status is ExpertStatus.SUBMITTED


def test_a_reviewer_without_a_department_sees_and_decides_nothing(
    db_session: Any, applicant: Any, make_user: Any
) -> None:
    _, expert = applicant()
    reviewer = make_user(role="reviewer", department=None)
    assert review.queue(db_session, reviewer=reviewer).total == 0
    with pytest.raises(Forbidden):
        review.decide(db_session, reviewer=reviewer, expert_id=expert.id, decision="approve")


def test_a_goods_applicant_falls_to_procurement_not_housing(
    db_session: Any, applicant: Any, make_user: Any
) -> None:
    _, expert = applicant(specialties=["B0201"], home_region="440300")
    housing = make_user(role="reviewer", department="440000-housing")
    procurement = make_user(role="reviewer", department="440300-procurement")
    assert review.queue(db_session, reviewer=housing).total == 0
    assert [e.id for e in review.queue(db_session, reviewer=procurement).items] == [expert.id]


def test_the_pages_and_the_api_refuse_a_reviewer_of_another_region(
    client: FlaskClient, app: Any, applicant: Any, make_user: Any, login: Any, db_session: Any
) -> None:
    from expertpool.accounts import users

    _, expert = applicant(home_region="440100")
    other = make_user(role="reviewer", department="440300-housing")
    login(client, other)
    queue = client.get("/experts/review").get_data(as_text=True)
    assert f"/experts/{expert.id}" not in queue
    path = f"/experts/{expert.id}"
    resp = client.post(path, data={"csrf_token": csrf_token(client, path), "action": "approve"})
    assert resp.status_code == 403
    token = users.issue_token(db_session, other, 1)[0]
    resp = app.test_client().post(
        f"/api/experts/{expert.id}/decision",
        json={"decision": "approve"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert resp.status_code == 403
    assert resp.get_json()["error"]["code"] == "outside_department"
    db_session.refresh(expert)
    assert expert.status is ExpertStatus.SUBMITTED
