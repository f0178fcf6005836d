"""Projects, lots, bidders and the award through the JSON API, with every refusal."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from expertpool.core.models import AuditEntry
from expertpool.projects.models import Project
from tests.integration.projects.conftest import credit_code, project_payload

pytestmark = pytest.mark.integration


def _count(db_session: Any, model: Any) -> int:
    return db_session.execute(select(func.count()).select_from(model)).scalar_one()


def named_secondary_venues(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """EXPERTPOOL_REMOTE_HIDE_SECONDARY_VENUE off: the project's staff name its secondary venues."""
    st = app.extensions["expertpool"]
    monkeypatch.setattr(
        st, "config", dataclasses.replace(st.config, remote_hide_secondary_venue=False)
    )


def test_staff_create_a_project_with_an_exact_budget(
    api: Callable[..., FlaskClient], db_session: Any, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    named_secondary_venues(app, monkeypatch)
    staff = api("centre_staff")
    resp = staff.post(
        "/api/projects",
        json=project_payload(
            budget=12345678.91, is_remote=True, secondary_centres=["440300", "440600"]
        ),
    )
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert (body["budget"], body["budget_fen"], body["status"]) == (
        "12345678.91",
        1234567891,
        "draft",
    )
    assert body["evaluation_start_at"] == "2026-06-05T01:00:00+00:00"
    assert (body["owner_centre"], body["main_centre"], body["secondary_centres"]) == (
        "440100",
        "440100",
        ["440300", "440600"],
    )
    assert db_session.execute(
        select(AuditEntry.action).where(AuditEntry.action == "project.create")
    ).scalar_one()


def test_a_bad_project_reports_every_field_and_saves_nothing(
    api: Callable[..., FlaskClient], db_session: Any
) -> None:
    staff = api("centre_staff")
    wrong = credit_code(1)[:17] + ("0" if credit_code(1)[17] != "0" else "1")
    resp = staff.post(
        "/api/projects",
        json=project_payload(
            code="",
            kind="land",
            budget="12.345",
            tenderer_code=wrong,
            evaluation_start="2026-06-01T09:00",
            duration_minutes=5,
            tenderer_representatives=-1,
            is_remote=True,
            main_centre="999999",
        ),
    )
    assert resp.status_code == 422
    fields = resp.get_json()["error"]["fields"]
    assert set(fields) >= {
        "code",
        "kind",
        "budget",
        "tenderer_code",
        "evaluation_start",
        "duration_minutes",
        "tenderer_representatives",
        "main_centre",
    }
    assert _count(db_session, Project) == 0


def test_with_the_hidden_pick_staff_name_no_secondary_venue(
    api: Callable[..., FlaskClient],
) -> None:
    """EXPERTPOOL_REMOTE_HIDE_SECONDARY_VENUE on (the default): the system picks the secondary
    venues at each draw request, so a remote project names none and may not name one."""
    staff = api("centre_staff")
    resp = staff.post("/api/projects", json=project_payload(is_remote=True))
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["secondary_centres"] == []
    resp = staff.post(
        "/api/projects",
        json=project_payload(code="P-2", is_remote=True, secondary_centres=["440300"]),
    )
    assert resp.status_code == 422
    assert "随机" in resp.get_json()["error"]["fields"]["secondary_centres"]


def test_a_remote_project_needs_a_secondary_venue_other_than_the_main_one(
    api: Callable[..., FlaskClient], app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    named_secondary_venues(app, monkeypatch)
    staff = api("centre_staff")
    resp = staff.post("/api/projects", json=project_payload(is_remote=True))
    assert "secondary_centres" in resp.get_json()["error"]["fields"]
    resp = staff.post(
        "/api/projects", json=project_payload(is_remote=True, secondary_centres=["440100"])
    )
    assert "主场" in resp.get_json()["error"]["fields"]["secondary_centres"]
    resp = staff.post("/api/projects", json=project_payload(secondary_centres=["440300"]))
    assert "远程" in resp.get_json()["error"]["fields"]["secondary_centres"]


def test_project_codes_are_unique(api: Callable[..., FlaskClient]) -> None:
    staff = api("centre_staff")
    assert staff.post("/api/projects", json=project_payload()).status_code == 201
    assert (
        "code" in staff.post("/api/projects", json=project_payload()).get_json()["error"]["fields"]
    )


def test_staff_of_another_centre_get_outside_centre(
    api: Callable[..., FlaskClient], ready_project: tuple[FlaskClient, int]
) -> None:
    _, pid = ready_project
    other = api("centre_staff", centre="440300")
    for method, url, body in [
        ("get", f"/api/projects/{pid}", None),
        ("put", f"/api/projects/{pid}", project_payload()),
        ("post", f"/api/projects/{pid}/bidders", {"credit_code": credit_code(9), "name": "x"}),
        ("post", f"/api/projects/{pid}/award", {}),
    ]:
        resp = getattr(other, method)(url, json=body)
        assert resp.status_code == 403, url
        assert resp.get_json()["error"]["code"] == "outside_centre"
    assert pid not in [p["id"] for p in other.get("/api/projects").get_json()["items"]]


def test_supervisors_read_projects_but_cannot_change_them(
    api: Callable[..., FlaskClient], ready_project: tuple[FlaskClient, int]
) -> None:
    _, pid = ready_project
    supervisor = api("supervisor")
    assert supervisor.get(f"/api/projects/{pid}").status_code == 200
    assert [p["id"] for p in supervisor.get("/api/projects").get_json()["items"]] == [pid]
    assert supervisor.post(f"/api/projects/{pid}/bidders", json={}).status_code == 403
    assert supervisor.post("/api/projects", json=project_payload(code="X")).status_code == 403


def test_a_bidder_with_a_wrong_check_character_is_refused(
    api: Callable[..., FlaskClient], db_session: Any
) -> None:
    staff = api("centre_staff")
    pid = staff.post("/api/projects", json=project_payload()).get_json()["id"]
    good = credit_code(20)
    wrong = good[:17] + ("A" if good[17] != "A" else "B")
    resp = staff.post(f"/api/projects/{pid}/bidders", json={"credit_code": wrong, "name": "某公司"})
    assert resp.status_code == 422
    assert "credit_code" in resp.get_json()["error"]["fields"]
    assert staff.get(f"/api/projects/{pid}").get_json()["bidders"] == []
    ok = staff.post(
        f"/api/projects/{pid}/bidders", json={"credit_code": good.lower(), "name": "某公司"}
    )
    assert ok.status_code == 201 and ok.get_json()["credit_code"] == good
    dup = staff.post(f"/api/projects/{pid}/bidders", json={"credit_code": good, "name": "某公司"})
    assert dup.get_json()["error"]["fields"] == {"credit_code": "该投标人已在列表中。"}


def test_lots_hold_their_own_bidders(api: Callable[..., FlaskClient]) -> None:
    staff = api("centre_staff")
    pid = staff.post("/api/projects", json=project_payload()).get_json()["id"]
    lot = staff.post(
        f"/api/projects/{pid}/lots", json={"code": "01", "name": "第一标段"}
    ).get_json()
    assert (
        staff.post(f"/api/projects/{pid}/lots", json={"code": "01", "name": "又一"}).status_code
        == 422
    )
    assert (
        staff.post(
            f"/api/projects/{pid}/bidders",
            json={"credit_code": credit_code(5), "name": "甲", "lot": "01"},
        ).status_code
        == 201
    )
    assert (
        staff.post(
            f"/api/projects/{pid}/bidders",
            json={"credit_code": credit_code(6), "name": "乙", "lot": "02"},
        ).status_code
        == 422
    )
    assert staff.get(f"/api/projects/{pid}").get_json()["bidders"][0]["lot"] == "01"
    assert staff.delete(f"/api/projects/{pid}/lots/{lot['id']}").status_code == 204
    assert staff.get(f"/api/projects/{pid}").get_json()["bidders"] == []


def test_a_project_without_bidders_cannot_be_ready(api: Callable[..., FlaskClient]) -> None:
    staff = api("centre_staff")
    pid = staff.post("/api/projects", json=project_payload()).get_json()["id"]
    assert staff.post(f"/api/projects/{pid}/ready").get_json()["error"]["fields"] == {
        "bidders": "请先录入投标人：抽取时需回避。"
    }


def _mark_drawn(db_session: Any, pid: int) -> None:
    from expertpool.projects import projects

    project = projects.lock_for_draw(db_session, pid)
    projects.mark_drawn(db_session, actor="test", project=project)
    db_session.commit()


def test_bidders_and_details_are_locked_after_the_draw(
    ready_project: tuple[FlaskClient, int], db_session: Any
) -> None:
    staff, pid = ready_project
    _mark_drawn(db_session, pid)
    bidder_id = staff.get(f"/api/projects/{pid}").get_json()["bidders"][0]["id"]
    for resp in (
        staff.post(
            f"/api/projects/{pid}/bidders", json={"credit_code": credit_code(30), "name": "x"}
        ),
        staff.delete(f"/api/projects/{pid}/bidders/{bidder_id}"),
        staff.put(f"/api/projects/{pid}", json=project_payload(name="改名")),
        staff.post(f"/api/projects/{pid}/lots", json={"code": "9", "name": "x"}),
    ):
        assert resp.status_code == 409
        assert resp.get_json()["error"]["code"] == "project_locked"
    assert len(staff.get(f"/api/projects/{pid}").get_json()["bidders"]) == 2


def test_the_award_names_a_bidder_and_a_past_date(
    ready_project: tuple[FlaskClient, int], db_session: Any, clock: Any
) -> None:
    from datetime import timedelta

    staff, pid = ready_project
    early = staff.post(
        f"/api/projects/{pid}/award", json={"awarded_on": "2026-06-05", "winner": credit_code(10)}
    )
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "illegal_transition"
    _mark_drawn(db_session, pid)
    clock.now = clock.now + timedelta(days=5)
    bad = staff.post(
        f"/api/projects/{pid}/award", json={"awarded_on": "2026-07-01", "winner": credit_code(99)}
    )
    assert set(bad.get_json()["error"]["fields"]) == {"awarded_on", "winner"}
    ok = staff.post(
        f"/api/projects/{pid}/award", json={"awarded_on": "2026-06-06", "winner": credit_code(11)}
    )
    assert ok.status_code == 200, ok.get_json()
    body = ok.get_json()
    assert (body["status"], body["awarded_on"], body["winner"]["code"]) == (
        "awarded",
        "2026-06-06",
        credit_code(11),
    )


def test_editing_a_project_keeps_the_audit_trail_of_changes(
    api: Callable[..., FlaskClient], db_session: Any
) -> None:
    staff = api("centre_staff")
    pid = staff.post("/api/projects", json=project_payload()).get_json()["id"]
    resp = staff.put(
        f"/api/projects/{pid}", json=project_payload(name="新名称", tenderer_representatives=2)
    )
    assert resp.status_code == 200 and resp.get_json()["name"] == "新名称"
    entry = db_session.execute(
        select(AuditEntry).where(AuditEntry.action == "project.update")
    ).scalar_one()
    assert "新名称" in entry.after and "tenderer_representatives" in entry.after
