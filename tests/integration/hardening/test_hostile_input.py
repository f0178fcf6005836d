"""Each hostile input of issue #27 answers a clear refusal (400/404/422), never a 500.

Run on SQLite and on PostgreSQL (where NUL bytes and lone surrogates used to reach the driver).
Under testing an unexpected error propagates, so a 500 fails the test with its traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import PASSWORD, csrf_token, login_client
from tests.integration.room.conftest import Committee

pytestmark = pytest.mark.integration

NUL = "a\x00b"
HUGE = str(2**63)


def _token(client: FlaskClient, user: Any) -> dict[str, str]:
    answer = client.post("/api/v1/tokens", json={"username": user.username, "password": PASSWORD})
    return {"Authorization": f"Bearer {answer.get_json()['token']}"}


def test_a_nul_byte_in_the_login_form_is_a_field_error(client: FlaskClient) -> None:
    token = csrf_token(client)
    answer = client.post(
        "/login", data={"csrf_token": token, "username": NUL, "password": "whatever-123"}
    )
    assert answer.status_code == 422
    assert "用户名" in answer.get_data(as_text=True) or "username" in answer.get_data(as_text=True)


def test_a_nul_byte_in_a_token_request_is_a_field_error(client: FlaskClient) -> None:
    answer = client.post("/api/v1/tokens", json={"username": NUL, "password": "x"})
    assert answer.status_code == 422
    assert "username" in answer.get_json()["fields"]


@pytest.mark.parametrize("field", ["username", "display_name", "password"])
def test_a_nul_byte_in_the_registration_form_saves_nothing(
    client: FlaskClient, app: Flask, field: str
) -> None:
    from sqlalchemy import func, select

    from expertpool.accounts.models import User

    data = {"username": "new-expert", "display_name": "张三", "password": "Long-enough-pass-1"}
    data[field] = NUL + data[field]
    data["csrf_token"] = csrf_token(client, "/experts/register")
    answer = client.post("/experts/register", data=data)
    assert answer.status_code == 422
    session = app.extensions["expertpool"].sessions()
    assert session.execute(select(func.count()).select_from(User)).scalar() == 0


def test_a_nul_byte_in_a_search_is_a_field_error(
    client: FlaskClient, make_user: Callable[..., Any]
) -> None:
    login_client(client, make_user("reviewer"))
    answer = client.get("/experts/search", query_string={"name": NUL})
    assert answer.status_code == 422
    api = client.get(
        "/api/v1/experts", query_string={"name": NUL}, headers=_token(client, make_user("reviewer"))
    )
    assert api.status_code == 422


def test_a_lone_surrogate_in_a_json_body_is_a_field_error(client: FlaskClient) -> None:
    raw = '{"username": "\\ud800x", "password": "x"}'
    answer = client.post("/api/v1/tokens", data=raw, content_type="application/json")
    assert answer.status_code == 422
    assert "username" in answer.get_json()["fields"]


@pytest.mark.parametrize("raw", ['{"username": "a", "password": NaN}', '{"n": 1e999}'])
def test_non_finite_json_numbers_are_refused(client: FlaskClient, raw: str) -> None:
    answer = client.post("/api/v1/tokens", data=raw, content_type="application/json")
    assert answer.status_code in (400, 422)


def test_huge_ids_in_urls_are_not_found(client: FlaskClient, make_user: Callable[..., Any]) -> None:
    login_client(client, make_user("centre_staff"))
    assert client.get(f"/projects/{HUGE}").status_code == 404
    assert client.get(f"/experts/{HUGE}").status_code == 404
    assert client.get(f"/api/v1/projects/{HUGE}").status_code == 404


@pytest.mark.parametrize("page", [HUGE, "-1", "0", "abc", "1e9"])
def test_page_numbers_out_of_range_are_a_field_error(
    client: FlaskClient, make_user: Callable[..., Any], page: str
) -> None:
    login_client(client, make_user("reviewer"))
    for path in ("/experts/search", "/experts/review"):
        answer = client.get(path, query_string={"page": page})
        assert answer.status_code == 422, path
    admin = login_client(client, make_user("admin"))
    assert admin.get("/admin/audit", query_string={"page": page}).status_code == 422


@pytest.mark.parametrize("budget", ["9" * 40, "1e308", "1e999", 1e308, "NaN", "-0.001"])
def test_absurd_budgets_are_a_field_error(
    client: FlaskClient, make_user: Callable[..., Any], budget: Any
) -> None:
    from tests.integration.projects.conftest import credit_code

    staff = make_user("centre_staff")
    body = {
        "code": "X-1",
        "name": "项目",
        "kind": "works",
        "budget": budget,
        "tenderer_code": credit_code(1),
        "tenderer_name": "某局",
        "agency_code": credit_code(2),
        "agency_name": "某代理",
        "tenderer_representatives": 0,
        "evaluation_start": "2030-01-07T09:00",
        "duration_minutes": 240,
    }
    answer = client.post("/api/v1/projects", json=body, headers=_token(client, staff))
    assert answer.status_code == 422
    assert "budget" in answer.get_json()["fields"]


@pytest.mark.parametrize("cancel", ["abc", HUGE, "-1"])
def test_a_bad_leave_to_cancel_is_refused(
    client: FlaskClient, make_user: Callable[..., Any], cancel: str
) -> None:
    login_client(client, make_user("expert"))
    token = csrf_token(client, "/experts/me/leave")
    answer = client.post("/experts/me/leave", data={"csrf_token": token, "cancel": cancel})
    assert answer.status_code in (404, 422)


def test_an_over_long_field_is_refused(client: FlaskClient) -> None:
    answer = client.post("/api/v1/tokens", json={"username": "a" * 20_000, "password": "x"})
    assert answer.status_code == 422
    assert "username" in answer.get_json()["fields"]


def test_control_characters_in_a_form_are_refused(client: FlaskClient) -> None:
    token = csrf_token(client)
    answer = client.post(
        "/login", data={"csrf_token": token, "username": "a\x1bb", "password": "whatever-123"}
    )
    assert answer.status_code == 422


def test_a_nul_byte_in_a_chat_message_is_an_error_acknowledgement(committee: Committee) -> None:
    committee.ok("e1", "join")
    ack = committee.emit("e1", "chat", text=NUL)
    assert ack["ok"] is False
    assert ack["error"]["code"] == "invalid_input"


def test_sql_parameters_never_reach_error_messages(app: Flask) -> None:
    from sqlalchemy import text

    engine = app.extensions["expertpool"].engine
    with pytest.raises(Exception) as failure, engine.connect() as conn:
        conn.execute(
            text("SELECT CAST(:secret AS INTEGER) + nosuchcolumn"),
            {"secret": "argon2-hash-xyz"},
        )
    assert "argon2-hash-xyz" not in str(failure.value)
