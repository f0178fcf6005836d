"""The expert's record (issue #23) before the opening: the archive, its PDF, the own record and
the assessment pages name no invitation, draw or project of a sealed draw, to any role."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from expertpool.projects.models import Project
from expertpool.record.models import CreditEvent, Fact, Rating, Sanction
from tests.conftest import login_client
from tests.integration.sealing.conftest import World

pytestmark = pytest.mark.integration


def test_the_archive_and_the_record_say_nothing_of_a_sealed_draw(world: World) -> None:
    draw_id = world.terminal_draw(world.request())
    world.dispatch()
    me = world.accepted()[0]
    project = world.session.get(Project, world.setup.project_id)
    secrets = (draw_id, project.code)
    own = world.app.test_client()
    login_client(own, world.session.get(type(world.users["admin"]), me.user_id))
    readers = {
        "expert (invited)": own,
        "reviewer": world.client("reviewer"),
        "supervisor": world.client("supervisor"),
        "supervisor (not witness)": world.client("supervisor (not witness)"),
    }
    for label, client in readers.items():
        page = client.get(f"/record/experts/{me.id}")
        assert page.status_code == 200, label
        body = page.get_data(as_text=True)
        assert not [s for s in secrets if s in body], f"the archive page to {label}"
        pdf = client.get(f"/record/experts/{me.id}/archive.pdf")
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
        assert me.name in text  # the PDF's text is read: the check below could fail
        assert not [s for s in secrets if s in text], f"the archive PDF to {label}"
    mine = own.get("/record/mine").get_data(as_text=True)
    assert not [s for s in secrets if s in mine]
    # No assessment is open for a draw that has not been opened, to anyone.
    for label in ("supervisor", "operator", "staff (same centre)", "tenderer contact"):
        listing = world.client(label).get("/record/sessions")
        assert listing.status_code == 200, label
        assert not [s for s in secrets if s in listing.get_data(as_text=True)], label
    # Nothing of the record was written by the draw, its answers or its bookings.
    for model in (Rating, Fact, CreditEvent, Sanction):
        assert world.session.execute(select(model)).first() is None
