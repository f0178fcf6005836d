"""A project with two bidders, its staff, and (on demand) the lot's session with a committee."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from evaluation_room.handlers import NAMESPACE
from expertpool.accounts.models import Centre
from expertpool.bids.samples import bid_lines, sample_pdfs
from expertpool.core.db import utcnow
from expertpool.projects import projects
from expertpool.rooms import sessions as rooms
from tests.conftest import login_client
from tests.integration.projects.conftest import credit_code, project_payload
from tests.integration.room.conftest import FORM, MEMBERS, VENUE_OF, Committee


@pytest.fixture(scope="session")
def pdfs() -> dict[str, bytes]:
    """Small made-up PDFs (made once: drawing them parses the CJK font)."""
    made = sample_pdfs(
        [
            ("甲建设公司 技术标", bid_lines("甲建设公司", "technical"), 2),
            ("乙工程公司 商务标", bid_lines("乙工程公司", "commercial"), 1),
            ("招标文件", bid_lines("", "tender"), 3),
            ("十一页", ["多"], 11),
        ]
    )
    return dict(zip(("a", "b", "tender", "eleven"), made, strict=True))


@dataclass
class World:
    """The project, its bidders, the owning centre's staff and (once opened) the session."""

    app: Flask
    project_id: int
    bidders: list[int]
    staff: Any
    make_user: Callable[..., Any]
    committee: Committee | None = None
    clients: dict[str, FlaskClient] = field(default_factory=dict)

    def web(self, user: Any) -> FlaskClient:
        """A logged-in web client for `user`."""
        return login_client(self.app.test_client(), user)

    def upload(
        self,
        client: FlaskClient,
        data: bytes,
        *,
        kind: str = "technical",
        bidder: int | None = None,
        name: str = "bid.pdf",
    ) -> Any:
        """Post the upload form (CSRF token from the documents page)."""
        page = client.get(f"/projects/{self.project_id}/documents").get_data(as_text=True)
        match = re.search(r'name="csrf_token" value="([^"]+)"', page)
        token = match.group(1) if match else ""
        form: dict[str, Any] = {
            "csrf_token": token,
            "kind": kind,
            "bidder": str(bidder if bidder is not None else self.bidders[0]),
            "file": (io.BytesIO(data), name),
        }
        return client.post(
            f"/projects/{self.project_id}/documents",
            data=form,
            content_type="multipart/form-data",
        )

    def open_session(self) -> Committee:
        """The lot's session (as the opening act makes it), with the standard committee."""
        people = {m: self.make_user(role="expert", display_name=f"真名{m}") for m in MEMBERS}
        people["h_gz"] = self.staff
        people["h_sz"] = self.make_user(role="centre_staff", centre="440300")
        people["sup"] = self.make_user(role="supervisor", display_name="监督员甲")
        people["outsider"] = self.make_user(role="expert")
        st = self.app.extensions["expertpool"]
        project = projects.get_project(st.sessions(), self.project_id)
        panel = rooms.PanelDescription(
            title=f"{project.code} {project.name} #1",
            project_code=project.code,
            lot="1",
            venues=[rooms.VenueSpec("gz", "广州主场", True), rooms.VenueSpec("sz", "深圳副场")],
            members=[
                rooms.SeatSpec(
                    people[m].id,
                    "representative" if m == "r1" else "expert",
                    VENUE_OF[m],
                    f"S-{m}",
                    f"+86138000000{i:02d}",
                )
                for i, m in enumerate(MEMBERS)
            ],
            hosts=[
                rooms.StaffSpec(people["h_gz"].id, "gz"),
                rooms.StaffSpec(people["h_sz"].id, "sz"),
            ],
            supervisors=[rooms.StaffSpec(people["sup"].id)],
            project_id=self.project_id,
            form=FORM,
        )
        row = rooms.create_session(
            st.sessions(),
            panel,
            actor="test",
            settings=rooms.room_settings(st.config),
            keys=st.keys,
        )
        self.committee = Committee(self.app, row.room_id, people)
        return self.committee


@pytest.fixture()
def world(app: Flask, db_session: Any, make_user: Callable[..., Any]) -> Iterator[World]:
    """Project GZ-BID-001 of the Guangzhou centre with two bidders; its staff member."""
    centre = db_session.execute(select(Centre).where(Centre.region_code == "440100")).scalar_one()
    project = projects.create_project(
        db_session,
        actor="test",
        owner_centre_id=centre.id,
        data=project_payload(code="GZ-BID-001", evaluation_start="2099-06-05T09:00"),
        now=utcnow(),
    )
    bidders = [
        projects.add_bidder(
            db_session, actor="test", project_id=project.id, credit_code=credit_code(n), name=name
        ).id
        for n, name in ((31, "甲建设公司"), (32, "乙工程公司"))
    ]
    staff = make_user(role="centre_staff", centre="440100", display_name="广州主持人")
    w = World(app, project.id, bidders, staff, make_user)
    yield w
    if w.committee is not None:
        for cl in w.committee.clients.values():
            if cl.is_connected(NAMESPACE):
                cl.disconnect(NAMESPACE)
