"""A remote session (Guangzhou main venue, Shenzhen secondary) run to its close at known times:
the hand-checked example of docs/fees.md."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from expertpool.accounts.models import Centre
from expertpool.demo.fees import Replacement, run_session
from expertpool.demo.projects import demo_credit_code
from expertpool.experts.models import Expert, ExpertStatus
from expertpool.projects.models import Project, ProjectKind, ProjectStatus
from expertpool.projects.venues import create_venue
from expertpool.regimes.models import LegalRegime, ProcurementMethod
from expertpool.rooms import sessions as rooms

DAY = datetime(2026, 11, 9, 1, 0, tzinfo=UTC)  # Monday 09:00 CST
"""The evaluation day of the example."""


@dataclass
class ClosedSession:
    """The example's session, its project and people (by the names docs/fees.md uses)."""

    app: Flask
    room_id: str
    session_id: int
    project: Project
    people: dict[str, Any]

    def close(self, status: ProjectStatus = ProjectStatus.AWARDED) -> None:
        """Award (or fail, or cancel) the project: the close."""
        session = self.app.extensions["expertpool"].sessions()
        project = session.get(Project, self.project.id)
        project.status = status
        project.outcome_at = DAY + timedelta(hours=6)
        session.commit()


def _expert(session: Any, user: Any, region: str) -> None:
    session.add(
        Expert(
            user_id=user.id,
            name=user.display_name,
            home_region=region,
            status=ExpertStatus.ACTIVE,
        )
    )


@pytest.fixture()
def example(app: Flask, make_user: Callable[..., Any]) -> ClosedSession:
    """Experts A–D and the backup F live in Guangzhou, E in Shenzhen; D leaves at 11:00 and F
    takes the seat at 11:40; the room closes at 14:30."""
    st = app.extensions["expertpool"]
    session = st.sessions()
    names = {
        "A": "专家甲",
        "B": "专家乙",
        "C": "专家丙",
        "D": "专家丁",
        "E": "专家戊",
        "F": "专家己",
    }
    people = {k: make_user(role="expert", display_name=v) for k, v in names.items()}
    people["h_gz"] = make_user(role="centre_staff", centre="440100", display_name="广州主持")
    people["h_sz"] = make_user(role="centre_staff", centre="440300", display_name="深圳主持")
    people["sup"] = make_user(role="supervisor")
    for k in "ABCDF":
        _expert(session, people[k], "440100")
    _expert(session, people["E"], "440300")
    session.commit()
    gz = create_venue(session, actor="test", centre_code="440100", name="广州一号厅", seats=10)
    sz = create_venue(session, actor="test", centre_code="440300", name="深圳远程厅", seats=5)
    centre = session.execute(select(Centre).where(Centre.region_code == "440100")).scalar_one()
    project = Project(
        code="GZ-FEES-001",
        name="某医院设备采购",
        kind=ProjectKind.GOODS,
        regime=LegalRegime.GOVERNMENT_PROCUREMENT,
        method=ProcurementMethod.OPEN_TENDER,
        budget_fen=100_000_000,
        tenderer_code=demo_credit_code(71),
        tenderer_name="广州市某人民医院",
        agency_code=demo_credit_code(72),
        agency_name="某招标代理有限公司",
        evaluation_start_at=DAY,
        duration_minutes=360,
        owner_centre_id=centre.id,
        main_centre_id=centre.id,
        is_remote=True,
        status=ProjectStatus.OPENED,
    )
    session.add(project)
    session.commit()
    panel = rooms.PanelDescription(
        title="某医院设备采购 #1",
        project_code=project.code,
        lot="1",
        venues=[rooms.VenueSpec(f"v{gz.id}", gz.name, True), rooms.VenueSpec(f"v{sz.id}", sz.name)],
        members=[
            rooms.SeatSpec(people[k].id, "expert", f"v{gz.id}", f"G-{i}")
            for i, k in enumerate("ABCD", 1)
        ]
        + [rooms.SeatSpec(people["E"].id, "expert", f"v{sz.id}", "S-1")],
        hosts=[
            rooms.StaffSpec(people["h_gz"].id, f"v{gz.id}"),
            rooms.StaffSpec(people["h_sz"].id, f"v{sz.id}"),
        ],
        supervisors=[rooms.StaffSpec(people["sup"].id)],
        project_id=project.id,
        starts_at=DAY,
        form=rooms.STANDARD_FORM,
        bids=[
            {"bidder_code": "B001", "bidder_name": "甲公司", "price": "980000", "checks": {}},
            {"bidder_code": "B002", "bidder_name": "乙公司", "price": "950000", "checks": {}},
        ],
    )
    row = rooms.create_session(
        session, panel, actor="test", settings=rooms.room_settings(st.config), keys=st.keys
    )
    minutes = {"A": 0, "B": 5, "C": 10, "D": 15, "E": 12}
    run_session(
        session,
        st.keys,
        row.room_id,
        opened_at=DAY - timedelta(minutes=10),
        check_ins={people[k].id: DAY + timedelta(minutes=m) for k, m in minutes.items()},
        leader_user_id=people["A"].id,
        closed_at=DAY + timedelta(hours=5, minutes=30),
        replacement=Replacement(
            people["D"].id,
            people["F"].id,
            names["F"],
            DAY + timedelta(hours=2),
            DAY + timedelta(hours=2, minutes=40),
        ),
    )
    return ClosedSession(app, row.room_id, row.id, project, people)
