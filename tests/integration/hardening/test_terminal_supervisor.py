"""The terminal's supervisor check: the supervisor is chosen from those of the project's
department, every failure reads the same, and attempts are throttled like a login."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from expertpool.core.models import AuditEntry
from expertpool.draws import protocol as draws
from expertpool.projects import terminals
from tests.conftest import PASSWORD, login_client
from tests.integration.draws.conftest import Setup, add_experts

pytestmark = pytest.mark.integration


def _terminal(setup: Setup) -> FlaskClient:
    staff = setup.app.test_client()
    login_client(staff, setup.operator)
    staff.set_cookie(terminals.COOKIE, setup.terminal_token)
    return staff


def _prepared(setup: Setup) -> Any:
    add_experts(setup.app, 9)
    return setup.prepare(setup.request())


def _witness(staff: FlaskClient, draw_id: str, username: str, password: str) -> Any:
    page = staff.get(f"/draws/{draw_id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    return staff.post(
        f"/draws/{draw_id}/witness/supervisor",
        data={
            "csrf_token": token.group(1),
            "username": username,
            "password": password,
            "digits": "987654",
        },
    )


REFUSAL = "监督人员用户名或密码错误"
# What the terminal used to tell apart (each must never show now).
TELLING = ("不是监督人员", "不监督该项目", "不能与操作员为同一人")


def test_the_terminal_offers_only_the_projects_supervisors(setup: Setup, make_user: Any) -> None:
    outsider = make_user(role="supervisor", department="440300-coordination")
    d = _prepared(setup)
    page = _terminal(setup).get(f"/draws/{d.draw_id}").get_data(as_text=True)
    choice = page[page.index('data-testid="supervisor-choice"') :]
    choice = choice[: choice.index("</select>")]
    assert f'value="{setup.supervisor.username}"' in choice
    assert outsider.username not in choice


def test_every_supervisor_failure_reads_the_same(setup: Setup, make_user: Any) -> None:
    d = _prepared(setup)
    staff = _terminal(setup)
    outsider = make_user(role="supervisor", department="440300-coordination")
    clerk = make_user(role="centre_staff", centre="440100")
    answers = [
        _witness(staff, d.draw_id, setup.supervisor.username, "wrong-password-1"),
        _witness(staff, d.draw_id, "nobody-by-that-name", PASSWORD),
        _witness(staff, d.draw_id, outsider.username, PASSWORD),
        _witness(staff, d.draw_id, clerk.username, PASSWORD),
        _witness(staff, d.draw_id, setup.operator.username, PASSWORD),
    ]
    assert {a.status_code for a in answers} == {403}
    for answer in answers:
        html = answer.get_data(as_text=True)
        assert REFUSAL in html
        assert not [t for t in TELLING if t in html]
    reasons = [
        json.loads(e.after).get("reason")
        for e in setup.session.execute(
            select(AuditEntry).where(AuditEntry.action == "draw.supervisor_refused")
        ).scalars()
    ]
    assert sorted(reasons) == sorted(
        ["bad_credentials", "bad_credentials", "not_supervising", "not_supervising", "same_person"]
    )
    setup.session.expire_all()
    assert draws.get_draw(setup.session, d.draw_id).supervisor_digits is None


def test_supervisor_attempts_at_a_terminal_are_throttled(setup: Setup) -> None:
    d = _prepared(setup)
    staff = _terminal(setup)
    statuses = [
        _witness(staff, d.draw_id, setup.supervisor.username, f"wrong-password-{n}").status_code
        for n in range(5)
    ]
    assert statuses == [403] * 5
    assert _witness(staff, d.draw_id, setup.supervisor.username, PASSWORD).status_code == 429
