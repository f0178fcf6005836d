"""Demo step: a scheduled remote evaluation session (Guangzhou main venue, Shenzhen second
venue).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.accounts import users
from expertpool.accounts.models import User
from expertpool.demo.accounts import DEMO_PASSWORD
from expertpool.demo.context import DemoContext
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
    panel = PanelDescription(
        title=DEMO_TITLE,
        project_code="GZ-DEMO-2026-001",
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
                "bidder_code": "B001",
                "bidder_name": "广东甲医疗科技有限公司",
                "price": "1280000",
                "checks": {"资质": True},
            },
            {
                "bidder_code": "B002",
                "bidder_name": "深圳乙设备有限公司",
                "price": "1195000",
                "checks": {"资质": True},
            },
            {
                "bidder_code": "B003",
                "bidder_name": "佛山丙贸易有限公司",
                "price": "1100000",
                "checks": {"资质": False},
            },
        ],
    )
    row = create_session(
        session, panel, actor="demo", settings=room_settings(ctx.config), keys=ctx.keys
    )
    return (
        f"session {row.room_id} (logins: expert, expert.gz2, expert.gz3, expert.sz1, rep.sz, "
        "staff.gz, staff.sz, supervisor)"
    )
