"""The demo's entry to the pool: a recommended applicant in the Guangzhou housing bureau's queue,
a recommendation still waiting for the nominee's consent, and a batch of three applications in
publicity, one of them with an objection waiting for the provincial pool office.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.accounts.models import User
from expertpool.core.calendar import CST, cst_date
from expertpool.core.db import utcnow
from expertpool.core.pii import PiiCipher
from expertpool.demo.accounts import DEMO_PASSWORD
from expertpool.demo.context import DemoContext
from expertpool.experts import entry, identity, publicity, records, review
from expertpool.experts.models import Expert, ExpertSpecialty, ExpertStatus, TitleLevel
from expertpool.notifications.models import OutboxKind, OutboxMessage
from expertpool.notifications.outbox import message_body
from expertpool.recommendations import nominations
from expertpool.recommendations.models import Recommendation

# name, serial, specialty, title, employer
BATCH = (
    ("欧阳立新", 31, "A010102", "教授级高级工程师", "广州市某市政设计研究院有限公司"),
    ("梁嘉怡", 32, "A010102", "高级工程师", "广东某交通规划设计院有限公司"),
    ("何志强", 33, "A0101", "高级经济师", "广州某工程咨询有限公司"),
)
NOMINEES = (("黄思远", 41, "13800138041"), ("苏婉清", 42, "13800138042"))


def _batch_day(rules: entry.EntryRules, today: date) -> date:
    """A submission day whose batch has opened by `today` (the latest window start)."""
    starts = [w.in_year(y)[0] for y in (today.year - 1, today.year) for w in rules.windows]
    return max((s for s in starts if s <= today), default=today)


def _login(session: Session, username: str) -> User:
    return session.execute(select(User).where(User.username == username)).scalar_one()


def _applicant(
    session: Session, cipher: PiiCipher, row: tuple[str, int, str, str, str], submitted: date
) -> Expert:
    name, serial, code, title, employer = row
    expert = Expert(
        name=name,
        title=title,
        title_level=TitleLevel.FULL_SENIOR if "教授级" in title else TitleLevel.DEPUTY_SENIOR,
        years_experience=18,
        home_region="440100",
        employer_code=identity.make_credit_code(f"914401{serial:02d}MA5DKL001"),
        employer_name=employer,
        status=ExpertStatus.SUBMITTED,
        has_consented=True,
        submitted_at=datetime.combine(submitted, time(10), CST).astimezone(UTC),
        specialties=[ExpertSpecialty(code=code)],
    )
    session.add(expert)
    session.flush()
    birth = date(1972, 1 + serial % 12, 1 + serial % 27)
    records.set_pii(expert, cipher, "id_number", identity.make_id_number("440104", birth, serial))
    records.set_pii(expert, cipher, "phone", f"138001380{serial:02d}")
    session.commit()
    return expert


def demo_step(session: Session, ctx: DemoContext, seed: int, options: dict[str, int]) -> str:
    """Recommend two people (one consents), and take a batch of three through the two-step
    chain into publicity with one objection pending."""
    if session.execute(select(Recommendation.id)).first() is not None:
        return "already present"
    configured = entry.rules_for(ctx.config)
    # The demo shows the Guangdong entry even where the site chose a set without publicity.
    rules = configured if configured.publicity_working_days else entry.bundled_rules("guangdong")
    now = utcnow()
    today = cst_date(now)
    cipher = PiiCipher.from_keys(ctx.keys)
    contact = _login(session, "tenderer")
    for name, serial, phone in NOMINEES:
        nominations.recommend(
            session,
            ctx.notify,
            actor=contact,
            name=name,
            id_number=identity.make_id_number("440106", date(1978, 4, serial % 28 + 1), serial),
            phone=phone,
            specialties="A010102",
            now=now,
            today=today,
        )
    # The first nominee agrees through the link the SMS carries (the console provider shows it).
    first = (
        session.execute(
            select(OutboxMessage)
            .where(OutboxMessage.kind == OutboxKind.RECOMMENDATION_SMS)
            .order_by(OutboxMessage.id)
        )
        .scalars()
        .first()
    )
    found = (
        re.search(r"/r/([A-Za-z0-9_-]+)", message_body(ctx.notify, first) or "") if first else None
    )
    if found is None:
        return "2 recommendations, none consented"
    nominee = nominations.consent(
        session,
        ctx.notify,
        token=found.group(1),
        username="nominee.demo",
        password=DEMO_PASSWORD,
        agrees=True,
        now=now,
    )
    # It completes the application and submits it into the housing bureau's queue.
    nominee.title, nominee.title_level = "高级工程师", TitleLevel.DEPUTY_SENIOR
    nominee.years_experience, nominee.home_region = 15, "440100"
    nominee.status = ExpertStatus.SUBMITTED
    nominee.submitted_at = datetime.combine(_batch_day(rules, today), time(9), CST).astimezone(UTC)
    session.commit()

    submitted = _batch_day(rules, today)
    housing, office = _login(session, "reviewer.gz"), _login(session, "reviewer")
    batch = [_applicant(session, cipher, row, submitted) for row in BATCH]
    for expert in batch:
        for reviewer, opinion in ((housing, "资格条件符合"), (office, "同意入库，予以公示")):
            review.decide(
                session,
                reviewer=reviewer,
                expert_id=expert.id,
                decision="approve",
                opinion=opinion,
                entry_rules=rules,
                today=today,
            )
    publicity.object_to(
        session,
        cipher=cipher,
        expert_id=batch[0].id,
        reason="该专家所在单位近三年有围标记录，请核查其是否符合入库条件。",
        contact="13800000099",
        today=today,
        ip=None,
    )
    return (
        f"2 recommendations (#{nominee.id} consented and submitted), "
        f"{len(batch)} applications in publicity, 1 objection open"
    )
