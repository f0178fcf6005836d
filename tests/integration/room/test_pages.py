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
from expertpool.rooms.models import EvaluationSession
from tests.conftest import PASSWORD, csrf_token, login_client
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


def test_centre_staff_create_a_session_from_the_form_and_land_in_its_console(
    app: Flask, make_user: Any
) -> None:
    staff = make_user(role="centre_staff", username="host.gz")
    make_user(role="centre_staff", centre="440300", username="host.sz")
    for n in range(1, 6):
        make_user(role="expert", username=f"zj{n}")
    client = login_client(app.test_client(), staff)
    token = csrf_token(client, "/rooms/new")
    resp = client.post(
        "/rooms/new",
        data={
            "csrf_token": token,
            "title": "某学校教学设备采购",
            "project_code": "GZ-2026-007",
            "lot": "1",
            "main_venue": "广州主场",
            "main_host": "host.gz",
            "second_venue": "深圳副场",
            "second_host": "host.sz",
            "members": "zj1 main A1\nzj2 main\nzj3 main\nzj4 second\nzj5 second representative",
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    console = client.get(resp.headers["Location"])
    assert console.status_code == 200
    page = console.get_data(as_text=True)
    # Markers only the room page has: its script's mount point, the viewer's room role and the
    # room's script; the title alone would also be on the form's page.
    assert '<div id="room-app" data-role="host">' in page
    assert '<span data-testid="my-role">主持人</span>' in page
    assert 'src="/rooms/static/room.js"' in page
    row = app.extensions["expertpool"].sessions().execute(select(EvaluationSession)).scalar_one()
    assert row.title == "某学校教学设备采购" and row.phase == "scheduled"


def test_the_session_form_reports_unknown_users_by_field(app: Flask, make_user: Any) -> None:
    staff = make_user(role="centre_staff", username="host.gz")
    client = login_client(app.test_client(), staff)
    resp = client.post(
        "/rooms/new",
        data={
            "csrf_token": csrf_token(client, "/rooms/new"),
            "title": "x",
            "project_code": "y",
            "main_host": "host.gz",
            "members": "nobody main",
        },
    )
    assert resp.status_code == 422
    assert 'data-field-error="members"' in resp.get_data(as_text=True)


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
