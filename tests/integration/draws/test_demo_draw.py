"""`expertpool demo` leaves an awarded project whose draw exports and verifies under the published
key.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from expertpool.cli import cli
from expertpool.draws.models import Draw, DrawStatus
from expertpool.projects.models import Project, ProjectStatus
from expertpool.rooms import sessions as rooms
from expertpool.rooms.models import RoomEventRow

pytestmark = pytest.mark.integration


def test_the_demo_leaves_an_awarded_project_whose_transcript_exports_and_verifies(
    app: Any, tmp_path: Path
) -> None:
    runner = app.test_cli_runner()
    out = runner.invoke(cli, ["demo", "--experts", "300"])
    assert out.exit_code == 0, out.output
    line = next(x for x in out.output.splitlines() if x.startswith("draws: "))
    assert "awarded" in line, line
    session = app.extensions["expertpool"].sessions()
    project = session.execute(select(Project).where(Project.code == "GZ-DEMO-000")).scalar_one()
    d = session.execute(select(Draw).where(Draw.project_id == project.id)).scalar_one()
    assert project.status is ProjectStatus.AWARDED and d.status is DrawStatus.OPENED
    assert d.draw_id in line
    # The Guangzhou trading system's subscriptions hold the demo's events (ids and states only).
    from expertpool.events.models import EventDelivery

    types = set(session.execute(select(EventDelivery.event_type)).scalars())
    assert {"draw.sealed", "panel.opened", "project.closed"} <= types, types
    # Its session ran from the opening to the signed report: one member checked in person, one
    # taken off with the supervisor's approval and replaced by the group's next backup.
    (row,) = rooms.sessions_for_project(session, project.id)
    state = rooms.state_of(row, app.extensions["expertpool"].keys)
    assert state["phase"] == "archived" and state["final_report_digest"]
    committee = [p for p in state["participants"] if p["role"] == "expert"]
    assert [p["status"] for p in committee].count("active") == len(committee) - 1
    assert len(state["signatures"]) == len(committee) - 1
    assert any(p["replaces"] for p in committee)
    assert [p["check_in"]["method"] for p in committee if p["status"] == "active"].count(
        "in_person"
    ) == 1
    kinds = set(
        session.execute(select(RoomEventRow.kind).where(RoomEventRow.session_id == row.id))
        .scalars()
        .all()
    )
    assert {"removal_proposed", "removal_approved", "member_replaced"} <= kinds, kinds

    exported = runner.invoke(cli, ["draws", "export", d.draw_id])
    assert exported.exit_code == 0, exported.output
    path = tmp_path / "transcript.json"
    path.write_text(exported.output, encoding="utf-8")
    public = runner.invoke(cli, ["keys", "public"])
    key = next(line.split()[1] for line in public.output.splitlines() if line.endswith("current"))
    verified = subprocess.run(
        [sys.executable, "-m", "draw", "verify", str(path), "--public-key", key],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert json.loads(exported.output)["commit"]["draw_id"] == d.draw_id

    again = runner.invoke(cli, ["demo", "--experts", "300"])
    assert again.exit_code == 0 and "draws: GZ-DEMO-000 exists" in again.output
