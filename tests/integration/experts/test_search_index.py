"""Staff search reads status and city copied onto `expert_specialty`: the copies never drift,
results stay exact.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from expertpool.core.db import utcnow
from expertpool.demo import experts as expert_demo
from expertpool.experts import availability, review
from expertpool.experts import search as expert_search
from expertpool.experts.models import Expert, ExpertStatus

pytestmark = pytest.mark.integration
TODAY = utcnow().date()


def drifted(session: Any) -> list[tuple[Any, ...]]:
    """Specialty rows whose copied status or city differs from their expert's (read raw, not through
    the ORM).
    """
    rows = session.execute(
        text(
            "SELECT es.expert_id, es.code, es.status, es.home_region, e.status, e.home_region "
            "FROM expert_specialty es JOIN expert e ON e.id = es.expert_id"
        )
    ).all()
    assert rows, "no specialty rows to compare"
    return [r for r in rows if (r[2], r[3]) != (r[4], r[5])]


def copies(session: Any, expert_id: int) -> set[tuple[str, str | None, str | None]]:
    """(code, status, city) of one expert's specialty rows, read raw."""
    return {
        tuple(r)
        for r in session.execute(
            text(  # type: ignore[misc]
                "SELECT code, status, home_region FROM expert_specialty WHERE expert_id = :e"
            ),
            {"e": expert_id},
        )
    }


@pytest.fixture()
def reviewer(make_user: Any) -> Any:
    """A reviewer account."""
    return make_user(role="reviewer")


def test_specialty_rows_follow_the_application_through_draft_submission_and_approval(
    db_session: Any, applicant: Any, reviewer: Any
) -> None:
    _, draft = applicant(submit=False, specialties=["A010102"], home_region="440300")
    assert copies(db_session, draft.id) == {("A010102", "draft", "440300")}
    _, expert = applicant(specialties=["A010102", "A0101"], home_region="440100")
    assert {c[1] for c in copies(db_session, expert.id)} == {"submitted"}
    review.start_review(db_session, reviewer=reviewer, expert_id=expert.id)
    assert {c[1] for c in copies(db_session, expert.id)} == {"under_review"}
    review.decide(db_session, reviewer=reviewer, expert_id=expert.id, decision="approve")
    assert copies(db_session, expert.id) == {
        ("A010102", "active", "440100"),
        ("A0101", "active", "440100"),
    }
    assert drifted(db_session) == []


def test_a_returned_application_with_a_new_city_and_specialties_moves_its_rows(
    db_session: Any, applicant: Any, reviewer: Any, cipher: Any, cfg: Any
) -> None:
    from expertpool.experts import applications

    user, expert = applicant(specialties=["A010102"], home_region="440100")
    review.decide(
        db_session, reviewer=reviewer, expert_id=expert.id, decision="return", opinion="补充材料"
    )
    assert {c[1] for c in copies(db_session, expert.id)} == {"returned"}
    applications.save_draft(
        db_session,
        cipher=cipher,
        config=cfg,
        actor=user,
        expert_id=expert.id,
        data={"home_region": "440606", "specialties": ["A010103", "B0101"]},
    )
    assert copies(db_session, expert.id) == {
        ("A010103", "returned", "440606"),
        ("B0101", "returned", "440606"),
    }
    assert expert_search.search(db_session, specialty="A0101", city="440100").total == 0
    assert [
        e.id for e in expert_search.search(db_session, specialty="B01", city="440606").items
    ] == [expert.id]


def test_leave_suspension_maintenance_and_pending_changes_keep_the_copies_in_step(
    db_session: Any, applicant: Any, reviewer: Any, make_user: Any, cfg: Any
) -> None:
    user, expert = applicant(specialties=["A010102"], home_region="440100")
    review.decide(db_session, reviewer=reviewer, expert_id=expert.id, decision="approve")
    availability.declare_leave(
        db_session, actor=user, expert_id=expert.id, start_on=TODAY, end_on=TODAY
    )
    assert {c[1] for c in copies(db_session, expert.id)} == {"on_leave"}
    availability.run_maintenance(db_session, config=cfg, today=TODAY + timedelta(days=1))
    assert {c[1] for c in copies(db_session, expert.id)} == {"active"}
    review.change_status(
        db_session,
        actor=make_user(role="supervisor"),
        expert_id=expert.id,
        target="suspended",
        reason="违规",
        until=TODAY + timedelta(days=5),
    )
    assert {c[1] for c in copies(db_session, expert.id)} == {"suspended"}
    change = review.propose_change(
        db_session,
        config=cfg,
        actor=user,
        expert_id=expert.id,
        data={"specialties": ["B0101", "C0101"]},
    )
    assert {c[0] for c in copies(db_session, expert.id)} == {
        "A010102"
    }  # live record unchanged until approved
    review.decide_change(db_session, reviewer=reviewer, change_id=change.id, approve=True)
    assert copies(db_session, expert.id) == {
        ("B0101", "suspended", "440100"),
        ("C0101", "suspended", "440100"),
    }
    availability.run_maintenance(db_session, config=cfg, today=TODAY + timedelta(days=6))
    assert copies(db_session, expert.id) == {
        ("B0101", "active", "440100"),
        ("C0101", "active", "440100"),
    }
    assert drifted(db_session) == []


def test_the_demo_bulk_insert_and_raw_sql_writes_cannot_leave_the_copies_wrong(
    db_session: Any, cipher: Any
) -> None:
    expert_demo.create_experts(db_session, cipher=cipher, count=120, seed=3)
    assert drifted(db_session) == []
    some = db_session.execute(select(Expert.id).order_by(Expert.id).limit(3)).scalars().all()
    db_session.execute(
        text("UPDATE expert SET status = 'removed', home_region = '441900' WHERE id = :e"),
        {"e": some[0]},
    )
    db_session.execute(
        text(
            "UPDATE expert_specialty SET status = 'active', home_region = '440100' "
            "WHERE expert_id = :e"
        ),
        {"e": some[1]},
    )
    db_session.execute(text("DELETE FROM expert_specialty WHERE expert_id = :e"), {"e": some[2]})
    db_session.execute(
        text(
            "INSERT INTO expert_specialty (expert_id, code, status, home_region) "
            "VALUES (:e, 'A010102', 'retired', '445200')"
        ),
        {"e": some[2]},
    )
    db_session.commit()
    assert {c[1:] for c in copies(db_session, some[0])} == {("removed", "441900")}
    assert drifted(db_session) == []


def _expected(
    pool: list[tuple[int, str, str, str | None, list[str]]],
    *,
    prefix: str | None,
    city: str | None,
    status: str | None,
) -> tuple[list[int], list[tuple[str, int]], list[tuple[str, int]]]:
    """Ids sorted by (name, id), counts per specialty (top 30) and per city, computed in Python."""
    hits = [
        (name, eid, region, [c for c in codes if not prefix or c.startswith(prefix)])
        for eid, name, st, region, codes in pool
        if (not city or region == city)
        and (not status or st == status)
        and (not prefix or any(c.startswith(prefix) for c in codes))
    ]
    ids = [eid for _, eid, _, _ in sorted(hits)]
    per_code: dict[str, int] = {}
    per_city: dict[str, int] = {}
    for _, _, region, codes in hits:
        for c in codes:
            per_code[c] = per_code.get(c, 0) + 1
        per_city[region or ""] = per_city.get(region or "", 0) + 1
    return (
        ids,
        sorted(per_code.items(), key=lambda kv: (-kv[1], kv[0]))[:30],
        sorted(per_city.items()),
    )


def test_search_pages_totals_and_counts_equal_a_plain_computation(
    db_session: Any, cipher: Any, make_user: Any
) -> None:
    expert_demo.create_experts(db_session, cipher=cipher, count=300, seed=21)
    supervisor = make_user(role="supervisor")
    for eid in (
        db_session.execute(
            select(Expert.id)
            .where(Expert.status == ExpertStatus.ACTIVE)
            .order_by(Expert.id)
            .limit(15)
        )
        .scalars()
        .all()
    ):
        review.change_status(
            db_session, actor=supervisor, expert_id=eid, target="removed", reason="测试"
        )
    db_session.expire_all()
    pool = [
        (e.id, e.name, e.status.value, e.home_region, e.specialty_codes)
        for e in db_session.execute(select(Expert)).scalars()
    ]
    rng = random.Random(4)
    codes = sorted({c for *_, cs in pool for c in cs})
    prefixes = [None, "A", "B", "A01", "C01", rng.choice(codes), rng.choice(codes)[:5]]
    for prefix in prefixes:
        for city in (None, "440100", "440300", "445200"):
            for status in (None, "active", "removed", "draft"):
                ids, per_code, per_city = _expected(pool, prefix=prefix, city=city, status=status)
                for page in (1, 2):
                    got = expert_search.search(
                        db_session,
                        specialty=prefix,
                        city=city,
                        status=status,
                        page=page,
                        per_page=7,
                    )
                    where = (prefix, city, status, page)
                    assert got.total == len(ids), where
                    assert [e.id for e in got.items] == ids[(page - 1) * 7 : page * 7], where
                    assert got.by_specialty == per_code, where
                    assert got.by_city == per_city, where
    assert expert_search.search(db_session, specialty="A0", name=pool[0][1][:1]).total == len(
        [
            p
            for p in pool
            if p[1].startswith(pool[0][1][:1]) and any(c.startswith("A0") for c in p[4])
        ]
    )


def test_postgresql_plans_every_search_with_its_actual_prefix(db_session: Any) -> None:
    if db_session.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL setting")
    # A generic plan for a prepared prefix-range query fits either 'B' (half the pool) or 'A010102',
    # never both.
    assert db_session.execute(text("SHOW plan_cache_mode")).scalar_one() == "force_custom_plan"
