"""Demo step: the rule table, a project per legal regime (one of them special), and a project
per outcome: failed after its panel accepted (seats released, experts told), cancelled, and
postponed with its panel kept.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.accounts.models import Centre, User
from expertpool.core.calendar import CST, is_working_day
from expertpool.core.db import utcnow
from expertpool.demo.context import DemoContext
from expertpool.demo.draws import draw_at_terminal, specialty_prefix
from expertpool.demo.projects import OWNER, demo_credit_code
from expertpool.notifications import invitations
from expertpool.notifications.models import InvitationRecord, InvitationState
from expertpool.outcomes import outcomes
from expertpool.projects import projects
from expertpool.projects.models import Project, Terminal
from expertpool.regimes import rulebook

ORG = {
    "tenderer_code": demo_credit_code(5),
    "tenderer_name": "广州市某公共资源交易主体",
    "agency_code": demo_credit_code(2),
    "agency_name": "广东某招标代理有限公司",
    "tenderer_representatives": 0,
    "duration_minutes": 240,
}
REGIME_PROJECTS: tuple[dict[str, Any], ...] = (
    {
        "code": "GZ-REG-TL",
        "name": "某快速路改造工程施工（招标投标法，5 人评标委员会）",
        "kind": "works",
        "regime": "tendering_law",
        "method": "open_tender",
        "budget": "50000000",
    },
    {
        "code": "GZ-REG-GP",
        "name": "某单位信息化运维服务（政府采购 竞争性谈判，3 人谈判小组）",
        "kind": "services",
        "regime": "government_procurement",
        "method": "competitive_negotiation",
        "budget": "800000",
    },
    {
        "code": "GZ-REG-LAND",
        "name": "某地块国有建设用地使用权出让评审",
        "kind": "services",
        "regime": "land",
        "method": "open_tender",
        "budget": "0",
    },
    {
        "code": "GZ-REG-MINE",
        "name": "某采矿权出让评审",
        "kind": "services",
        "regime": "mining_rights",
        "method": "open_tender",
        "budget": "0",
    },
    {
        "code": "GZ-REG-ASSET",
        "name": "某国有企业股权转让评审",
        "kind": "services",
        "regime": "state_assets",
        "method": "invited_tender",
        "budget": "0",
    },
    {
        "code": "GZ-REG-MED",
        "name": "某医院医用耗材集中采购",
        "kind": "goods",
        "regime": "medical_consumables",
        "method": "open_tender",
        "budget": "3000000",
    },
    {
        "code": "GZ-REG-SPECIAL",
        "name": "某涉密系统单一来源采购（特殊项目）",
        "kind": "services",
        "regime": "government_procurement",
        "method": "single_source",
        "budget": "600000",
        "is_special": True,
        "special_reason": (
            "涉密信息系统，随机抽取的专家难以胜任，招标人依法直接确定具备保密资质的专家"
        ),
    },
)
FAILED, CANCELLED, POSTPONED = "GZ-OUT-FAILED", "GZ-OUT-CANCELLED", "GZ-OUT-POSTPONED"


def _afternoon_after(now: datetime, days: int) -> datetime:
    """14:00 (CST) of the `days`-th working day after today (after the sealed demo's morning)."""
    day = now.astimezone(CST).date()
    while days:
        day += timedelta(days=1)
        if is_working_day(day):
            days -= 1
    return datetime.combine(day, time(14, 0), tzinfo=CST)


def _project(session: Session, owner: Centre, data: dict[str, Any], now: datetime) -> Project:
    project = projects.create_project(
        session, actor="demo", owner_centre_id=owner.id, data={**ORG, **data}, now=now
    )
    for n in range(3):
        projects.add_bidder(
            session,
            actor="demo",
            project_id=project.id,
            credit_code=demo_credit_code(700 + 10 * project.id % 200 + n),
            name=f"演示投标单位{project.code}-{n + 1}",
            is_small_enterprise=n == 1,
        )
    return projects.mark_ready(session, actor="demo", project_id=project.id, now=now)


def _drawn_and_accepted(
    session: Session, ctx: DemoContext, project: Project, people: dict[str, Any], at: datetime
) -> str | None:
    d = draw_at_terminal(
        session,
        ctx,
        project_id=project.id,
        prefix=people["prefix"],
        operator=people["operator"],
        supervisor=people["supervisor"],
        terminal=people["terminal"],
        at=at,
        digits=("20161231", "20170101"),
    )
    if d.status.value != "sealed":
        return f"{project.code}: draw failed ({d.reason})"
    for invitation in session.execute(
        select(InvitationRecord)
        .where(InvitationRecord.draw_id == d.draw_id)
        .order_by(InvitationRecord.rank)
    ).scalars():
        invitations.move(
            session, invitation, InvitationState.ACCEPTED, now=at, ctx=ctx.notify, actor="demo"
        )
    session.commit()
    return None


def run_step(session: Session, ctx: DemoContext, seed: int, options: dict[str, int]) -> str:
    """Create what is missing; return a one-line summary."""
    rulebook.load_rules(session, actor="demo")
    owner = session.execute(select(Centre).where(Centre.region_code == OWNER)).scalar_one()
    now = utcnow()
    made = []
    approver = session.execute(select(User).where(User.username == "supervisor")).scalar_one()
    for n, data in enumerate(REGIME_PROJECTS):
        if session.execute(select(Project.id).where(Project.code == data["code"])).first():
            continue
        start = (now.astimezone(CST) + timedelta(days=14 + n)).strftime("%Y-%m-%dT09:00")
        project = _project(session, owner, {**data, "evaluation_start": start}, now)
        if project.is_special:
            projects.approve_special(
                session,
                actor=approver,
                project_id=project.id,
                now=now,
            )
        made.append(project.code)
    operator = session.execute(select(User).where(User.username == "staff.gz")).scalar_one_or_none()
    supervisor = session.execute(
        select(User).where(User.username == "supervisor")
    ).scalar_one_or_none()
    terminal = (
        session.execute(
            select(Terminal).where(Terminal.centre_id == owner.id).order_by(Terminal.id)
        )
        .scalars()
        .first()
    )
    prefix = specialty_prefix(session)
    if operator is None or supervisor is None or terminal is None:
        return f"{len(made)} regime projects; outcomes skipped (no demo staff or terminal)"
    people = {
        "operator": operator,
        "supervisor": supervisor,
        "terminal": terminal,
        "prefix": prefix,
    }
    evaluation = _afternoon_after(now, 1)
    base = {
        "kind": "works",
        "regime": "tendering_law",
        "method": "open_tender",
        "budget": "3000000",
        "evaluation_start": f"{evaluation:%Y-%m-%dT%H:%M}",
    }
    if not session.execute(select(Project.id).where(Project.code == CANCELLED)).first():
        project = _project(
            session,
            owner,
            {**base, "code": CANCELLED, "name": "某公园景观提升工程（演示：已取消）"},
            now,
        )
        outcomes.end_project(
            session,
            actor=operator,
            project_id=project.id,
            outcome="cancelled",
            reason="采购需求调整，项目取消",
            ctx=ctx.notify,
            now=now,
        )
        made.append(CANCELLED)
    if prefix is None:
        return f"{len(made)} projects added; drawn outcomes skipped (too few active experts)"
    if not session.execute(select(Project.id).where(Project.code == FAILED)).first():
        project = _project(
            session,
            owner,
            {**base, "code": FAILED, "name": "某河道整治工程（演示：流标，工位已释放）"},
            now,
        )
        problem = _drawn_and_accepted(session, ctx, project, people, now)
        if problem:
            return problem
        outcomes.end_project(
            session,
            actor=operator,
            project_id=project.id,
            outcome="failed",
            failure_kind="too_few_bids",
            reason="递交投标文件的投标人不足三家，依法重新招标",
            ctx=ctx.notify,
            now=now,
        )
        made.append(FAILED)
    if not session.execute(select(Project.id).where(Project.code == POSTPONED)).first():
        project = _project(
            session,
            owner,
            {**base, "code": POSTPONED, "name": "某学校运动场改造工程（演示：已延期，专家不变）"},
            now,
        )
        problem = _drawn_and_accepted(session, ctx, project, people, now)
        if problem:
            return problem
        later = _afternoon_after(now, 2)
        outcomes.postpone_project(
            session,
            actor=operator,
            project_id=project.id,
            evaluation_start=f"{later:%Y-%m-%dT%H:%M}",
            reason="招标文件澄清，开标时间顺延",
            ctx=ctx.notify,
            now=now,
        )
        made.append(POSTPONED)
    return f"{len(made)} projects added ({', '.join(made) or 'none'})"
