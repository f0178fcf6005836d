"""A signed-off session of a project: the standard committee, three bids of which one failed the
qualification check, one dissent; the project's tenderer has a contact account."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from evaluation_room.handlers import NAMESPACE
from expertpool.accounts.models import Centre
from expertpool.organisations.models import Organisation, OrganisationContact
from expertpool.projects.models import Project, ProjectKind, ProjectStatus
from expertpool.regimes.models import LegalRegime, ProcurementMethod
from expertpool.rooms.models import EvaluationSession
from tests.conftest import PASSWORD
from tests.integration.room.conftest import MEMBERS, Committee, build_committee

TENDERER = "91440101MA5CXXXX0X"
BIDS: list[dict[str, Any]] = [
    {
        "bidder_code": "B001",
        "bidder_name": "甲公司",
        "price": "1000000",
        "checks": {"营业执照": True},
    },
    {
        "bidder_code": "B002",
        "bidder_name": "乙公司",
        "price": "950000",
        "checks": {"营业执照": True},
    },
    {
        "bidder_code": "B003",
        "bidder_name": "丙公司",
        "price": "900000",
        "checks": {"营业执照": False},
    },
]


@dataclass
class SignedOff:
    """The committee after sign-off, its project and the tenderer's contact."""

    committee: Committee
    project_id: int
    contact: Any

    @property
    def room_id(self) -> str:
        return self.committee.room_id


def attach_project(app: Flask, room_id: str) -> int:
    """A project of the Guangzhou centre, tendered by TENDERER, owning the session."""
    session = app.extensions["expertpool"].sessions()
    centre = session.execute(select(Centre).where(Centre.region_code == "440100")).scalar_one()
    project = Project(
        code=f"GZ-{room_id}",
        name="某医院设备采购",
        kind=ProjectKind.GOODS,
        regime=LegalRegime.GOVERNMENT_PROCUREMENT,
        method=ProcurementMethod.OPEN_TENDER,
        budget_fen=100_000_000,
        tenderer_code=TENDERER,
        tenderer_name="某市人民医院",
        agency_code="91440101MA5CYYYY0Y",
        agency_name="某招标代理公司",
        evaluation_start_at=datetime(2026, 12, 3, 1, 0, tzinfo=UTC),
        duration_minutes=240,
        owner_centre_id=centre.id,
        main_centre_id=centre.id,
        status=ProjectStatus.READY,
    )
    session.add(project)
    session.flush()
    row = session.execute(
        select(EvaluationSession).where(EvaluationSession.room_id == room_id)
    ).scalar_one()
    row.project_id = project.id
    session.commit()
    return project.id


def sign_off(c: Committee) -> None:
    """Run the session from its opening to the archive (the sign-off)."""
    c.ok("h_gz", "set_bids", bids=BIDS)
    for action in ("open", "start_check_in"):
        c.ok("h_gz", "phase", action=action)
    for m in MEMBERS:
        c.check_in(m)
    c.ok("h_gz", "phase", action="start_election")
    for m in MEMBERS:
        c.ok(m, "vote", candidate="专家1")
    c.ok("h_gz", "phase", action="start_scoring")
    for m in MEMBERS:
        c.ok(
            m, "submit_sheet", scores={b: {"tech": "40", "service": "15"} for b in ("B001", "B002")}
        )
    c.ok("h_gz", "phase", action="finalise")
    c.ok("h_gz", "phase", action="start_signing")
    digest = c.ok("e1", "report")["report_digest"]
    for m in MEMBERS:
        c.ok(
            m,
            "sign",
            verdict="dissent" if m == "e4" else "agree",
            reasons="价格分计算口径有异议" if m == "e4" else "",
            report_digest=digest,
            password=PASSWORD,
        )
    c.ok("h_gz", "phase", action="archive")


@pytest.fixture()
def signed_off(app: Flask, make_user: Callable[..., Any]) -> Iterator[SignedOff]:
    """The standard committee's session of a project, signed off."""
    c = build_committee(app, make_user)
    project_id = attach_project(app, c.room_id)
    session = app.extensions["expertpool"].sessions()
    org = Organisation(credit_code=TENDERER, name="某市人民医院", is_tenderer=True)
    session.add(org)
    session.flush()
    contact = make_user(role="org_contact")
    session.add(OrganisationContact(user_id=contact.id, organisation_id=org.id))
    session.commit()
    sign_off(c)
    yield SignedOff(c, project_id, contact)
    for cl in c.clients.values():
        if cl.is_connected(NAMESPACE):
            cl.disconnect(NAMESPACE)
