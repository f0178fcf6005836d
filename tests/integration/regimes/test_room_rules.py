"""A session made for a project follows the project's pinned rules: under government
procurement the representative may not lead, and a declared small enterprise's bid is evaluated
at its deducted price.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from expertpool.accounts.models import Centre
from expertpool.projects import projects
from expertpool.rooms import sessions as rooms
from tests.integration.projects.conftest import Clock, credit_code, project_payload
from tests.integration.room.conftest import FORM, MEMBERS, VENUE_OF

pytestmark = pytest.mark.integration


def _session_for(app: Flask, make_user: Callable[..., Any], clock: Clock, regime: str) -> Any:
    session = app.extensions["expertpool"].sessions()
    centre = session.execute(select(Centre).where(Centre.region_code == "440100")).scalar_one()
    kind = "goods" if regime == "government_procurement" else "works"
    project = projects.create_project(
        session,
        actor="test",
        owner_centre_id=centre.id,
        data=project_payload(code=f"R-{regime}", kind=kind, regime=regime, main_centre="440100"),
        now=clock.now,
    )
    small, large = credit_code(81), credit_code(82)
    projects.add_bidder(
        session,
        actor="t",
        project_id=project.id,
        credit_code=small,
        name="小微",
        is_small_enterprise=True,
    )
    projects.add_bidder(session, actor="t", project_id=project.id, credit_code=large, name="大型")
    projects.mark_ready(session, actor="t", project_id=project.id, now=clock.now)
    people = {m: make_user(role="expert") for m in MEMBERS}
    host = make_user(role="centre_staff", centre="440100")
    panel = rooms.PanelDescription(
        title="设备采购",
        project_code=project.code,
        lot="1",
        project_id=project.id,
        venues=[rooms.VenueSpec("gz", "广州主场", True), rooms.VenueSpec("sz", "深圳副场")],
        members=[
            rooms.SeatSpec(
                people[m].id, "representative" if m == "r1" else "expert", VENUE_OF[m], f"S-{m}"
            )
            for m in MEMBERS
        ],
        hosts=[rooms.StaffSpec(host.id, "gz")],
        form=FORM,
        bids=[
            {"bidder_code": small, "bidder_name": "小微", "price": "105", "checks": {}},
            {"bidder_code": large, "bidder_name": "大型", "price": "100", "checks": {}},
        ],
    )
    st = app.extensions["expertpool"]
    row = rooms.create_session(
        session, panel, actor="test", settings=rooms.room_settings(st.config), keys=st.keys
    )
    return rooms.room_of(row, st.keys), small


@pytest.mark.parametrize(
    ("regime", "may_lead", "deduction"),
    [("government_procurement", False, Decimal(10)), ("tendering_law", True, Decimal(0))],
)
def test_a_projects_session_takes_its_rules_and_the_bidders_declarations(
    app: Flask,
    make_user: Callable[..., Any],
    clock: Clock,
    regime: str,
    may_lead: bool,
    deduction: Decimal,
) -> None:
    room, small = _session_for(app, make_user, clock, regime)
    state = room.to_state()  # what the store keeps
    assert state["settings"]["representatives_may_lead"] is may_lead
    assert Decimal(state["settings"]["scoring"]["small_enterprise_deduction_pct"]) == deduction
    assert state["bids"][small][-1]["bid"]["is_small_enterprise"] is True
