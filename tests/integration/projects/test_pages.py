"""The pages: staff forms with field errors, the terminal cookie, credentials shown once, keys."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import csrf_token
from tests.integration.projects.conftest import credit_code, project_payload

pytestmark = pytest.mark.integration


def _form(**overrides: Any) -> dict[str, Any]:
    data = project_payload(**overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_staff_create_a_project_and_add_a_bidder_through_the_pages(
    app: Flask, client: FlaskClient, make_user: Callable[..., Any], login: Any, clock: Any
) -> None:
    login(client, make_user(role="centre_staff"))
    token = csrf_token(client, "/projects/new")
    bad = client.post("/projects/new", data={**_form(budget="-1"), "csrf_token": token})
    assert bad.status_code == 422 and 'data-field-error="budget"' in bad.get_data(as_text=True)
    ok = client.post("/projects/new", data={**_form(), "csrf_token": token})
    assert ok.status_code == 302
    detail = ok.headers["Location"]
    page = client.get(detail).get_data(as_text=True)
    assert "GZ-2026-001" in page and "2026-06-05 09:00" in page
    wrong = credit_code(3)[:17] + ("X" if credit_code(3)[17] != "X" else "Y")
    resp = client.post(
        detail + "/bidders", data={"credit_code": wrong, "bidder_name": "甲", "csrf_token": token}
    )
    assert resp.status_code == 422 and 'data-field-error="credit_code"' in resp.get_data(
        as_text=True
    )
    resp = client.post(
        detail + "/bidders",
        data={"credit_code": credit_code(3), "bidder_name": "甲公司", "csrf_token": token},
    )
    assert resp.status_code == 302 and "甲公司" in client.get(detail).get_data(as_text=True)
    assert client.post(detail + "/ready", data={"csrf_token": token}).status_code == 302
    assert 'data-testid="draw-request"' in client.get(detail).get_data(as_text=True)


def test_a_browser_becomes_a_terminal_and_records_a_draw_request(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., Any],
    login: Any,
    ready_project: tuple[FlaskClient, int],
    terminal: tuple[str, Any],
) -> None:
    _, pid = ready_project
    login(client, make_user(role="centre_staff"))
    form_url = f"/projects/{pid}/draw-requests/new"
    assert 'data-testid="terminal-missing"' in client.get(form_url).get_data(as_text=True)
    token = csrf_token(client, "/terminal")
    assert (
        client.post("/terminal", data={"token": "term_nope", "csrf_token": token}).status_code
        == 422
    )
    assert (
        client.post("/terminal", data={"token": terminal[0], "csrf_token": token}).status_code
        == 302
    )
    assert "广州终端1" in client.get("/terminal").get_data(as_text=True)
    even = client.post(
        form_url, data={"group0_specialties": "A01", "group0_count": "4", "csrf_token": token}
    )
    assert even.status_code == 422 and 'data-field-error="committee"' in even.get_data(as_text=True)
    ok = client.post(
        form_url,
        data={
            "group0_specialties": "A01 A02",
            "group0_count": "5",
            "group0_backups": "2",
            "is_offsite": "on",
            "csrf_token": token,
        },
    )
    assert ok.status_code == 302
    page = client.get(ok.headers["Location"]).get_data(as_text=True)
    assert "A01 A02" in page and "440100" in page


def test_a_post_without_a_terminal_is_refused(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., Any],
    login: Any,
    ready_project: tuple[FlaskClient, int],
) -> None:
    _, pid = ready_project
    login(client, make_user(role="centre_staff"))
    token = csrf_token(client, "/terminal")
    resp = client.post(
        f"/projects/{pid}/draw-requests/new",
        data={"group0_specialties": "A01", "group0_count": "5", "csrf_token": token},
    )
    assert resp.status_code == 403


def test_the_terminal_credential_is_shown_once_on_registration(
    app: Flask, client: FlaskClient, make_user: Callable[..., Any], login: Any
) -> None:
    login(client, make_user(role="admin"))
    token = csrf_token(client, "/admin/terminals")
    resp = client.post(
        "/admin/terminals", data={"centre": "440100", "name": "一号终端", "csrf_token": token}
    )
    assert resp.status_code == 201 and resp.headers["Cache-Control"] == "no-store"
    credential = re.search(r"<code>(term_[^<]+)</code>", resp.get_data(as_text=True))
    assert credential
    assert credential.group(1) not in client.get("/admin/terminals").get_data(as_text=True)
    venue = client.post(
        "/admin/venues",
        data={"centre": "440100", "name": "一号厅", "seats": "12", "csrf_token": token},
    )
    assert venue.status_code == 302 and "一号厅" in client.get("/admin/venues").get_data(
        as_text=True
    )


def test_supervisors_see_projects_without_edit_controls(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., Any],
    login: Any,
    ready_project: tuple[FlaskClient, int],
) -> None:
    _, pid = ready_project
    login(client, make_user(role="supervisor"))
    assert "GZ-2026-001" in client.get("/projects").get_data(as_text=True)
    page = client.get(f"/projects/{pid}").get_data(as_text=True)
    assert "GZ-2026-001" in page and 'data-testid="bidder-form"' not in page


def test_staff_of_another_centre_see_outside_centre_on_the_page(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., Any],
    login: Any,
    ready_project: tuple[FlaskClient, int],
) -> None:
    _, pid = ready_project
    login(client, make_user(role="centre_staff", centre="440300"))
    assert client.get(f"/projects/{pid}").status_code == 403
    assert "GZ-2026-001" not in client.get("/projects").get_data(as_text=True)
