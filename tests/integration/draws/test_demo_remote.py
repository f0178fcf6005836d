"""`expertpool demo` leaves two remote projects whose two secondary venues the system picked:
the one opened shows them and its ledger reveals the pick, the sealed one shows neither (#19)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from expertpool.cli import cli
from expertpool.demo.remote import PAST_CODE, SEALED_CODE
from expertpool.draws import remote
from expertpool.draws.models import Draw, DrawLedgerEntry, DrawStatus, LedgerKind
from expertpool.projects.models import Project

pytestmark = pytest.mark.integration


def _ledger(session: Any, kind: LedgerKind, **where: Any) -> DrawLedgerEntry:
    stmt = select(DrawLedgerEntry).where(DrawLedgerEntry.kind == kind)
    for column, value in where.items():
        stmt = stmt.where(getattr(DrawLedgerEntry, column) == value)
    found: DrawLedgerEntry = session.execute(stmt).scalar_one()
    return found


def test_the_demo_has_remote_projects_with_two_secondary_venues_picked_by_the_system(
    app: Any,
) -> None:
    out = app.test_cli_runner().invoke(cli, ["demo", "--experts", "300"])
    assert out.exit_code == 0, out.output
    line = next(x for x in out.output.splitlines() if x.startswith("remote draws"))
    assert "revealed" in line and "hidden" in line, line
    session = app.extensions["expertpool"].sessions()
    for code in (PAST_CODE, SEALED_CODE):
        project = session.execute(select(Project).where(Project.code == code)).scalar_one()
        d = session.execute(select(Draw).where(Draw.project_id == project.id)).scalar_one()
        pick = _ledger(session, LedgerKind.PICK, request_id=d.request_id)
        assert json.loads(pick.payload)["groups"] == ["remote-1", "remote-2"]
        if code == PAST_CODE:
            assert d.status is DrawStatus.OPENED
            opened = json.loads(_ledger(session, LedgerKind.OPENED, draw_id=d.draw_id).payload)
            doc = opened["remote_pick"]
            recorded = json.loads(pick.payload)
            assert not remote.verify_pick(
                doc,
                pick_digest=recorded["pick_digest"],
                nonce_digest=recorded["nonce_digest"],
            )
            assert sorted(c.region_code for c in project.secondary_centres) == sorted(
                g["centre"] for g in doc["groups"]
            )
            assert len(project.secondary_centres) == 2
        else:
            assert d.status is DrawStatus.SEALED and project.secondary_centres == []
