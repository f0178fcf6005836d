"""From a session's close to ratings, facts, a credit drop, a proposed and decided suspension that
ends by itself, and an objection upheld (issue #23)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from expertpool.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from expertpool.experts.models import ExpertStatus
from expertpool.experts.pool_rules import load_pool_rules
from expertpool.experts.standing import standing_on
from expertpool.notifications.notifier import services_of
from expertpool.record import assessment, credit, sanctions
from expertpool.record.credit_rules import CreditRules, load_credit_rules
from expertpool.record.models import (
    CreditEvent,
    Fact,
    FactKind,
    Rating,
    SanctionKind,
    SanctionStatus,
)
from expertpool.rooms.models import EvaluationSession
from expertpool.upkeep.daily import run_daily
from tests.integration.record.conftest import DAY, ClosedSession, covered, expert_of

pytestmark = pytest.mark.integration

AFTER = DAY + timedelta(hours=7)
"""A moment after the room's close (14:30 CST) and the project's outcome."""
GOOD = {"punctuality": "5", "competence": "4", "fairness": "5", "discipline": "5"}
POOR = {"punctuality": "1", "competence": "2", "fairness": "1", "discipline": "2"}


def _rules(**values: int) -> CreditRules:
    bundled = load_credit_rules()
    return replace(bundled, values={**bundled.values, **values})


def _st(app: Flask) -> Any:
    return app.extensions["expertpool"]


def _pid(app: Flask, example: ClosedSession, who: str) -> str:
    st = _st(app)
    row = st.sessions().get(EvaluationSession, example.session_id)
    facts = assessment.session_facts(st.sessions(), row, st.keys)
    uid = example.people[who].id
    return next(m.participant_id for m in facts.members if m.user_id == uid)


def _rate(
    app: Flask, ex: ClosedSession, rater: str, who: str, marks: dict[str, str], **kw: Any
) -> Rating:
    st = _st(app)
    return assessment.rate(
        st.sessions(),
        room_id=ex.room_id,
        user=ex.people[rater],
        keys=st.keys,
        rules=kw.get("rules", load_credit_rules()),
        participant_id=_pid(app, ex, who),
        form={**marks, "comment": kw.get("comment", "")},
        now=kw.get("now", AFTER),
    )


def test_each_host_sees_and_rates_their_own_venue_and_the_main_host_the_remote_by_alias(
    app: Flask, example: ClosedSession
) -> None:
    st = _st(app)
    rules = load_credit_rules()
    gz = assessment.assessment(
        st.sessions(), example.room_id, example.people["h_gz"], st.keys, rules
    )
    sz = assessment.assessment(
        st.sessions(), example.room_id, example.people["h_sz"], st.keys, rules
    )
    named = {m.name for m in gz.members if m.name}
    assert named == {"专家甲", "专家乙", "专家丙", "专家丁", "专家己"}
    remote = [m for m in gz.members if m.is_remote]
    assert len(remote) == 1 and remote[0].name == "" and remote[0].may_rate
    assert [m.name for m in sz.members] == ["专家戊"]
    # the Shenzhen host may not rate a Guangzhou member
    with pytest.raises(Forbidden):
        _rate(app, example, "h_sz", "A", GOOD)
    # an expert, or a staff member of the session's centre who is no host, gets nothing
    with pytest.raises(NotFound):
        assessment.assessment(st.sessions(), example.room_id, example.people["A"], st.keys, rules)


def test_a_low_mark_needs_a_comment_and_a_refused_rating_saves_nothing(
    app: Flask, example: ClosedSession
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        _rate(app, example, "h_gz", "A", POOR)
    assert "comment" in refused.value.fields
    with pytest.raises(ValidationFailed) as bad:
        _rate(app, example, "h_gz", "A", {**GOOD, "fairness": "6"})
    assert "fairness" in bad.value.fields
    assert _st(app).sessions().execute(select(Rating)).first() is None


def test_before_the_close_a_rating_names_nobody_in_the_database(
    app: Flask, example: ClosedSession
) -> None:
    rating = _rate(app, example, "h_gz", "A", POOR, comment="专家甲迟到且态度差")
    session = _st(app).sessions()
    stored = session.get(Rating, rating.id)
    assert stored.user_id is None and stored.comment == ""
    assert "专家甲" not in stored.comment_sealed and stored.comment_sealed.startswith("v1:")
    with pytest.raises(Conflict):
        assessment.post_session(
            session,
            row=session.get(EvaluationSession, example.session_id),
            keys=_st(app).keys,
            rules=load_credit_rules(),
            actor="test",
            now=AFTER,
            force=True,
        )
    assert session.execute(select(CreditEvent)).first() is None


def _post(app: Flask, example: ClosedSession, rules: CreditRules, *, force: bool = True) -> None:
    session = _st(app).sessions()
    assessment.post_session(
        session,
        row=session.get(EvaluationSession, example.session_id),
        keys=_st(app).keys,
        rules=rules,
        actor="test",
        now=AFTER,
        force=force,
    )


def test_posting_after_the_close_writes_ratings_facts_and_the_credit_drop(
    app: Flask, example: ClosedSession
) -> None:
    covered(app)
    rules = _rules(propose_suspension_below=99, draw_exclusion_below=99)
    _rate(app, example, "h_gz", "A", POOR, comment="迟到，评审不认真")
    _rate(app, example, "h_gz", "B", GOOD)
    example.close()
    _post(app, example, rules)
    session = _st(app).sessions()
    a, d, e = (expert_of(app, example.people[k]) for k in "ADE")
    kinds = {(f.expert_id, f.kind) for f in session.execute(select(Fact)).scalars()}
    assert (e.id, FactKind.LATE_CHECK_IN) in kinds  # 12 minutes after the start
    assert (d.id, FactKind.LEFT_EARLY) in kinds  # replaced at 11:00
    assert (a.id, FactKind.LATE_CHECK_IN) not in kinds
    rating = session.execute(
        select(Rating).where(
            Rating.rater == example.people["h_gz"].username,
            Rating.user_id == example.people["A"].id,
        )
    ).scalar_one()
    assert rating.comment == "迟到，评审不认真"
    year = AFTER.year
    assert credit.score(session, a.id, year, rules) == 100 + rules.points("rating_very_poor")
    assert credit.score(session, e.id, year, rules) == 100 + rules.points("late_check_in")
    # the drop puts A below the draw threshold and proposes a suspension (a person decides)
    a = expert_of(app, example.people["A"])
    assert a.is_low_credit
    assert (
        standing_on(a.status, day=date(2026, 11, 20), is_low_credit=a.is_low_credit) == "low_credit"
    )
    proposals = sanctions.sanctions_of(session, a.id)
    assert [(s.kind, s.status, s.by_threshold) for s in proposals] == [
        (SanctionKind.SUSPENSION, SanctionStatus.PROPOSED, True)
    ]
    assert a.status is ExpertStatus.ACTIVE  # a threshold only proposes


def test_a_set_aside_fact_costs_nothing(app: Flask, example: ClosedSession) -> None:
    st = _st(app)
    rules = load_credit_rules()
    assessment.waive_fact(
        st.sessions(),
        room_id=example.room_id,
        user=example.people["sup"],
        keys=st.keys,
        rules=rules,
        participant_id=_pid(app, example, "E"),
        kind="late_check_in",
        reason="深圳会场网络故障",
    )
    example.close()
    _post(app, example, rules)
    e = expert_of(app, example.people["E"])
    fact = st.sessions().execute(select(Fact).where(Fact.expert_id == e.id)).scalar_one()
    assert fact.waived_reason == "深圳会场网络故障"
    assert credit.score(st.sessions(), e.id, AFTER.year, rules) == 100


def test_the_window_posts_by_itself_through_the_daily_upkeep(
    app: Flask, example: ClosedSession
) -> None:
    st = _st(app)
    example.close()
    ctx = services_of(app).ctx
    early = run_daily(
        st.sessions(), config=st.config, rules=load_pool_rules(), today=date(2026, 11, 10), ctx=ctx
    )
    assert early is not None and early.sessions_posted == 0
    late = run_daily(
        st.sessions(), config=st.config, rules=load_pool_rules(), today=date(2026, 11, 17), ctx=ctx
    )
    assert late is not None and late.sessions_posted == 1
    assert assessment.posting_of(st.sessions(), example.session_id) is not None


def test_a_decided_suspension_ends_by_itself_and_an_upheld_objection_restores_credit(
    app: Flask, example: ClosedSession, make_user: Any
) -> None:
    covered(app)
    st = _st(app)
    rules = _rules(propose_suspension_below=99, draw_exclusion_below=99)
    _rate(app, example, "h_gz", "A", POOR, comment="不认真")
    example.close()
    _post(app, example, rules)
    session = st.sessions()
    a = expert_of(app, example.people["A"])
    proposal = sanctions.sanctions_of(session, a.id)[0]
    reviewer = make_user(role="reviewer")
    with pytest.raises(ValidationFailed):  # a suspension needs a last day after today
        sanctions.decide(
            session,
            actor=reviewer,
            sanction_id=proposal.id,
            approve=True,
            decision="属实",
            ends_on="2026-11-01",
            evidence=None,
            files=st.files,
            rules=rules,
            now=AFTER,
        )
    with pytest.raises(Forbidden):  # a supervisor proposes, a reviewer decides
        sanctions.decide(
            session,
            actor=example.people["sup"],
            sanction_id=proposal.id,
            approve=True,
            decision="属实",
            ends_on="2026-12-31",
            evidence=None,
            files=st.files,
            rules=rules,
            now=AFTER,
        )
    sanctions.decide(
        session,
        actor=reviewer,
        sanction_id=proposal.id,
        approve=True,
        decision="评分态度问题属实",
        ends_on="2026-11-30",
        evidence=(b"%PDF-1.4 minutes", "会议纪要.pdf"),
        files=st.files,
        rules=rules,
        now=AFTER,
    )
    a = expert_of(app, example.people["A"])
    assert a.status is ExpertStatus.SUSPENDED and a.suspended_until == date(2026, 11, 30)
    assert (
        standing_on(a.status, day=date(2026, 11, 20), suspended_until=a.suspended_until)
        == "suspended"
    )
    # the expert objects once; a reviewer of the department upholds: the deduction is reversed
    objection = sanctions.object_to(
        session,
        expert=a,
        session_id=example.session_id,
        text="主持人评分有误",
        rules=rules,
        now=AFTER,
    )
    with pytest.raises(Conflict):
        sanctions.object_to(
            session, expert=a, session_id=example.session_id, text="再次", rules=rules, now=AFTER
        )
    sanctions.decide_objection(
        session,
        actor=reviewer,
        objection_id=objection.id,
        uphold=True,
        decision="评分依据不足",
        rules=rules,
        now=AFTER,
    )
    assert credit.score(session, a.id, AFTER.year, rules) == 100
    assert not expert_of(app, example.people["A"]).is_low_credit
    # the suspension ends by itself: the upkeep of the day after its last day reinstates
    report = run_daily(
        st.sessions(), config=st.config, rules=load_pool_rules(), today=date(2026, 12, 1)
    )
    assert report is not None and report.suspensions_ended == 1
    assert expert_of(app, example.people["A"]).status is ExpertStatus.ACTIVE


def test_a_removal_needs_evidence_and_a_bar_is_for_life(
    app: Flask, example: ClosedSession, make_user: Any
) -> None:
    covered(app)
    st = _st(app)
    session = st.sessions()
    rules = load_credit_rules()
    reviewer = make_user(role="reviewer")
    b = expert_of(app, example.people["B"])
    bar = sanctions.propose(
        session,
        actor=example.people["sup"],
        expert_id=b.id,
        kind="bar",
        reason="私下接触投标人（实施条例第七十一条）",
        ends_on="",
        evidence=None,
        files=st.files,
        today=date(2026, 11, 9),
    )
    with pytest.raises(ValidationFailed) as refused:
        sanctions.decide(
            session,
            actor=reviewer,
            sanction_id=bar.id,
            approve=True,
            decision="属实",
            ends_on="",
            evidence=None,
            files=st.files,
            rules=rules,
            now=AFTER,
        )
    assert "evidence" in refused.value.fields
    assert expert_of(app, example.people["B"]).status is ExpertStatus.ACTIVE
    sanctions.decide(
        session,
        actor=reviewer,
        sanction_id=bar.id,
        approve=True,
        decision="属实",
        ends_on="",
        evidence=(b"record", "调查笔录.pdf"),
        files=st.files,
        rules=rules,
        now=AFTER,
    )
    assert expert_of(app, example.people["B"]).status is ExpertStatus.REMOVED
    assert sanctions.is_barred(session, b.id)
