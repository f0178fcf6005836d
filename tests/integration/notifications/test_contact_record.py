"""The named contact record of a draw: auditors only, only after the award, every viewing
audited.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from expertpool.accounts import users
from expertpool.accounts.models import Centre
from expertpool.core.models import AuditEntry
from expertpool.draws import ledger as draw_ledger
from expertpool.draws.models import LedgerKind
from expertpool.projects.models import Project, ProjectKind, ProjectStatus
from expertpool.regimes.models import LegalRegime, ProcurementMethod
from tests.integration.notifications.conftest import TwilioTrial

pytestmark = pytest.mark.integration

NAMES = ("李四", "王五")


def _project_with_draw(trial: TwilioTrial, draw_id: str) -> int:
    """A project with one draw in the ledger, and two experts of that draw invited and answered."""
    session = trial.session
    centre = session.execute(select(Centre).where(Centre.region_code == "440100")).scalar_one()
    project = Project(
        code=f"P-{draw_id}",
        name="道路改造工程",
        kind=ProjectKind.WORKS,
        regime=LegalRegime.TENDERING_LAW,
        method=ProcurementMethod.OPEN_TENDER,
        budget_fen=100_000_000,
        tenderer_code="91440101MA5CXXXX1A",
        tenderer_name="招标人",
        agency_code="91440101MA5CXXXX2B",
        agency_name="代理机构",
        evaluation_start_at=datetime(2026, 12, 3, 1, 30, tzinfo=UTC),
        duration_minutes=240,
        owner_centre_id=centre.id,
        main_centre_id=centre.id,
        status=ProjectStatus.DRAWN,
    )
    session.add(project)
    session.flush()
    draw_ledger.append_entry(
        session,
        draw_id=draw_id,
        project_id=project.id,
        kind=LedgerKind.COMMIT,
        payload={"draw_id": draw_id},
        operator="staff",
        supervisor="sv",
    )
    session.commit()
    project_id = project.id
    first, second = trial.new_number(), trial.new_number()
    for rank, (phone, name) in enumerate(zip((first, second), NAMES, strict=True), start=1):
        from expertpool.notifications import invitations

        invitations.enqueue_invitation(
            session,
            draw_id=draw_id,
            group_id="G1",
            expert_id=2000 + rank,
            rank=rank,
            phone=phone,
            expert_name=name,
            starts_at=datetime(2026, 12, 3, 1, 30, tzinfo=UTC),
            venue="广州主场评标室",
            ctx=trial.ctx,
        )
    session.commit()
    trial.api.script_calls(first, "machine", "accept")
    trial.api.script_calls(second, "decline")
    trial.dispatch()
    trial.play()
    trial.dispatch(trial.later(trial.ctx.config.call_retry_minutes + 1))
    trial.play()
    return project_id


def _award(trial: TwilioTrial, project_id: int) -> None:
    session = trial.session
    project = session.get(Project, project_id)
    assert project is not None
    project.status = ProjectStatus.AWARDED
    session.commit()


def _views(trial: TwilioTrial, draw_id: str) -> list[AuditEntry]:
    session = trial.session
    session.expire_all()
    return list(
        session.execute(
            select(AuditEntry).where(
                AuditEntry.action == "notify.record_viewed", AuditEntry.object_id == draw_id
            )
        ).scalars()
    )


@pytest.fixture()
def supervisor(
    trial: TwilioTrial, make_user: Callable[..., Any], login: Callable[..., FlaskClient]
) -> FlaskClient:
    """A logged-in supervisor's browser."""
    return login(trial.app.test_client(), make_user(role="supervisor"))


def _api_client(trial: TwilioTrial, user: Any) -> FlaskClient:
    token, _ = users.issue_token(trial.session, user, 1)
    client = trial.app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def test_before_the_award_the_record_is_refused_without_any_name(
    trial: TwilioTrial, supervisor: FlaskClient, make_user: Callable[..., Any]
) -> None:
    _project_with_draw(trial, "D-rec-1")
    page = supervisor.get("/notifications/draws/D-rec-1/record")
    api = _api_client(trial, make_user(role="supervisor")).get(
        "/api/notifications/draws/D-rec-1/record"
    )
    assert page.status_code == 403 and api.status_code == 403
    for text in (page.get_data(as_text=True), api.get_data(as_text=True)):
        assert not any(name in text for name in NAMES)
    assert api.get_json()["error"]["code"] == "not_awarded"
    assert _views(trial, "D-rec-1") == []


def test_after_the_award_a_supervisor_sees_every_attempt_with_names_and_the_viewing_is_audited(
    trial: TwilioTrial, supervisor: FlaskClient
) -> None:
    project_id = _project_with_draw(trial, "D-rec-2")
    _award(trial, project_id)
    page = supervisor.get("/notifications/draws/D-rec-2/record")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert all(name in html for name in NAMES)
    for sid in trial.api.calls:
        assert sid in html
    [view] = _views(trial, "D-rec-2")
    assert view.actor.startswith("supervisor")


def test_the_json_record_lists_channel_sid_times_statuses_digits_answerer_and_errors(
    trial: TwilioTrial, make_user: Callable[..., Any]
) -> None:
    project_id = _project_with_draw(trial, "D-rec-3")
    _award(trial, project_id)
    response = _api_client(trial, make_user(role="supervisor")).get(
        "/api/notifications/draws/D-rec-3/record"
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["project"]["id"] == project_id
    first, second = body["invitees"]
    assert (first["name"], first["rank"], first["state"]) == ("李四", 1, "accepted")
    assert (second["name"], second["state"]) == ("王五", "declined")
    assert "*" in first["phone"]  # the number stays masked
    calls = [a for a in first["attempts"] if a["channel"] == "voice"]
    assert [(c["answered_by"], c["digits"]) for c in calls] == [
        ("machine_start", ""),
        ("human", "1"),
    ]
    assert {c["sid"] for c in calls} | {
        a["sid"] for a in second["attempts"] if a["channel"] == "voice"
    } == set(trial.api.calls)
    assert all(
        c["status"] == "completed"
        and c["at"]
        and "completed" in [h["status"] for h in c["status_history"]]
        for c in calls
    )
    assert all("error_code" in a for a in first["attempts"])
    assert any(a["channel"] == "sms" for a in first["attempts"])
    assert len(_views(trial, "D-rec-3")) == 1


def test_staff_and_administrators_are_refused_even_after_the_award(
    trial: TwilioTrial, make_user: Callable[..., Any], login: Callable[..., FlaskClient]
) -> None:
    project_id = _project_with_draw(trial, "D-rec-4")
    _award(trial, project_id)
    for role in ("centre_staff", "admin", "expert"):
        response = login(trial.app.test_client(), make_user(role=role)).get(
            "/notifications/draws/D-rec-4/record"
        )
        assert response.status_code == 403
        assert not any(name in response.get_data(as_text=True) for name in NAMES)
    assert _views(trial, "D-rec-4") == []


def test_a_draw_that_is_not_in_the_ledger_is_not_found(
    trial: TwilioTrial, supervisor: FlaskClient
) -> None:
    assert supervisor.get("/notifications/draws/D-nowhere/record").status_code == 404
