"""The daily upkeep (issue #22): once per day whatever runs it, audited, by itself in the web
process; terms started at approval, renewed inside the window, reminded by SMS once.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from expertpool.core.calendar import CST, cst_date
from expertpool.core.errors import Conflict
from expertpool.core.models import AuditEntry
from expertpool.experts import review, terms
from expertpool.experts.models import Expert, ExpertStatus, MaintenanceRun
from expertpool.experts.pool_rules import PoolRules, add_years, load_pool_rules
from expertpool.notifications.models import OutboxKind, OutboxMessage
from expertpool.notifications.notifier import services_of
from expertpool.upkeep import daily
from expertpool.upkeep.scheduler import DailyUpkeep

pytestmark = pytest.mark.integration
RULES = load_pool_rules()
TERMS_ONLY = dataclasses.replace(RULES, training_hours_per_year=0)  # no training lapse meanwhile


@pytest.fixture()
def reviewer(make_user: Any) -> Any:
    """A reviewer whose department covers the applicants."""
    return make_user(role="reviewer")


@pytest.fixture()
def active(db_session: Any, applicant: Any, reviewer: Any) -> Any:
    """Factory: an approved expert (its first term started today); returns the expert."""

    def make(**overrides: Any) -> Any:
        _, expert = applicant(**overrides)
        return review.decide(db_session, reviewer=reviewer, expert_id=expert.id, decision="approve")

    return make


def _runs(db_session: Any) -> int:
    return db_session.execute(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "maintenance.run")
    ).scalar_one()


def test_the_upkeep_of_a_day_runs_once_and_is_audited(db_session: Any, cfg: Any) -> None:
    day = date(2027, 1, 4)
    first = daily.run_daily(db_session, config=cfg, rules=RULES, today=day)
    assert first is not None and first.day == day
    assert daily.run_daily(db_session, config=cfg, rules=RULES, today=day) is None
    assert _runs(db_session) == 1
    assert daily.run_daily(db_session, config=cfg, rules=RULES, today=day + timedelta(1))
    assert _runs(db_session) == 2
    assert db_session.get(MaintenanceRun, day) is not None


def test_approval_starts_a_term_and_renewal_opens_sixty_days_before_its_end(
    db_session: Any, active: Any, reviewer: Any
) -> None:
    expert = active()
    start = cst_date(expert.activated_at)
    assert expert.term_ends_on == add_years(start, 3) - timedelta(days=1)
    end = expert.term_ends_on
    with pytest.raises(Conflict) as refused:
        terms.renew_term(
            db_session,
            reviewer=reviewer,
            expert_id=expert.id,
            rules=RULES,
            today=end - timedelta(days=61),
        )
    assert refused.value.code == "renewal_not_open"
    terms.renew_term(
        db_session,
        reviewer=reviewer,
        expert_id=expert.id,
        rules=RULES,
        today=end - timedelta(days=60),
    )
    db_session.expire_all()
    renewed = db_session.get(Expert, expert.id)
    assert renewed.term_ends_on == add_years(end + timedelta(days=1), 3) - timedelta(days=1)
    # an expired term is renewed from the day of the decision
    late = renewed.term_ends_on + timedelta(days=10)
    terms.renew_term(db_session, reviewer=reviewer, expert_id=expert.id, rules=RULES, today=late)
    db_session.expire_all()
    assert db_session.get(Expert, expert.id).term_ends_on == add_years(late, 3) - timedelta(1)


def test_the_rules_file_sets_the_term_length(
    db_session: Any, applicant: Any, reviewer: Any
) -> None:
    _, expert = applicant()
    five = PoolRules(term_years=5, renewal_window_days=30, term_reminder_days=30)
    review.decide(
        db_session, reviewer=reviewer, expert_id=expert.id, decision="approve", rules=five
    )
    start = cst_date(expert.activated_at)
    assert expert.term_ends_on == add_years(start, 5) - timedelta(days=1)


def test_term_ends_are_audited_and_reminders_queued_once_per_term(
    app: Any, db_session: Any, active: Any, cfg: Any
) -> None:
    ctx = services_of(app).ctx
    expert = active()
    end = expert.term_ends_on
    opens = end - timedelta(days=RULES.term_reminder_days)
    assert (
        daily.run_daily(
            db_session, config=cfg, rules=TERMS_ONLY, today=opens - timedelta(1), ctx=ctx
        ).term_reminders
        == 0
    )
    assert (
        daily.run_daily(
            db_session, config=cfg, rules=TERMS_ONLY, today=opens, ctx=ctx
        ).term_reminders
        == 1
    )
    assert (
        daily.run_daily(
            db_session, config=cfg, rules=TERMS_ONLY, today=opens + timedelta(1), ctx=ctx
        ).term_reminders
        == 0
    )
    sms = (
        db_session.execute(
            select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.POOL_REMINDER_SMS)
        )
        .scalars()
        .all()
    )
    assert len(sms) == 1
    report = daily.run_daily(
        db_session, config=cfg, rules=TERMS_ONLY, today=end + timedelta(1), ctx=ctx
    )
    assert report is not None and report.terms_expired == 1
    # the record stays active; the draw (and check-in) treat the expired term as undrawable
    assert db_session.get(Expert, expert.id).status is ExpertStatus.ACTIVE


def test_the_web_process_runs_the_upkeep_by_itself(app: Any, db_session: Any) -> None:
    moment = datetime(2027, 3, 1, 9, 0, tzinfo=CST)
    upkeep = DailyUpkeep(app, services_of(app).ctx, clock=lambda: moment, interval_seconds=0.05)
    upkeep.start()

    def done() -> bool:
        # read and let go at once: on SQLite an open transaction would keep the thread waiting
        found = db_session.get(MaintenanceRun, moment.date()) is not None
        db_session.rollback()
        return found

    try:
        deadline = time.monotonic() + 10
        while not done() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # several more passes of the loop: still one run
    finally:
        upkeep.stop()
    assert upkeep.thread is not None and not upkeep.thread.is_alive()
    assert done()
    assert _runs(db_session) == 1


def test_two_processes_running_the_same_day_at_once_run_it_once(pg_app: Any) -> None:
    st = pg_app.extensions["expertpool"]
    barrier = threading.Barrier(2)
    results: list[Any] = []

    def one() -> None:
        session = st.sessions.session_factory()
        try:
            barrier.wait()
            results.append(
                daily.run_daily(session, config=st.config, rules=RULES, today=date(2027, 5, 6))
            )
        finally:
            session.close()

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(r is None for r in results) == [False, True]
