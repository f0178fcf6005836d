"""The rule table in the database: the version in force, a project's pinned version, an
administrator's change with an effective date and its audit entry, and the rule page.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from expertpool.core.errors import Forbidden, ValidationFailed
from expertpool.core.models import AuditEntry
from expertpool.regimes import rulebook
from tests.integration.projects.conftest import Clock, credit_code, project_payload

pytestmark = pytest.mark.integration

GP = "government_procurement"


def _session(app: Flask) -> Any:
    return app.extensions["expertpool"].sessions()


def _change(app: Flask, admin: Any, clock: Clock, *, value: str, days: int = 1, **kw: Any) -> Any:
    data = {
        "regime": GP,
        "method": "*",
        "key": "committee_large_min_members",
        "value": value,
        "effective_on": (clock.now + timedelta(days=days)).date().isoformat(),
        "source": "财政部87号令 Art. 47 (test change)",
        "status": "local_practice",
        "note": "省级规定调整",
        **kw,
    }
    return rulebook.change_rule(_session(app), actor=admin, now=clock.now, **data)


def _ready(staff: FlaskClient, code: str, **payload: Any) -> int:
    body = project_payload(
        code=code, kind="goods", regime=GP, method="open_tender", budget="20000000", **payload
    )
    resp = staff.post("/api/projects", json=body)
    assert resp.status_code == 201, resp.get_json()
    pid = int(resp.get_json()["id"])
    staff.post(f"/api/projects/{pid}/bidders", json={"credit_code": credit_code(70), "name": "甲"})
    assert staff.post(f"/api/projects/{pid}/ready").status_code == 200
    return pid


def test_a_change_takes_effect_on_its_date_and_a_ready_project_keeps_its_version(
    app: Flask, api: Callable[..., FlaskClient], clock: Clock, make_user: Callable[..., Any]
) -> None:
    admin = make_user(role="admin")
    staff = api("centre_staff")
    before = _ready(staff, "GP-A")
    version = _change(app, admin, clock, value="9")
    assert version.number == 2
    today = _ready(staff, "GP-B")  # made ready today: the change is not in force yet
    clock.now += timedelta(days=1)
    later = _ready(staff, "GP-C")
    session = _session(app)
    views = {
        pid: staff.get(f"/api/projects/{pid}").get_json()["rule_version"]
        for pid in (before, today, later)
    }
    assert views == {before: 1, today: 1, later: 2}
    from expertpool.projects import projects

    minimum = {
        pid: projects.project_rules(session, projects.get_project(session, pid)).committee_minimum(
            budget_fen=2_000_000_000, is_complex=False
        )
        for pid in (today, later)
    }
    assert minimum == {today: 7, later: 9}


def test_only_an_administrator_changes_a_rule_and_the_change_is_audited(
    app: Flask, clock: Clock, make_user: Callable[..., Any]
) -> None:
    with pytest.raises(Forbidden):
        _change(app, make_user(role="supervisor"), clock, value="9")
    admin = make_user(role="admin")
    _change(app, admin, clock, value="9")
    entry = (
        _session(app)
        .execute(select(AuditEntry).where(AuditEntry.action == "rules.change"))
        .scalar_one()
    )
    before, after = json.loads(entry.before), json.loads(entry.after)
    assert entry.actor == admin.username
    assert (before["value"], after["value"]) == (7, 9)
    assert after["effective_on"] == (clock.now + timedelta(days=1)).date().isoformat()
    assert after["source"].startswith("财政部87号令")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"days": -1}, "effective_on"),
        ({"value": "true"}, "value"),
        ({"key": "no_such_rule"}, "key"),
        ({"regime": "nowhere"}, "regime"),
        ({"regime": "tendering_law", "method": "request_for_quotation"}, "method"),
        ({"source": " "}, "source"),
        ({"note": ""}, "note"),
    ],
)
def test_a_wrong_change_is_refused_field_by_field(
    app: Flask, clock: Clock, make_user: Callable[..., Any], overrides: dict[str, Any], field: str
) -> None:
    admin = make_user(role="admin")
    args: dict[str, Any] = {"value": "9", **overrides}
    with pytest.raises(ValidationFailed) as refused:
        _change(app, admin, clock, **args)
    assert field in refused.value.fields
    assert rulebook.versions(_session(app))[0].number == 1


def test_the_rule_page_lists_each_rule_with_its_source_and_status(
    app: Flask, client: FlaskClient, make_user: Callable[..., Any], login: Any
) -> None:
    login(client, make_user(role="expert"))
    html = client.get("/rules").get_data(as_text=True)
    for row in rulebook.bundled_rows():
        assert f'data-rule="{row["regime"]}/{row["method"]}/{row["key"]}"' in html
    assert "财库〔2012〕69号" in html and "财库〔2016〕198号 Art. 13" in html
    assert client.get("/rules/change").status_code == 403
