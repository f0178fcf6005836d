"""Room pages: creating a session, the room page by role, the report as HTML and as a PDF."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select

from expertpool.core.models import AuditEntry
from tests.conftest import PASSWORD, login_client
from tests.integration.room.conftest import MEMBERS, Committee

pytestmark = pytest.mark.integration


def archived(committee: Committee) -> None:
    committee.to_scoring()
    committee.submit_all()
    committee.ok("h_gz", "phase", action="finalise")
    committee.ok("h_gz", "phase", action="start_signing")
    digest = committee.ok("e1", "report")["report_digest"]
    for m in MEMBERS:
        committee.ok(
            m,
            "sign",
            verdict="dissent" if m == "e4" else "agree",
            reasons="价格分计算口径有异议" if m == "e4" else "",
            report_digest=digest,
            password=PASSWORD,
        )
    committee.ok("h_gz", "phase", action="archive")


def test_no_page_creates_a_session_from_names_typed_in(app: Flask, make_user: Any) -> None:
    staff = make_user(role="centre_staff", username="host.gz")
    client = login_client(app.test_client(), staff)
    # The old free-form page is gone; the only way to a session is the opening act, which
    # takes no member from the form (tests/integration/draws/test_opening_act.py).
    assert client.get("/rooms/new").status_code == 404
    resp = client.post("/rooms/new", data={"members": "zj1 main"})
    assert resp.status_code in (404, 405)
    rules = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("rooms.")}
    creating = {
        r
        for r in rules
        if r
        not in {
            "rooms.index",
            "rooms.room",
            "rooms.report",
            "rooms.report_pdf",
            "rooms.static",
            # the scoring-method editor and the bidders of an existing session, and the centre's
            # method templates: none creates a session
            "rooms.method",
            "rooms.bidders",
            "rooms.templates",
            "rooms.template",
        }
    }
    assert creating == {"rooms.open_lot"}
    assert 'data-testid="new-session"' not in client.get("/rooms/").get_data(as_text=True)


def test_only_participants_open_the_room_page(committee: Committee, app: Flask) -> None:
    outsider = login_client(app.test_client(), committee.users["outsider"])
    assert outsider.get(f"/rooms/{committee.room_id}").status_code == 404
    expert = login_client(app.test_client(), committee.users["e1"])
    resp = expert.get(f"/rooms/{committee.room_id}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert '<div id="room-app" data-role="expert">' in html
    assert '<span data-testid="my-role">评标专家</span>' in html
    assert "真名e2" not in html


def test_the_report_is_refused_before_signing(committee: Committee, app: Flask) -> None:
    client = login_client(app.test_client(), committee.users["e1"])
    assert client.get(f"/rooms/{committee.room_id}/report").status_code == 409


def test_the_report_shows_aliases_dissent_and_digests_and_its_pdf_text_is_chinese(
    committee: Committee, app: Flask
) -> None:
    archived(committee)
    client = login_client(app.test_client(), committee.users["sup"])
    html = client.get(f"/rooms/{committee.room_id}/report").get_data(as_text=True)
    assert "专家4" in html and "不同意" in html and "价格分计算口径有异议" in html
    assert not any(f"真名{m}" in html for m in MEMBERS)
    resp = client.get(f"/rooms/{committee.room_id}/report.pdf")
    assert resp.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(resp.data)).pages)
    for fragment in ("评标报告", "某医院设备采购", "专家1", "甲公司", "推荐中标候选人", "不同意"):
        assert fragment in text, fragment
    assert not any(f"真名{m}" in text for m in MEMBERS)
    session = app.extensions["expertpool"].sessions()
    exported = session.execute(
        select(AuditEntry).where(AuditEntry.action == "room.report_exported")
    ).scalar_one()
    archived_entry = session.execute(
        select(AuditEntry).where(AuditEntry.action == "room.archived")
    ).scalar_one()
    assert (
        json.loads(exported.after)["report_digest"]
        == json.loads(archived_entry.after)["final_report_digest"]
    )
    assert json.loads(archived_entry.after)["final_report_digest"] in html
