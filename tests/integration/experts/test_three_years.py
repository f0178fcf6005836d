"""Three simulated years on a compressed clock (issue #22): leave, a sanction ending, training that
lapses (suspends, then removes), the age cap, one term renewed and one left to expire. The daily
upkeep runs on its own days; at every draw date the candidates' eligibility follows the records.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from expertpool.core.calendar import CST
from expertpool.draws.snapshot import SnapshotWindow, build_candidates, expert_key
from expertpool.experts import availability, identity, review, terms
from expertpool.experts.models import Expert, ExpertStatus
from expertpool.experts.pool_rules import load_pool_rules
from expertpool.notifications.notifier import services_of
from expertpool.training import records as training
from expertpool.upkeep import daily

pytestmark = pytest.mark.integration
RULES = load_pool_rules()
APPROVED = date(2026, 12, 1)
END = date(2029, 12, 31)
SANCTION_ENDS = date(2027, 3, 31)
SEVENTY = date(2028, 6, 1)  # the old expert's 70th birthday


def _window(day: date, cfg: Any) -> SnapshotWindow:
    start = datetime.combine(day, time(9, 0), CST)
    return SnapshotWindow(
        starts_at=start,
        ends_at=start + timedelta(hours=4),
        now_at=start - timedelta(days=2),
        lookback_years=3,
        frequency_window_days=90,
        age_cap=cfg.age_cap,
    )


def test_three_years_of_upkeep_and_draws_follow_the_records(
    app: Any, db_session: Any, applicant: Any, make_user: Any, cfg: Any, cipher: Any
) -> None:
    reviewer, supervisor, admin = (make_user(role=r) for r in ("reviewer", "supervisor", "admin"))
    people = {}
    for name, birth in (
        ("diligent", date(1970, 3, 15)),  # trains, takes leave, renewed
        ("idle", date(1971, 3, 15)),  # never trains: suspended, then removed
        ("unrenewed", date(1972, 3, 15)),  # trains, term left to expire
        ("sanctioned", date(1973, 3, 15)),  # suspended by a supervisor until a date
        ("old", SEVENTY.replace(year=SEVENTY.year - 70)),  # reaches the age cap
    ):
        user, expert = applicant(
            id_number=identity.make_id_number("440103", birth, len(people) + 1)
        )
        review.decide(db_session, reviewer=reviewer, expert_id=expert.id, decision="approve")
        expert.activated_at = datetime.combine(APPROVED, time(2, 0), UTC)
        terms.start_term(expert, RULES, APPROVED)
        db_session.commit()
        people[name] = (user, expert.id)
    term_end = RULES.term_end(APPROVED)
    review.change_status(
        db_session,
        actor=supervisor,
        expert_id=people["sanctioned"][1],
        target="suspended",
        reason="迟到",
        until=SANCTION_ENDS,
        today=APPROVED,
    )
    id_of = {
        name: cipher.decrypt(
            db_session.get(Expert, eid).id_number_enc,
            table="expert",
            row_id=eid,
            column="id_number",
        )
        for name, (_, eid) in people.items()
    }
    leaves: list[tuple[date, date]] = []
    ctx = services_of(app).ctx
    day = APPROVED + timedelta(days=1)
    checked = 0
    while day <= END:
        # events of the day, as people would enter them
        if day.month == 5 and day.day == 1:  # each spring a course the trained experts attend
            code = f"C{day.year}"
            training.add_course(
                db_session, actor=admin, code=code, title="继续教育", hours=16, held_on=day
            )
            rows = [
                ["id_number", "course"],
                *([id_of[n], code] for n in ("diligent", "unrenewed", "sanctioned", "old")),
            ]
            training.import_attendance(
                db_session,
                cipher=cipher,
                actor=admin,
                filename="list.csv",
                data="\n".join(",".join(r) for r in rows).encode(),
                today=day,
            )
        if day.day == 10 and day.month in (2, 7, 11):  # the diligent expert takes leave
            start, end = day + timedelta(days=5), day + timedelta(days=20)
            availability.declare_leave(
                db_session,
                actor=people["diligent"][0],
                expert_id=people["diligent"][1],
                start_on=start,
                end_on=end,
                today=day,
            )
            leaves.append((start, end))
        if day == term_end - timedelta(days=30):
            terms.renew_term(
                db_session,
                reviewer=reviewer,
                expert_id=people["diligent"][1],
                rules=RULES,
                today=day,
            )
        if day.day in (1, 15):  # upkeep days (the thread runs daily; twice a month suffices here)
            daily.run_daily(db_session, config=cfg, rules=RULES, today=day, ctx=ctx)
        if day.day in (2, 17):  # a draw for an evaluation two days later
            evaluation = day + timedelta(days=2)
            pool = {
                c.id: c
                for c in build_candidates(db_session, _window(evaluation, cfg), sealed_facts=False)
            }
            got = {
                n: pool[expert_key(e)].status == "active" and pool[expert_key(e)].available
                for n, (_, e) in people.items()
            }
            assert got == _expected(evaluation, leaves, term_end, db_session, people), evaluation
            checked += 1
        day += timedelta(days=1)
    assert checked > 60
    db_session.expire_all()
    final = {n: db_session.get(Expert, e).status for n, (_, e) in people.items()}
    assert final == {
        "diligent": ExpertStatus.ACTIVE,
        "idle": ExpertStatus.REMOVED,
        "unrenewed": ExpertStatus.ACTIVE,  # the record stays; the draw treats the term as over
        "sanctioned": ExpertStatus.ACTIVE,
        "old": ExpertStatus.RETIRED,
    }


def _expected(
    evaluation: date, leaves: list[tuple[date, date]], term_end: date, db_session: Any, people: Any
) -> dict[str, bool]:
    """Who may serve on `evaluation`, from the scenario alone (not from the code under test)."""
    # the idle expert: 2027 lapses (decided at the first upkeep of 2028: suspended 180 days),
    # 2028 lapses again (decided at the first upkeep of 2029: removed)
    first_2028, first_2029 = date(2028, 1, 1), date(2029, 1, 1)
    idle_suspended_until = first_2028 + timedelta(days=RULES.lapse_suspension_days)
    # the decision day is the first upkeep day of the year: 1 January
    idle = evaluation < first_2028 or idle_suspended_until < evaluation < first_2029
    in_term = evaluation <= term_end  # only the diligent expert was renewed
    return {
        "diligent": not any(a <= evaluation <= b for a, b in leaves),
        "idle": idle and in_term,
        "unrenewed": in_term,
        "sanctioned": evaluation > SANCTION_ENDS and in_term,
        "old": evaluation < SEVENTY and in_term,
    }
