"""Demo step: terminals and venues for the demo centres, and three projects of the Guangzhou
centre.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.accounts.models import Centre
from expertpool.core.calendar import CST
from expertpool.core.db import utcnow
from expertpool.demo.context import DemoContext
from expertpool.projects import projects
from expertpool.projects.codes import credit_code_check_char
from expertpool.projects.models import Bidder, Project, Terminal, VenueRecord
from expertpool.projects.terminals import token_hash
from expertpool.projects.venues import create_venue

OWNER = "440100"  # the Guangzhou centre (demo login staff.gz)
TERMINAL_CENTRES = ("440100", "440300")
VENUES = (
    ("440100", "广州评标中心一号厅", 20),
    ("440300", "深圳评标中心远程厅", 10),
    ("440600", "佛山评标中心远程厅", 10),
)


def demo_credit_code(n: int) -> str:
    """A valid, made-up unified social credit code for demo organisations."""
    first17 = f"91440100MA5{n:06d}"
    return first17 + credit_code_check_char(first17)


def demo_terminal_credential(seed: int, centre: str) -> str:
    """The demo terminal credential of a centre (deterministic so the demo can print it again)."""
    return "term_demo_" + hashlib.sha256(f"{seed}:{centre}".encode()).hexdigest()[:32]


def _centre(session: Session, code: str) -> Centre:
    return session.execute(select(Centre).where(Centre.region_code == code)).scalar_one()


def _start(now: datetime, days: int) -> str:
    return (now.astimezone(CST) + timedelta(days=days)).strftime("%Y-%m-%dT09:00")


def run_step(session: Session, ctx: DemoContext, seed: int, options: dict[str, int]) -> str:
    """Create what is missing; return a one-line summary with the terminal credentials."""
    for code in TERMINAL_CENTRES:
        centre = _centre(session, code)
        name = f"{centre.name}抽取终端1"
        if (
            session.execute(
                select(Terminal).where(Terminal.centre_id == centre.id, Terminal.name == name)
            ).first()
            is None
        ):
            session.add(
                Terminal(
                    centre=centre,
                    name=name,
                    token_hash=token_hash(demo_terminal_credential(seed, code)),
                )
            )
    for code, name, seats in VENUES:
        centre = _centre(session, code)
        if (
            session.execute(
                select(VenueRecord).where(
                    VenueRecord.centre_id == centre.id, VenueRecord.name == name
                )
            ).first()
            is None
        ):
            session.commit()
            create_venue(session, actor="demo", centre_code=code, name=name, seats=seats)
    session.commit()
    owner = _centre(session, OWNER)
    now = utcnow()
    org = {
        "tenderer_code": demo_credit_code(1),
        "tenderer_name": "广州市某区建设局",
        "agency_code": demo_credit_code(2),
        "agency_name": "广东某招标代理有限公司",
    }
    wanted = [
        {
            "code": "GZ-DEMO-001",
            "name": "某区道路改造工程施工",
            "kind": "works",
            "budget": "8500000.00",
            "tenderer_representatives": 0,
            "evaluation_start": _start(now, 2),
            "duration_minutes": 240,
        },
        {
            "code": "GZ-DEMO-002",
            "name": "某医院医疗设备采购",
            "kind": "goods",
            "budget": "12000000.00",
            "tenderer_representatives": 2,
            "evaluation_start": _start(now, 10),
            "duration_minutes": 300,
            "is_remote": True,
            "secondary_centres": ["440300", "440600"],
        },
        {
            "code": "GZ-DEMO-003",
            "name": "政务系统运维服务",
            "kind": "services",
            "budget": "960000.50",
            "tenderer_representatives": 0,
            "evaluation_start": _start(now, 20),
            "duration_minutes": 180,
        },
    ]
    made = 0
    for n, data in enumerate(wanted):
        if session.execute(select(Project).where(Project.code == data["code"])).first() is not None:
            continue
        project = projects.create_project(
            session, actor="demo", owner_centre_id=owner.id, data={**org, **data}, now=now
        )
        for b in range(3):
            projects.add_bidder(
                session,
                actor="demo",
                project_id=project.id,
                credit_code=demo_credit_code(100 + 10 * n + b),
                name=f"演示投标单位{n + 1}-{b + 1}",
            )
        if n == 0:
            projects.mark_ready(session, actor="demo", project_id=project.id)
        made += 1
    bidders = session.execute(
        select(Bidder).join(Project).where(Project.owner_centre_id == owner.id)
    ).all()
    creds = ", ".join(f"{c}={demo_terminal_credential(seed, c)}" for c in TERMINAL_CENTRES)
    return (
        f"{made} projects added ({len(bidders)} bidders in all); draw-terminal credentials "
        f"(log in as centre staff, open /terminal and enter the centre's credential once to make "
        f"that browser its draw terminal): {creds}"
    )
