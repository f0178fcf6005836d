"""Demo step: a scheduled remote evaluation session (Guangzhou main venue, Shenzhen second
venue).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.accounts import users
from expertpool.accounts.models import Centre, User
from expertpool.core.calendar import CST
from expertpool.core.db import utcnow
from expertpool.demo import bids as demo_bids
from expertpool.demo.accounts import DEMO_PASSWORD
from expertpool.demo.context import DemoContext
from expertpool.demo.projects import OWNER, demo_credit_code
from expertpool.projects import projects
from expertpool.projects.models import Project
from expertpool.rooms.models import EvaluationSession
from expertpool.rooms.sessions import (
    STANDARD_FORM,
    PanelDescription,
    SeatSpec,
    StaffSpec,
    VenueSpec,
    create_session,
    room_settings,
)

DEMO_TITLE = "演示：某市人民医院医疗设备采购（远程异地评标）"
DEMO_CODE = "GZ-DEMO-2026-001"
DEMO_BIDDERS = (
    # name, price, whether the qualification check passed
    ("广东甲医疗科技有限公司", "1280000", True),
    ("深圳乙设备有限公司", "1195000", True),
    ("佛山丙贸易有限公司", "1100000", False),
)
DEMO_MEMBERS = (
    ("expert", "expert", "main"),
    ("expert.gz2", "expert", "main"),
    ("expert.gz3", "expert", "main"),
    ("expert.sz1", "expert", "second"),
    ("rep.sz", "representative", "second"),
)


def demo_session(session: Session, ctx: DemoContext, seed: int, options: dict[str, int]) -> str:
    """Demo step: a scheduled session (Guangzhou main venue, Shenzhen second venue) with bids."""
    if session.execute(
        select(EvaluationSession.id).where(EvaluationSession.title == DEMO_TITLE)
    ).first():
        return "exists"
    names = {
        "expert.gz2": "演示专家二",
        "expert.gz3": "演示专家三",
        "expert.sz1": "演示专家四",
        "rep.sz": "招标人代表",
    }
    ids: dict[str, int] = {}
    for username in [m[0] for m in DEMO_MEMBERS] + ["staff.gz", "staff.sz", "supervisor"]:
        user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if user is None:
            user = users.create_user(
                session,
                actor="demo",
                username=username,
                display_name=names[username],
                password=DEMO_PASSWORD,
                role="expert",
            )
        ids[username] = user.id
    project = _project(session, ctx, ids["staff.gz"])
    panel = PanelDescription(
        title=DEMO_TITLE,
        project_code=DEMO_CODE,
        lot="1",
        venues=[
            VenueSpec("main", "广州市公共资源交易中心（主场）", True),
            VenueSpec("second", "深圳市公共资源交易中心（副场）"),
        ],
        members=[
            SeatSpec(ids[u], role, venue, f"{venue[:1].upper()}-{n:02d}")
            for n, (u, role, venue) in enumerate(DEMO_MEMBERS, 1)
        ],
        hosts=[StaffSpec(ids["staff.gz"], "main"), StaffSpec(ids["staff.sz"], "second")],
        supervisors=[StaffSpec(ids["supervisor"])],
        form=STANDARD_FORM,
        bids=[
            {
                "bidder_code": b.credit_code,
                "bidder_name": b.name,
                "price": price,
                "checks": {"资质": passed},
            }
            for b, (_name, price, passed) in zip(project.bidders, DEMO_BIDDERS, strict=True)
        ],
        project_id=project.id,
    )
    row = create_session(
        session, panel, actor="demo", settings=room_settings(ctx.config), keys=ctx.keys
    )
    return (
        f"session {row.room_id} (logins: expert, expert.gz2, expert.gz3, expert.sz1, rep.sz, "
        "staff.gz, staff.sz, supervisor)"
    )


def _project(session: Session, ctx: DemoContext, staff_id: int) -> Project:
    """The walkable session's project with its bidders, whose bid files and tender document the
    Guangzhou staff upload before the session is made (docs/bids.md)."""
    project = session.execute(select(Project).where(Project.code == DEMO_CODE)).scalar_one_or_none()
    if project is None:
        owner = session.execute(select(Centre).where(Centre.region_code == OWNER)).scalar_one()
        start = (utcnow().astimezone(CST)).strftime("%Y-%m-%dT09:00")
        project = projects.create_project(
            session,
            actor="demo",
            owner_centre_id=owner.id,
            data={
                "code": DEMO_CODE,
                "name": "某市人民医院医疗设备采购（演示：远程异地评标）",
                "kind": "goods",
                "budget": "1350000.00",
                "tenderer_code": demo_credit_code(4),
                "tenderer_name": "某市人民医院",
                "agency_code": demo_credit_code(2),
                "agency_name": "广东某招标代理有限公司",
                "tenderer_representatives": 1,
                "evaluation_start": start,
                "duration_minutes": 240,
            },
            now=utcnow(),
        )
        for n, (name, _price, _passed) in enumerate(DEMO_BIDDERS):
            projects.add_bidder(
                session,
                actor="demo",
                project_id=project.id,
                credit_code=demo_credit_code(980 + n),
                name=name,
            )
    staff = session.get(User, staff_id)
    if staff is not None:
        demo_bids.upload_documents(session, ctx, project, staff)
    return project
