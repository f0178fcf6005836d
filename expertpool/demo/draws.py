"""Demo step: one past project of the Guangzhou centre drawn at its terminal, accepted, opened and
awarded.

The whole protocol runs as it would have a week ago (the services take the moment as `now`):
request, prepare, both witnesses, the draw, every invitee accepting, the opening at the session
start and the award. Its transcript exports (`expertpool draws export`) and verifies under the
published key.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from expertpool.accounts.models import Centre, User
from expertpool.core.calendar import CST, is_working_day, working_days_between
from expertpool.core.db import utcnow
from expertpool.demo import bids as demo_bids
from expertpool.demo import past_session
from expertpool.demo.accounts import DEMO_PASSWORD
from expertpool.demo.context import DemoContext
from expertpool.demo.projects import OWNER, demo_credit_code
from expertpool.draws import protocol as draws
from expertpool.draws import requests as draw_requests
from expertpool.draws.models import Draw
from expertpool.draws.rules import DrawRules
from expertpool.experts.models import Expert, ExpertSpecialty, ExpertStatus
from expertpool.notifications import invitations
from expertpool.notifications.models import InvitationRecord, InvitationState
from expertpool.projects import projects
from expertpool.projects.models import Project, Terminal
from expertpool.rooms import opening
from expertpool.rooms.sessions import room_settings

CODE = "GZ-DEMO-000"
SEATS = 5
BACKUPS = 3


def specialty_prefix(session: Session) -> str | None:
    """The three-character specialty prefix held by the most active experts (None without
    enough).
    """
    prefix = func.substr(ExpertSpecialty.code, 1, 3)
    row = session.execute(
        select(prefix, func.count(func.distinct(ExpertSpecialty.expert_id)).label("n"))
        .join(Expert, Expert.id == ExpertSpecialty.expert_id)
        .where(Expert.status == ExpertStatus.ACTIVE)
        .group_by(prefix)
        .order_by(func.count(func.distinct(ExpertSpecialty.expert_id)).desc(), prefix)
        .limit(1)
    ).first()
    if row is None or row[1] < 2 * (SEATS + BACKUPS):
        return None
    return str(row[0])


def draw_at_terminal(
    session: Session,
    ctx: DemoContext,
    *,
    project_id: int,
    prefix: str,
    operator: User,
    supervisor: User,
    terminal: Terminal,
    at: datetime,
    digits: tuple[str, str],
) -> Draw:
    """Request, prepare, both witnesses and the draw at the terminal, a minute apart from `at`."""
    req = draw_requests.create_draw_request(
        session,
        actor=operator,
        terminal=terminal,
        project_id=project_id,
        rules=DrawRules.from_config(ctx.config),
        data={"groups": [{"specialties": [prefix], "count": SEATS, "backups": BACKUPS}]},
        now=at,
    )
    d = draws.prepare_draw(
        session,
        actor=operator,
        terminal=terminal,
        request_id=req.id,
        keys=ctx.keys,
        config=ctx.config,
        now=at,
    )
    draws.witness_operator(
        session,
        draw_id=d.draw_id,
        actor=operator,
        terminal=terminal,
        digits=digits[0],
        now=at + timedelta(minutes=1),
    )
    draws.witness_supervisor(
        session,
        draw_id=d.draw_id,
        terminal=terminal,
        username=supervisor.username,
        password=DEMO_PASSWORD,
        digits=digits[1],
        now=at + timedelta(minutes=2),
    )
    return draws.run_draw(
        session,
        draw_id=d.draw_id,
        actor=operator,
        terminal=terminal,
        keys=ctx.keys,
        config=ctx.config,
        now=at + timedelta(minutes=3),
        ctx=ctx.notify,
    )


def run_step(session: Session, ctx: DemoContext, seed: int, options: dict[str, int]) -> str:
    """Create the awarded demo project once; return a one-line summary with its draw id."""
    existing = session.execute(select(Project).where(Project.code == CODE)).scalar_one_or_none()
    if existing is not None:
        return f"{CODE} exists"
    prefix = specialty_prefix(session)
    operator = session.execute(select(User).where(User.username == "staff.gz")).scalar_one_or_none()
    supervisor = session.execute(
        select(User).where(User.username == "supervisor")
    ).scalar_one_or_none()
    owner = session.execute(select(Centre).where(Centre.region_code == OWNER)).scalar_one()
    terminal = (
        session.execute(
            select(Terminal).where(Terminal.centre_id == owner.id).order_by(Terminal.id)
        )
        .scalars()
        .first()
    )
    if prefix is None or operator is None or supervisor is None or terminal is None:
        return "skipped (too few active experts, or no demo staff, supervisor or terminal)"
    st = ctx
    evaluation = datetime.combine(
        (utcnow() - timedelta(days=7)).astimezone(CST).date(), time(9, 0), tzinfo=CST
    )
    drawn_at = evaluation - timedelta(hours=20)
    data = {
        "code": CODE,
        "name": "某中学改扩建工程监理（演示：已开标、已定标）",
        "kind": "services",
        "budget": "1800000.00",
        "tenderer_code": demo_credit_code(1),
        "tenderer_name": "广州市某区教育局",
        "agency_code": demo_credit_code(2),
        "agency_name": "广东某招标代理有限公司",
        "tenderer_representatives": 0,
        "evaluation_start": f"{evaluation:%Y-%m-%dT%H:%M}",
        "duration_minutes": 240,
    }
    project = projects.create_project(
        session, actor="demo", owner_centre_id=owner.id, data=data, now=drawn_at - timedelta(days=3)
    )
    bidders = [demo_credit_code(900 + b) for b in range(3)]
    for n, code in enumerate(bidders, start=1):
        projects.add_bidder(
            session, actor="demo", project_id=project.id, credit_code=code, name=f"演示监理单位{n}"
        )
    projects.mark_ready(session, actor="demo", project_id=project.id)
    d = draw_at_terminal(
        session,
        ctx,
        project_id=project.id,
        prefix=prefix,
        operator=operator,
        supervisor=supervisor,
        terminal=terminal,
        at=drawn_at,
        digits=(f"{seed:04d}31415", f"{seed:04d}27182"),
    )
    if d.status.value != "sealed":
        return f"draw {d.draw_id} failed: {d.reason}"
    for invitation in session.execute(
        select(InvitationRecord)
        .where(InvitationRecord.draw_id == d.draw_id)
        .order_by(InvitationRecord.rank)
    ).scalars():
        invitations.move(
            session,
            invitation,
            InvitationState.ACCEPTED,
            now=drawn_at + timedelta(minutes=30),
            ctx=ctx.notify,
            actor="demo",
            via="demo",
        )
    session.commit()
    # Before the opening the centre's staff upload the bids and the tender document.
    demo_bids.upload_documents(session, ctx, project, operator)
    # The opening act at the evaluation start opens the lot's draw and creates its session from
    # the experts who accepted, at their booked seats.
    row = opening.open_lot(
        session,
        project_id=project.id,
        lot_id=None,
        actor=operator,
        supervisor_username=supervisor.username,
        supervisor_password=DEMO_PASSWORD,
        keys=st.keys,
        settings=room_settings(st.config),
        now=evaluation,
    )
    ran = past_session.run_to_report(session, ctx, row, starts_at=evaluation)
    projects.mark_awarded(
        session,
        actor="demo",
        project_id=project.id,
        awarded_on=evaluation.date().isoformat(),
        winner_code=bidders[0],
        now=evaluation + timedelta(days=1),
    )
    return (
        f"{CODE} drawn, opened (its session created by the opening), {ran}, and awarded; "
        f"draw {d.draw_id} (expertpool draws export {d.draw_id})"
    )


SEALED_CODE = "GZ-DEMO-004"


def _next_evaluation(now: datetime, lead_working_days: int) -> datetime:
    """The next working day's 09:00 (CST) that a draw today may serve (within the lead time)."""
    today = now.astimezone(CST).date()
    day = today + timedelta(days=1)
    while not is_working_day(day) or working_days_between(today, day) < 1:
        day += timedelta(days=1)
    if working_days_between(today, day) > lead_working_days:  # pragma: no cover - lead >= 1
        day = today + timedelta(days=1)
    return datetime.combine(day, time(9, 0), tzinfo=CST)


def sealed_step(session: Session, ctx: DemoContext, seed: int, options: dict[str, int]) -> str:
    """A project drawn today at its terminal, answers in, the panel sealed until its opening.

    The evaluation is on the next working day. The primaries accept except the second, who
    declines: the first backup is invited in rank order and accepts. Nothing about who was drawn
    shows anywhere until the main venue's staff and a supervisor open the draw at the evaluation
    start (docs/sealing.md).
    """
    existing = session.execute(
        select(Project).where(Project.code == SEALED_CODE)
    ).scalar_one_or_none()
    if existing is not None:
        return f"{SEALED_CODE} exists ({existing.status.value})"
    owner = session.execute(select(Centre).where(Centre.region_code == OWNER)).scalar_one()
    prefix = specialty_prefix(session)
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
    if prefix is None or operator is None or supervisor is None or terminal is None:
        return "skipped (too few active experts, or no demo staff, supervisor or terminal)"
    now = utcnow()
    evaluation = _next_evaluation(now, ctx.config.draw_lead_working_days)
    project = projects.create_project(
        session,
        actor="demo",
        owner_centre_id=owner.id,
        data={
            "code": SEALED_CODE,
            "name": "某街道社区服务中心装修工程（演示：已抽取，待开标）",
            "kind": "works",
            "budget": "2600000.00",
            "tenderer_code": demo_credit_code(3),
            "tenderer_name": "广州市某街道办事处",
            "agency_code": demo_credit_code(2),
            "agency_name": "广东某招标代理有限公司",
            "tenderer_representatives": 0,
            "evaluation_start": f"{evaluation:%Y-%m-%dT%H:%M}",
            "duration_minutes": 240,
        },
        now=now,
    )
    for n in range(3):
        projects.add_bidder(
            session,
            actor="demo",
            project_id=project.id,
            credit_code=demo_credit_code(950 + n),
            name=f"演示施工单位{n + 1}",
        )
    projects.mark_ready(session, actor="demo", project_id=project.id)
    d = draw_at_terminal(
        session,
        ctx,
        project_id=project.id,
        prefix=prefix,
        operator=operator,
        supervisor=supervisor,
        terminal=terminal,
        at=now,
        digits=(f"{seed:04d}16180", f"{seed:04d}14142"),
    )
    if d.status.value != "sealed":
        return f"draw {d.draw_id} failed: {d.reason}"
    answered = 0
    while True:
        open_ = (
            session.execute(
                select(InvitationRecord)
                .where(
                    InvitationRecord.draw_id == d.draw_id,
                    InvitationRecord.state == InvitationState.QUEUED,
                )
                .order_by(InvitationRecord.rank)
            )
            .scalars()
            .first()
        )
        if open_ is None:
            break
        answer = InvitationState.DECLINED if answered == 1 else InvitationState.ACCEPTED
        invitations.move(session, open_, answer, now=now, ctx=ctx.notify, actor="demo", via="demo")
        session.commit()
        answered += 1
    return (
        f"{SEALED_CODE} drawn today, {answered} answers in, sealed until its opening "
        f"(draw {d.draw_id})"
    )
