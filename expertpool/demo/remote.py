"""Demo step: remote projects whose two secondary venues the system picked at random.

Each project names only its main venue (Guangzhou); its draw request has a main group and two
secondary venues' groups with their quotas. When the request was made the system picked two
venues among the centres with enough free seats (Shenzhen, Foshan and Zhuhai offer some), sealed
the pick and recorded it in the draw ledger (`draws/remote.py`, docs/remote-venues.md):

- `GZ-DEMO-006` was evaluated last week: its draw was opened, so the ledger's `opened` entry
  reveals the pick and the project page names its secondary venues;
- `GZ-DEMO-007` is evaluated on the next working day: drawn and answered, sealed until its
  opening; its pages show "secondary venue 1" and "secondary venue 2", never where.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.accounts.models import Centre, User
from expertpool.core.calendar import CST
from expertpool.core.db import utcnow
from expertpool.core.errors import AppError
from expertpool.demo.accounts import DEMO_PASSWORD
from expertpool.demo.context import DemoContext
from expertpool.demo.draws import _next_evaluation, specialty_prefix
from expertpool.demo.projects import OWNER, demo_credit_code
from expertpool.draws import protocol as draws
from expertpool.draws import requests as draw_requests
from expertpool.draws.models import Draw
from expertpool.draws.rules import DrawRules
from expertpool.notifications import invitations
from expertpool.notifications.models import InvitationRecord, InvitationState
from expertpool.projects import projects
from expertpool.projects.models import Project, Terminal, VenueRecord
from expertpool.projects.venues import create_venue

PAST_CODE = "GZ-DEMO-006"
SEALED_CODE = "GZ-DEMO-007"
# A third candidate beside the Shenzhen and Foshan venues of the projects step.
EXTRA_VENUES = (("440400", "珠海评标中心远程厅", 6),)


def _groups(prefix: str) -> list[dict[str, object]]:
    # The secondary venues' groups take the broad category: whichever city is picked has some.
    broad = prefix[:1]
    return [
        {"specialties": [broad], "count": 1, "backups": 2, "remote": True},
        {"specialties": [broad], "count": 1, "backups": 2, "remote": True},
        {"specialties": [prefix], "count": 3, "backups": 2},
    ]


def _remote_draw(
    session: Session,
    ctx: DemoContext,
    *,
    code: str,
    name: str,
    evaluation: datetime,
    at: datetime,
    prefix: str,
    operator: User,
    supervisor: User,
    terminal: Terminal,
    digits: tuple[str, str],
) -> Draw:
    owner = session.execute(select(Centre).where(Centre.region_code == OWNER)).scalar_one()
    project = projects.create_project(
        session,
        actor="demo",
        owner_centre_id=owner.id,
        data={
            "code": code,
            "name": name,
            "kind": "works",
            "budget": "5600000.00",
            "tenderer_code": demo_credit_code(5),
            "tenderer_name": "广东省某厅机关服务中心",
            "agency_code": demo_credit_code(2),
            "agency_name": "广东某招标代理有限公司",
            "tenderer_representatives": 0,
            "evaluation_start": f"{evaluation:%Y-%m-%dT%H:%M}",
            "duration_minutes": 240,
            "is_remote": True,
        },
        now=at - timedelta(days=2),
        secondary_picked=True,
    )
    for n in range(3):
        projects.add_bidder(
            session,
            actor="demo",
            project_id=project.id,
            credit_code=demo_credit_code(970 + n),
            name=f"演示远程投标单位{n + 1}",
        )
    projects.mark_ready(session, actor="demo", project_id=project.id)
    req = draw_requests.create_draw_request(
        session,
        actor=operator,
        terminal=terminal,
        project_id=project.id,
        rules=DrawRules.from_config(ctx.config),
        data={"groups": _groups(prefix)},
        now=at,
        keys=ctx.keys,
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
    d = draws.run_draw(
        session,
        draw_id=d.draw_id,
        actor=operator,
        terminal=terminal,
        keys=ctx.keys,
        config=ctx.config,
        now=at + timedelta(minutes=3),
        ctx=ctx.notify,
    )
    if d.status.value == "sealed":
        for invitation in session.execute(
            select(InvitationRecord)
            .where(InvitationRecord.draw_id == d.draw_id)
            .order_by(InvitationRecord.id)
        ).scalars():
            invitations.move(
                session,
                invitation,
                InvitationState.ACCEPTED,
                now=at + timedelta(minutes=30),
                ctx=ctx.notify,
                actor="demo",
                via="demo",
            )
        session.commit()
    return d


def run_step(session: Session, ctx: DemoContext, seed: int, options: dict[str, int]) -> str:
    """Create the two remote projects once; return a one-line summary."""
    if session.execute(select(Project).where(Project.code == SEALED_CODE)).first() is not None:
        return f"{PAST_CODE} and {SEALED_CODE} exist"
    for centre_code, venue_name, seats in EXTRA_VENUES:
        centre = session.execute(
            select(Centre).where(Centre.region_code == centre_code)
        ).scalar_one()
        if (
            session.execute(
                select(VenueRecord).where(
                    VenueRecord.centre_id == centre.id, VenueRecord.name == venue_name
                )
            ).first()
            is None
        ):
            create_venue(
                session, actor="demo", centre_code=centre_code, name=venue_name, seats=seats
            )
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
    try:
        return _both(session, ctx, seed, prefix, operator, supervisor, terminal)
    except AppError as exc:  # e.g. too few experts in a picked city for a small demo pool
        session.rollback()
        return f"skipped ({exc.message})"


def _both(
    session: Session,
    ctx: DemoContext,
    seed: int,
    prefix: str,
    operator: User,
    supervisor: User,
    terminal: Terminal,
) -> str:
    lines = []
    past = datetime.combine(
        (utcnow() - timedelta(days=6)).astimezone(CST).date(), time(9, 0), tzinfo=CST
    )
    d = _remote_draw(
        session,
        ctx,
        code=PAST_CODE,
        name="省直机关办公楼维修工程（演示：远程异地评标，副场已随机抽取并开启）",
        evaluation=past,
        at=past - timedelta(hours=20),
        prefix=prefix,
        operator=operator,
        supervisor=supervisor,
        terminal=terminal,
        digits=(f"{seed:04d}57721", f"{seed:04d}66016"),
    )
    if d.status.value == "sealed":
        draws.open_draw(
            session,
            draw_id=d.draw_id,
            actor=operator,
            supervisor_username=supervisor.username,
            supervisor_password=DEMO_PASSWORD,
            keys=ctx.keys,
            now=past,
        )
        project = session.get(Project, d.project_id)
        where = ", ".join(c.name for c in project.secondary_centres) if project else ""
        lines.append(f"{PAST_CODE} opened: secondary venues revealed ({where})")
    else:
        lines.append(f"{PAST_CODE} draw {d.draw_id} {d.status.value}: {d.reason}")
    now = utcnow()
    d = _remote_draw(
        session,
        ctx,
        code=SEALED_CODE,
        name="省直机关食堂改造工程（演示：远程异地评标，副场随机抽取，开启前不显示）",
        evaluation=_next_evaluation(now, ctx.config.draw_lead_working_days),
        at=now,
        prefix=prefix,
        operator=operator,
        supervisor=supervisor,
        terminal=terminal,
        digits=(f"{seed:04d}24142", f"{seed:04d}17320"),
    )
    lines.append(
        f"{SEALED_CODE} draw {d.draw_id} {d.status.value}: two secondary venues picked, hidden "
        "until its opening"
    )
    return "; ".join(lines)
