"""Synthetic, deterministic demo experts inserted in bulk (valid identifiers, real specialty codes).

Bulk rows get their accounts in bulk without a password (`experts.accounts`: hashing thousands of
passwords with argon2 would take minutes); each is activated by a one-time SMS code, which the
console provider's simulation page shows. The demo login `expert` is linked to an active record of
its own.
Personal data is encrypted row by row with the real cipher, so the demo exercises the same storage.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, insert, or_, select, text
from sqlalchemy.orm import Session

from expertpool.accounts.models import User
from expertpool.core import audit
from expertpool.core.db import utcnow
from expertpool.core.pii import PiiCipher
from expertpool.demo.context import DemoContext
from expertpool.experts import accounts, identity
from expertpool.experts.models import (
    Expert,
    ExpertAvoidance,
    ExpertEmployment,
    ExpertLeave,
    ExpertSpecialty,
    ExpertStatus,
    TitleLevel,
)
from expertpool.reference.models import Region, Specialty

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏"
    "吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃"
    "武钱戴严莫孔向常汤康易乔赖文"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬斌宇浩凯健俊帆帅旭宁龙林欣佳"
    "雪琳晨辰颖婷倩建国志海波峰鹏飞"
)
TITLES = [
    ("教授级高级工程师", TitleLevel.FULL_SENIOR),
    ("高级工程师", TitleLevel.DEPUTY_SENIOR),
    ("正高级经济师", TitleLevel.FULL_SENIOR),
    ("高级经济师", TitleLevel.DEPUTY_SENIOR),
    ("研究员", TitleLevel.FULL_SENIOR),
    ("副研究员", TitleLevel.DEPUTY_SENIOR),
    ("教授", TitleLevel.FULL_SENIOR),
    ("副教授", TitleLevel.DEPUTY_SENIOR),
    ("高级会计师", TitleLevel.DEPUTY_SENIOR),
    ("主任医师", TitleLevel.FULL_SENIOR),
]
ORG_KINDS = [
    "设计院有限公司",
    "工程咨询有限公司",
    "建设集团有限公司",
    "大学",
    "研究院",
    "造价咨询有限公司",
    "监理有限公司",
    "信息技术有限公司",
    "医院",
    "会计师事务所",
]
# Weighted statuses: most of the pool is active; every lifecycle state appears.
STATUS_WEIGHTS = [
    (ExpertStatus.ACTIVE, 78),
    (ExpertStatus.ON_LEAVE, 4),
    (ExpertStatus.SUSPENDED, 2),
    (ExpertStatus.RETIRED, 3),
    (ExpertStatus.REMOVED, 1),
    (ExpertStatus.DRAFT, 3),
    (ExpertStatus.SUBMITTED, 3),
    (ExpertStatus.UNDER_REVIEW, 2),
    (ExpertStatus.RETURNED, 2),
    (ExpertStatus.REJECTED, 2),
]
BATCH = 2000


def _orgs(rng: random.Random, cities: list[tuple[str, str]], n: int) -> list[tuple[str, str]]:
    orgs = []
    for i in range(n):
        code, city = cities[i % len(cities)]
        body = "91" + code + "".join(rng.choice(identity.USCC_ALPHABET) for _ in range(9))
        name = (
            city.removesuffix("市").removesuffix("区")
            + rng.choice(SURNAMES)
            + rng.choice(GIVEN)
            + ORG_KINDS[i % len(ORG_KINDS)]
        )
        orgs.append((identity.make_credit_code(body), name))
    return orgs


def create_experts(
    session: Session,
    *,
    cipher: PiiCipher,
    count: int,
    seed: int,
    today: date | None = None,
    actor: str = "demo",
) -> int:
    """Insert `count` synthetic experts (with specialties, history, avoidances, leave); commits."""
    today = today or utcnow().date()
    rng = random.Random(seed)
    cities = [
        (c, n)
        for c, n in session.execute(
            select(Region.code, Region.name).where(Region.level >= 2).order_by(Region.code)
        )
    ]
    codes = list(
        session.execute(
            select(Specialty.code)
            .where(Specialty.level.in_((3, 4)), Specialty.is_retired.is_(False))
            .order_by(Specialty.code)
        ).scalars()
    )
    orgs = _orgs(rng, cities, max(50, count // 8))
    start_id = (session.execute(select(func.max(Expert.id))).scalar() or 0) + 1
    statuses = [s for s, _ in STATUS_WEIGHTS]
    weights = [w for _, w in STATUS_WEIGHTS]
    taken = set(
        session.execute(
            select(Expert.id_number_bidx).where(Expert.id_number_bidx.is_not(None))
        ).scalars()
    )
    now = utcnow()
    experts: list[dict[str, Any]] = []
    specs: list[dict[str, Any]] = []
    jobs: list[dict[str, Any]] = []
    avoid: list[dict[str, Any]] = []
    leave: list[dict[str, Any]] = []
    for i in range(count):
        eid = start_id + i
        city, _ = cities[i % len(cities)]
        status = rng.choices(statuses, weights)[0]
        age = (
            rng.randint(71, 78)
            if status is ExpertStatus.RETIRED and rng.random() < 0.5
            else rng.randint(33, 69)
        )
        birth = date(today.year - age, rng.randint(1, 12), rng.randint(1, 28))
        while True:
            id_number = identity.make_id_number(city[:4] + "03", birth, rng.randint(0, 999))
            bidx = cipher.blind_index(id_number, "id_number")
            if bidx not in taken:
                taken.add(bidx)
                break
        phone = (
            f"+86{rng.choice(['138', '139', '136', '150', '186', '188', '135', '137'])}"
            f"{rng.randint(0, 99_999_999):08d}"
        )
        title, level = rng.choice(TITLES)
        employer = (
            orgs[rng.randrange(len(orgs))] if rng.random() < 0.7 else orgs[(i * 7) % len(orgs)]
        )
        experts.append(
            {
                "id": eid,
                "user_id": None,
                "name": rng.choice(SURNAMES)
                + rng.choice(GIVEN)
                + rng.choice(["", rng.choice(GIVEN)]),
                "id_number_enc": cipher.encrypt(
                    id_number, table="expert", row_id=eid, column="id_number"
                ),
                "id_number_bidx": bidx,
                "phone_enc": cipher.encrypt(phone, table="expert", row_id=eid, column="phone"),
                "phone_bidx": cipher.blind_index(phone, "phone"),
                "email": f"expert{eid}@example.cn",
                "title": title,
                "title_level": level.value,
                "years_experience": rng.randint(8, max(8, age - 24)),
                "birth_date": birth,
                "home_region": city,
                "employer_code": employer[0],
                "employer_name": employer[1],
                "status": status.value,
                "suspended_until": today + timedelta(days=rng.randint(10, 300))
                if status is ExpertStatus.SUSPENDED
                else None,
                "status_reason": "",
                # Terms spread over the next three years; a few already over (undrawable until
                # renewed) and some inside the renewal window. From the id: the generator's
                # sequence, and so the rest of the demo, stays as it was.
                "term_ends_on": today + timedelta(days=(eid * 7919) % 1135 - 40)
                if status in (ExpertStatus.ACTIVE, ExpertStatus.ON_LEAVE, ExpertStatus.SUSPENDED)
                else None,
                "has_consented": status is not ExpertStatus.DRAFT,
                "consented_at": now,
                "submitted_at": None if status is ExpertStatus.DRAFT else now,
                "activated_at": now
                if status
                in (
                    ExpertStatus.ACTIVE,
                    ExpertStatus.ON_LEAVE,
                    ExpertStatus.SUSPENDED,
                    ExpertStatus.RETIRED,
                    ExpertStatus.REMOVED,
                )
                else None,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
        for code in sorted(set(rng.sample(codes, rng.randint(1, 3)))):
            # status and city are copied for search; the database triggers check the copies.
            specs.append(
                {"expert_id": eid, "code": code, "status": status.value, "home_region": city}
            )
        started = date(today.year - rng.randint(1, 12), rng.randint(1, 12), 1)
        past = orgs[rng.randrange(len(orgs))]
        jobs.append(
            {
                "expert_id": eid,
                "org_code": past[0],
                "org_name": past[1],
                "start_on": date(started.year - rng.randint(3, 15), 7, 1),
                "end_on": started - timedelta(days=1),
            }
        )
        jobs.append(
            {
                "expert_id": eid,
                "org_code": employer[0],
                "org_name": employer[1],
                "start_on": started,
                "end_on": None,
            }
        )
        for _ in range(rng.choice([0, 0, 1, 1, 2])):
            org = orgs[rng.randrange(len(orgs))]
            avoid.append(
                {
                    "expert_id": eid,
                    "org_code": org[0],
                    "org_name": org[1],
                    "kind": rng.choice(["declared", "relative"]),
                }
            )
        if status is ExpertStatus.ON_LEAVE:
            leave.append(
                {
                    "expert_id": eid,
                    "start_on": today - timedelta(days=rng.randint(0, 5)),
                    "end_on": today + timedelta(days=rng.randint(1, 30)),
                    "reason": "出差",
                    "created_at": now,
                }
            )
        elif status is ExpertStatus.ACTIVE and rng.random() < 0.08:
            first = today + timedelta(days=rng.randint(3, 60))
            leave.append(
                {
                    "expert_id": eid,
                    "start_on": first,
                    "end_on": first + timedelta(days=rng.randint(0, 14)),
                    "reason": "休假",
                    "created_at": now,
                }
            )
    for model, rows in (
        (Expert, experts),
        (ExpertSpecialty, specs),
        (ExpertEmployment, jobs),
        (ExpertAvoidance, avoid),
        (ExpertLeave, leave),
    ):
        for k in range(0, len(rows), BATCH):
            session.execute(insert(model.__table__), rows[k : k + BATCH])  # type: ignore[arg-type]
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('expert', 'id'), "
                "(SELECT max(id) FROM expert))"
            )
        )
    audit.record(
        session,
        actor=actor,
        action="demo.experts",
        object_type="expert",
        object_id=f"{start_id}..",
        after={"count": count, "seed": seed},
    )
    session.commit()
    refresh_statistics(session)
    return count


SEARCH_TABLES = (
    "expert",
    "expert_specialty",
    "expert_employment",
    "expert_avoidance",
    "expert_leave",
)


def refresh_statistics(session: Session) -> None:
    """Update the planner's statistics after a bulk load (PostgreSQL also vacuums for index-only
    scans).
    """
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        # VACUUM cannot run inside a transaction: use a connection of its own in autocommit mode.
        with bind.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE) " + ", ".join(SEARCH_TABLES))
    else:
        for table in SEARCH_TABLES:
            session.execute(text(f"ANALYZE {table}"))
        session.commit()


def own_term_end(today: date) -> date:
    """The demo login's term: well inside, so the demo expert is always drawable."""
    return today + timedelta(days=2 * 365)


def demo_step(session: Session, ctx: DemoContext, seed: int, options: dict[str, int]) -> str:
    """The `expertpool demo` step: link the demo expert login to an active record, add the pool,
    and give every expert without an account one without a password (in bulk, nothing hashed).
    """
    cipher = PiiCipher.from_keys(ctx.keys)
    login = session.execute(select(User).where(User.username == "expert")).scalar_one_or_none()
    lines = []
    if (
        login is not None
        and session.execute(select(Expert.id).where(Expert.user_id == login.id)).first() is None
    ):
        create_experts(session, cipher=cipher, count=1, seed=seed - 1)
        own = session.execute(select(Expert).order_by(Expert.id.desc()).limit(1)).scalar_one()
        own.user_id = login.id
        own.name = login.display_name
        own.status = ExpertStatus.ACTIVE
        own.term_ends_on = own_term_end(utcnow().date())
        session.commit()
        lines.append(f"demo login 'expert' is expert #{own.id}")
    wanted = int(options.get("experts", 3000))
    own_login = [] if login is None else [login.id]
    have = session.execute(
        select(func.count())
        .select_from(Expert)
        .where(or_(Expert.user_id.is_(None), Expert.user_id.not_in(own_login)))
    ).scalar_one()
    if have >= wanted:
        lines.append(f"{have} synthetic experts already present")
    else:
        create_experts(session, cipher=cipher, count=wanted - have, seed=seed + have)
        lines.append(f"{wanted - have} synthetic experts added")
    created = accounts.create_missing_accounts(session, actor="demo")
    if created:
        lines.append(f"{created} expert accounts created without a password (activated by SMS)")
    return "; ".join(lines)
