"""Fixtures for projects, terminals and draw requests: a fixed clock, API clients, a terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from expertpool.core.calendar import CST
from expertpool.core.db import utcnow
from expertpool.projects.codes import credit_code_check_char

# Wednesday 3 June 2026, 09:00 in China: the evaluation on Friday 5 June is two working days away.
NOW = datetime(2026, 6, 3, 9, 0, tzinfo=CST)


def credit_code(n: int) -> str:
    """A valid made-up credit code."""
    first17 = f"91440100MA5{n:06d}"
    return first17 + credit_code_check_char(first17)


def project_payload(**overrides: Any) -> dict[str, Any]:
    """A valid project as the API expects it."""
    data: dict[str, Any] = {
        "code": "GZ-2026-001",
        "name": "道路改造工程",
        "kind": "works",
        "budget": "8500000.00",
        "tenderer_code": credit_code(1),
        "tenderer_name": "某区建设局",
        "agency_code": credit_code(2),
        "agency_name": "某招标代理有限公司",
        "tenderer_representatives": 0,
        "evaluation_start": "2026-06-05T09:00",
        "duration_minutes": 240,
    }
    data.update(overrides)
    return data


class Clock:
    """A settable clock installed in the app (routes read `AppState.clock`)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture()
def clock(app: Flask) -> Iterator[Clock]:
    """The app's clock, fixed at NOW."""
    fixed = Clock(NOW)
    app.extensions["expertpool"].clock = fixed
    yield fixed
    app.extensions["expertpool"].clock = utcnow


@pytest.fixture()
def api(app: Flask, make_user: Callable[..., Any], clock: Clock) -> Callable[..., FlaskClient]:
    """`api(role, centre=None)`: a client whose requests carry a fresh bearer token of a new
    user.
    """
    from expertpool.accounts import users

    def make(role: str, centre: str | None = None) -> FlaskClient:
        user = make_user(
            role=role, centre=centre if centre else ("440100" if role == "centre_staff" else None)
        )
        token, _ = users.issue_token(app.extensions["expertpool"].sessions(), user, 1)
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        client.user = user  # type: ignore[attr-defined]
        return client

    return make


@pytest.fixture()
def terminal(app: Flask) -> tuple[str, Any]:
    """A registered terminal of the Guangzhou centre: (credential, row)."""
    from expertpool.projects import terminals

    return terminals.register_terminal(
        app.extensions["expertpool"].sessions(),
        actor="test",
        centre_code="440100",
        name="广州终端1",
    )


@pytest.fixture()
def ready_project(api: Callable[..., FlaskClient]) -> tuple[FlaskClient, int]:
    """A ready project of the Guangzhou centre with two bidders, and its staff client."""
    staff = api("centre_staff")
    resp = staff.post("/api/projects", json=project_payload())
    assert resp.status_code == 201, resp.get_json()
    pid = resp.get_json()["id"]
    for n in (10, 11):
        assert (
            staff.post(
                f"/api/projects/{pid}/bidders",
                json={"credit_code": credit_code(n), "name": f"投标人{n}"},
            ).status_code
            == 201
        )
    assert staff.post(f"/api/projects/{pid}/ready").status_code == 200
    return staff, pid
