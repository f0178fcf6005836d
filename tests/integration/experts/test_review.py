"""Reviewing: decisions, the lifecycle, races between reviewers and resubmissions, pending
changes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from expertpool.accounts import users
from expertpool.accounts.models import User
from expertpool.core.db import utcnow
from expertpool.core.errors import Conflict, Forbidden, TransitionRefused, ValidationFailed
from expertpool.core.models import AuditEntry
from expertpool.core.pii import PiiCipher
from expertpool.departments import members
from expertpool.experts import applications, evidence, records, review
from expertpool.experts.models import Expert, ExpertStatus, ReviewDecision
from tests.integration.experts.conftest import PDF, valid_input

pytestmark = pytest.mark.integration


def test_approval_makes_the_expert_active_and_records_the_decision(
    db_session: Any, applicant: Any, make_user: Any
) -> None:
    _, expert = applicant()
    reviewer = make_user(role="reviewer")
    review.decide(db_session, reviewer=reviewer, expert_id=expert.id, decision="approve")
    assert expert.status is ExpertStatus.ACTIVE
    (decision,) = review.decisions(db_session, expert.id)
    assert (decision.decision, decision.application_number) == ("approve", 1)
    assert any(e.end_on is None and e.org_code == expert.employer_code for e in expert.employments)


def test_return_and_reject_need_an_opinion(db_session: Any, applicant: Any, make_user: Any) -> None:
    _, expert = applicant()
    reviewer = make_user(role="reviewer")
    for decision in ("return", "reject"):
        with pytest.raises(ValidationFailed) as info:
            review.decide(
                db_session, reviewer=reviewer, expert_id=expert.id, decision=decision, opinion=" "
            )
        assert "opinion" in info.value.fields


def test_a_rejected_application_cannot_be_approved_later(
    db_session: Any, applicant: Any, make_user: Any
) -> None:
    _, expert = applicant()
    reviewer = make_user(role="reviewer")
    review.decide(
        db_session, reviewer=reviewer, expert_id=expert.id, decision="reject", opinion="职称不符"
    )
    with pytest.raises(TransitionRefused):
        review.decide(db_session, reviewer=reviewer, expert_id=expert.id, decision="approve")


def test_a_stale_version_is_a_conflict(db_session: Any, applicant: Any, make_user: Any) -> None:
    _, expert = applicant()
    reviewer = make_user(role="reviewer")
    with pytest.raises(Conflict):
        review.decide(
            db_session,
            reviewer=reviewer,
            expert_id=expert.id,
            decision="approve",
            expected_version=expert.version - 1,
        )


def test_only_reviewers_decide(db_session: Any, applicant: Any, make_user: Any) -> None:
    _, expert = applicant()
    with pytest.raises(Forbidden):
        review.decide(
            db_session,
            reviewer=make_user(role="centre_staff"),
            expert_id=expert.id,
            decision="approve",
        )


def test_the_queue_filters_by_city_and_specialty(db_session: Any, applicant: Any) -> None:
    applicant(home_region="440300", specialties=["A010103"])
    _, gz = applicant()
    assert review.queue(db_session).total == 2
    assert [e.id for e in review.queue(db_session, city="440100").items] == [gz.id]
    assert review.queue(db_session, specialty="A010103").total == 1
    assert review.queue(db_session, status="active").total == 0


def test_revealing_personal_data_needs_a_reason_and_is_audited(
    db_session: Any, applicant: Any, make_user: Any, cipher: PiiCipher
) -> None:
    _user, expert = applicant()
    reviewer = make_user(role="reviewer")
    with pytest.raises(ValidationFailed):
        review.reveal(db_session, cipher=cipher, user=reviewer, expert_id=expert.id, reason="")
    clear = review.reveal(
        db_session, cipher=cipher, user=reviewer, expert_id=expert.id, reason="核实身份证件"
    )
    assert clear["id_number"].endswith(records.clear_pii(expert, cipher)["id_number"][-4:])
    entry = db_session.execute(
        select(AuditEntry).where(AuditEntry.action == "expert.reveal_pii")
    ).scalar_one()
    assert entry.actor == reviewer.username and "核实身份证件" in entry.after
    with pytest.raises(Forbidden):
        review.reveal(
            db_session,
            cipher=cipher,
            user=make_user(role="centre_staff"),
            expert_id=expert.id,
            reason="好奇而已",
        )


def test_a_pending_change_applies_only_once_approved(
    db_session: Any, applicant: Any, make_user: Any, cfg: Any
) -> None:
    user, expert = applicant()
    reviewer = make_user(role="reviewer")
    review.decide(db_session, reviewer=reviewer, expert_id=expert.id, decision="approve")
    new_employer = valid_input()["employment"][0]["org_code"]
    change = review.propose_change(
        db_session,
        config=cfg,
        actor=user,
        expert_id=expert.id,
        data={"specialties": ["A010105"], "employer_code": new_employer, "employer_name": "新单位"},
    )
    assert expert.specialty_codes == ["A0101", "A010102"]
    with pytest.raises(Conflict):
        review.propose_change(
            db_session, config=cfg, actor=user, expert_id=expert.id, data={"title": "x"}
        )
    review.decide_change(db_session, reviewer=reviewer, change_id=change.id, approve=True)
    db_session.expire_all()
    fresh = db_session.get(Expert, expert.id)
    assert fresh.specialty_codes == ["A010105"]
    assert fresh.employer_code == new_employer
    assert [e.org_code for e in fresh.employments if e.end_on is None] == [new_employer]


def test_a_pending_change_with_bad_specialties_is_refused(
    db_session: Any, applicant: Any, make_user: Any, cfg: Any
) -> None:
    user, expert = applicant()
    review.decide(
        db_session, reviewer=make_user(role="reviewer"), expert_id=expert.id, decision="approve"
    )
    with pytest.raises(ValidationFailed) as info:
        review.propose_change(
            db_session, config=cfg, actor=user, expert_id=expert.id, data={"specialties": ["A"]}
        )
    assert "specialties" in info.value.fields


def test_suspension_needs_an_end_date_and_follows_the_lifecycle(
    db_session: Any, applicant: Any, make_user: Any
) -> None:
    _, expert = applicant()
    supervisor = make_user(role="supervisor")
    with pytest.raises(TransitionRefused):
        review.change_status(
            db_session,
            actor=supervisor,
            expert_id=expert.id,
            target="suspended",
            reason="违规",
            until=utcnow().date() + timedelta(days=30),
        )
    review.decide(
        db_session, reviewer=make_user(role="reviewer"), expert_id=expert.id, decision="approve"
    )
    with pytest.raises(ValidationFailed) as info:
        review.change_status(
            db_session, actor=supervisor, expert_id=expert.id, target="suspended", reason="违规"
        )
    assert "until" in info.value.fields
    review.change_status(
        db_session,
        actor=supervisor,
        expert_id=expert.id,
        target="suspended",
        reason="违规",
        until=utcnow().date() + timedelta(days=30),
    )
    review.change_status(
        db_session, actor=supervisor, expert_id=expert.id, target="removed", reason="严重违规"
    )
    with pytest.raises(TransitionRefused):
        review.change_status(
            db_session, actor=supervisor, expert_id=expert.id, target="active", reason="x"
        )


# Races --------------------------------------------------------------------------------------------


def _race(app: Flask, actions: list[Callable[[Any], Any]]) -> list[Any]:
    """Run each action in its own thread and session, started together; return results or errors."""
    barrier = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)

    def run(i: int) -> None:
        with app.app_context():
            sessions = app.extensions["expertpool"].sessions
            try:
                barrier.wait(5)
                results[i] = actions[i](sessions())
            except Exception as exc:
                results[i] = exc
            finally:
                sessions.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def _setup(app: Flask, n_reviewers: int = 2) -> tuple[Any, int, list[int], Any]:
    st = app.extensions["expertpool"]
    session = st.sessions()
    cipher = PiiCipher.from_keys(st.keys)
    tag = utcnow().strftime("%H%M%S%f")
    user = users.create_user(
        session,
        actor="test",
        username=f"exp{tag}",
        display_name="专家",
        password="password-123",
        role="expert",
    )
    expert = applications.ensure_record(session, user)
    applications.save_draft(
        session,
        cipher=cipher,
        config=st.config,
        actor=user,
        expert_id=expert.id,
        data=valid_input(int(tag[-3:])),
    )
    evidence.add_evidence(
        session,
        config=st.config,
        files=st.files,
        actor=user,
        expert_id=expert.id,
        filename="a.pdf",
        data=PDF,
    )
    applications.submit(session, cipher=cipher, config=st.config, actor=user, expert_id=expert.id)
    reviewers = [
        users.create_user(
            session,
            actor="test",
            username=f"rev{i}{tag}",
            display_name="审核",
            password="password-123",
            role="reviewer",
        ).id
        for i in range(n_reviewers)
    ]
    coordination = members.by_code(session, "440000-coordination").id
    for i in range(n_reviewers):
        members.assign(session, actor="test", username=f"rev{i}{tag}", department_id=coordination)
    return user, expert.id, reviewers, cipher


@pytest.fixture(params=["app", "pg_app"])
def any_app(request: pytest.FixtureRequest) -> Flask:
    """The suite's app (SQLite or PostgreSQL) and a scratch PostgreSQL app."""
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def test_two_reviewers_deciding_at_once_one_wins_the_other_gets_a_conflict(any_app: Flask) -> None:
    _, expert_id, (r1, r2), _ = _setup(any_app)
    version = any_app.extensions["expertpool"].sessions().get(Expert, expert_id).version
    any_app.extensions["expertpool"].sessions.remove()

    def decide(reviewer_id: int, decision: str) -> Callable[[Any], Any]:
        return lambda s: (
            review.decide(
                s,
                reviewer=s.get(User, reviewer_id),
                expert_id=expert_id,
                decision=decision,
                opinion="意见",
                expected_version=version,
            ).status
        )

    results = _race(any_app, [decide(r1, "approve"), decide(r2, "reject")])
    wins = [r for r in results if isinstance(r, ExpertStatus)]
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(wins) == 1 and len(conflicts) == 1, results
    session = any_app.extensions["expertpool"].sessions()
    assert session.get(Expert, expert_id).status is wins[0]
    assert (
        len(
            session.execute(
                select(ReviewDecision).where(ReviewDecision.expert_id == expert_id)
            ).all()
        )
        == 1
    )


def test_a_returned_application_resubmitted_twice_at_once_is_submitted_once(any_app: Flask) -> None:
    user, expert_id, (r1,), cipher = _setup(any_app, 1)
    session = any_app.extensions["expertpool"].sessions()
    review.decide(
        session,
        reviewer=session.get(User, r1),
        expert_id=expert_id,
        decision="return",
        opinion="补充",
    )
    version = session.get(Expert, expert_id).version
    cfg = any_app.extensions["expertpool"].config
    any_app.extensions["expertpool"].sessions.remove()

    def resubmit(s: Any) -> Any:
        return applications.submit(
            s,
            cipher=cipher,
            config=cfg,
            actor=s.get(User, user.id),
            expert_id=expert_id,
            expected_version=version,
        ).status

    results = _race(any_app, [resubmit, resubmit])
    assert sorted(type(r).__name__ for r in results) in (
        ["Conflict", "ExpertStatus"],
        ["ExpertStatus", "TransitionRefused"],
    ), results
    assert [
        v.number for v in records.versions(any_app.extensions["expertpool"].sessions(), expert_id)
    ] == [1, 2]


def test_two_overlapping_leave_requests_at_once_store_one_period(any_app: Flask) -> None:
    from datetime import timedelta

    from expertpool.experts import availability
    from expertpool.experts.models import ExpertLeave

    user, expert_id, (r1,), _ = _setup(any_app, 1)
    session = any_app.extensions["expertpool"].sessions()
    review.decide(
        session,
        reviewer=session.get(User, r1),
        expert_id=expert_id,
        decision="approve",
        opinion="同意",
    )
    any_app.extensions["expertpool"].sessions.remove()
    start = utcnow().date() + timedelta(days=10)

    def declare(days: int) -> Callable[[Any], Any]:
        return lambda s: (
            availability.declare_leave(
                s,
                actor=s.get(User, user.id),
                expert_id=expert_id,
                start_on=start,
                end_on=start + timedelta(days=days),
            ).id
        )

    results = _race(any_app, [declare(3), declare(5)])
    assert sum(isinstance(r, int) for r in results) == 1, results
    assert sum(isinstance(r, ValidationFailed) for r in results) == 1, results
    session = any_app.extensions["expertpool"].sessions()
    assert (
        len(session.execute(select(ExpertLeave).where(ExpertLeave.expert_id == expert_id)).all())
        == 1
    )
