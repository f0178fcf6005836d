"""Demo step: the pool over time. Courses and hours, experts suspended or removed for lapsed
training, one relative declared by the demo expert; terms (some over, some in the renewal window)
are set when the experts are made. The daily upkeep itself runs from the web process.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from expertpool.accounts.models import User
from expertpool.core import audit
from expertpool.core.calendar import cst_date
from expertpool.core.db import utcnow
from expertpool.core.pii import PiiCipher
from expertpool.demo.context import DemoContext
from expertpool.experts import identity
from expertpool.experts.models import Expert, ExpertRelative, ExpertStatus, RelativeKind
from expertpool.training.models import TrainingCourse, TrainingLapse, TrainingRecord

POOL = (ExpertStatus.ACTIVE, ExpertStatus.ON_LEAVE, ExpertStatus.SUSPENDED)
BATCH = 5000


def run_step(session: Session, ctx: DemoContext, seed: int, options: dict[str, int]) -> str:
    """Add the courses, hours, lapses and the demo expert's relative (once)."""
    today = cst_date(utcnow())
    year = today.year
    last_code = f"JX{year - 1}-01"
    if session.execute(select(TrainingCourse.id).where(TrainingCourse.code == last_code)).first():
        return "already present"
    last = TrainingCourse(
        code=last_code,
        title="评标专家继续教育（法规与职业道德）",
        hours=16,
        held_on=date(year - 1, 5, 20),
        provider="广东省公共资源交易中心",
    )
    this = TrainingCourse(
        code=f"JX{year}-01",
        title="电子化评标与远程异地评标实务",
        hours=8,
        held_on=date(year, 3, 15),
        provider="广东省公共资源交易中心",
    )
    session.add_all([last, this])
    session.flush()
    pool = list(
        session.execute(
            select(Expert.id, Expert.status).where(Expert.status.in_(POOL)).order_by(Expert.id)
        ).all()
    )
    rows: list[dict[str, Any]] = []
    now = utcnow()
    for n, (expert_id, _) in enumerate(pool):
        for course, every in ((last, 1), (this, 2)):
            if n % 10 and n % every == 0:
                rows.append(
                    {
                        "expert_id": expert_id,
                        "course_id": course.id,
                        "hours": course.hours,
                        "completed_on": course.held_on,
                        "source": "import",
                        "certificate_name": "",
                        "recorded_by": "demo",
                        "created_at": now,
                    }
                )
    for k in range(0, len(rows), BATCH):
        session.execute(insert(TrainingRecord.__table__), rows[k : k + BATCH])  # type: ignore[arg-type]
    # A few experts lapsed: suspended after one year, removed after two (their approval dated
    # back so that the years were owed).
    long_ago = datetime(year - 4, 3, 1, tzinfo=UTC)
    lapsed = 0
    suspended = [e for e, s in pool if s is ExpertStatus.SUSPENDED][:4]
    for expert_id in suspended:
        expert = session.get(Expert, expert_id)
        assert expert is not None
        expert.activated_at = long_ago
        expert.status_reason = f"training lapsed ({year - 1})"
        expert.suspended_until = today + timedelta(days=120)
        session.add(
            TrainingLapse(
                expert_id=expert_id,
                year=year - 1,
                hours=0,
                required=16,
                outcome="suspended",
                decided_on=date(year, 1, 1),
            )
        )
        lapsed += 1
    removed = session.execute(
        select(Expert).where(Expert.status == ExpertStatus.REMOVED).order_by(Expert.id).limit(2)
    ).scalars()
    for expert in removed:
        expert.activated_at = long_ago
        expert.status_reason = f"training lapsed 2 years ({year - 1})"
        for y, outcome in ((year - 2, "suspended"), (year - 1, "removed")):
            session.add(
                TrainingLapse(
                    expert_id=expert.id,
                    year=y,
                    hours=0,
                    required=16,
                    outcome=outcome,
                    decided_on=date(y + 1, 1, 1),
                )
            )
        lapsed += 1
    # The demo expert declares a near relative (matched by ID number at every draw).
    login = session.execute(select(User).where(User.username == "expert")).scalar_one_or_none()
    own = (
        session.execute(select(Expert).where(Expert.user_id == login.id)).scalar_one_or_none()
        if login is not None
        else None
    )
    if own is not None and not own.relatives:
        cipher = PiiCipher.from_keys(ctx.keys)
        number = identity.make_id_number("440106", date(1978, 8, 8), seed % 1000)
        relative = ExpertRelative(
            kind=RelativeKind.SPOUSE, id_number_bidx=cipher.blind_index(number, "id_number")
        )
        own.relatives.append(relative)
        session.flush()
        relative.id_number_enc = cipher.encrypt(
            number, table="expert_relative", row_id=relative.id, column="id_number"
        )
    audit.record(
        session,
        actor="demo",
        action="demo.pool_over_time",
        object_type="training_course",
        object_id=last.id,
        after={"records": len(rows), "lapsed": lapsed},
    )
    session.commit()
    expired = session.execute(
        select(Expert.id).where(Expert.status.in_(POOL), Expert.term_ends_on < today)
    ).all()
    return (
        f"2 courses, {len(rows)} training records, {lapsed} experts lapsed, "
        f"{len(expired)} terms over (undrawable until renewed)"
    )
