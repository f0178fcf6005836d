"""Separated administration (三员分立): the system, security and audit administrators each reach
their own pages only; reading and exporting the trail is itself audited; the single-person mode
exists only when configured and then says so on every page."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select

from expertpool.core.models import AuditEntry
from tests.conftest import build_app, login_client, make_test_config

pytestmark = pytest.mark.integration

PAGES = {
    "admin": [
        "/admin/users",
        "/admin/users/new",
        "/admin/organisations",
        "/admin/terminals",
        "/admin/venues",
    ],
    "security_admin": ["/admin/roles", "/admin/keys"],
    "audit_admin": ["/admin/audit", "/admin/audit/export.xlsx"],
}


@pytest.mark.parametrize("role", list(PAGES))
def test_each_administrator_reaches_their_pages_and_none_of_the_others(
    role: str, make_user: Any, app: Any
) -> None:
    client = login_client(app.test_client(), make_user(role=role))
    for owner, paths in PAGES.items():
        for path in paths:
            status = client.get(path).status_code
            assert (status == 200) is (owner == role), f"{role} {path}: {status}"


def test_reading_and_exporting_the_trail_is_recorded_with_the_reader(
    make_user: Any, app: Any, db_session: Any
) -> None:
    make_user(role="expert", username="someone")
    auditor = make_user(role="audit_admin", username="the-auditor")
    client = login_client(app.test_client(), auditor)
    page = client.get("/admin/audit?action=user.").get_data(as_text=True)
    assert "someone" in page
    export = client.get("/admin/audit/export.xlsx?action=user.")
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.data), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("seq", "at (UTC)", "actor", "action")
    assert any(r[3] == "user.create" and "someone" in (r[7] or "") for r in rows[1:])
    assert all(str(r[3]).startswith("user.") for r in rows[1:])
    readings = db_session.execute(
        select(AuditEntry.action, AuditEntry.actor).where(AuditEntry.action.startswith("audit."))
    ).all()
    assert sorted(readings) == [("audit.export", "the-auditor"), ("audit.read", "the-auditor")]


def test_the_key_page_shows_key_ids_never_key_material(make_user: Any, app: Any) -> None:
    keys = app.extensions["expertpool"].keys
    ring = keys.pii_ring()
    client = login_client(app.test_client(), make_user(role="security_admin"))
    html = client.get("/admin/keys").get_data(as_text=True)
    assert ring.current in html
    assert ring.keys[ring.current].hex() not in html
    assert keys.blind_index_key().hex() not in html


def test_without_single_person_mode_no_banner_and_no_shared_powers(
    make_user: Any, app: Any
) -> None:
    client = login_client(app.test_client(), make_user(role="admin"))
    assert 'id="single-admin-banner"' not in client.get("/dashboard").get_data(as_text=True)
    assert client.get("/admin/audit").status_code == 403


def test_single_person_mode_is_explicit_and_says_so_on_every_page(
    tmp_path: Path,
) -> None:
    single = build_app(
        make_test_config(
            tmp_path / "instance", "sqlite:///" + str(tmp_path / "s.sqlite"), single_admin=True
        )
    )
    try:
        from expertpool.accounts import users

        with single.app_context():
            session = single.extensions["expertpool"].sessions()
            admin = users.create_user(
                session,
                actor="test",
                username="solo",
                display_name="唯一管理员",
                password="a-long-password-1",
                role="admin",
            )
            client: FlaskClient = login_client(single.test_client(), admin)
            for path in ("/dashboard", "/admin/users", "/admin/roles", "/admin/audit"):
                resp = client.get(path)
                assert resp.status_code == 200, path
                assert 'id="single-admin-banner"' in resp.get_data(as_text=True), path
            menu = client.get("/dashboard").get_data(as_text=True)
            assert 'data-menu="audit"' in menu and 'data-menu="roles"' in menu
            single.extensions["expertpool"].sessions.remove()
    finally:
        single.extensions["expertpool"].engine.dispose()
