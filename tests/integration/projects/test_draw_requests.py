"""Draw requests at a terminal: committee, timing, groups, regions and the terminal credential."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from expertpool.core.calendar import CST
from expertpool.draws.models import DrawRequestRecord
from tests.integration.projects.conftest import project_payload

pytestmark = pytest.mark.integration

GOOD = {
    "groups": [
        {"specialties": ["A01"], "count": 3, "backups": 2},
        {"specialties": "A02", "count": 2},
    ]
}


def _post(staff: FlaskClient, pid: int, body: dict[str, Any], token: str | None) -> Any:
    headers = {"X-Terminal-Token": token} if token else {}
    return staff.post(f"/api/projects/{pid}/draw-requests", json=body, headers=headers)


def _requests(db_session: Any) -> int:
    return db_session.execute(select(func.count()).select_from(DrawRequestRecord)).scalar_one()


def test_a_lawful_request_is_stored_with_its_groups_and_terminal(
    ready_project: tuple[FlaskClient, int], terminal: tuple[str, Any], db_session: Any
) -> None:
    staff, pid = ready_project
    resp = _post(
        staff,
        pid,
        {
            **GOOD,
            "is_offsite": True,
            "regions_out": ["440300"],
            "distinct_employers": True,
            "max_recent_draws": 3,
        },
        terminal[0],
    )
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert [g["id"] for g in body["groups"]] == ["g1", "g2"]
    assert body["groups"][0] == {
        "id": "g1",
        "specialties": ["A01"],
        "regions_in": [],
        "count": 3,
        "backups": 2,
        "regions_out": ["440300", "440100"],
    }
    assert (body["expert_count"], body["committee_size"], body["terminal_id"]) == (
        5,
        5,
        terminal[1].id,
    )
    assert (
        body["max_recent_draws"],
        body["frequency_window_days"],
        body["distinct_employers"],
    ) == (3, 90, True)
    assert staff.get(f"/api/draw-requests/{body['id']}").get_json() == body


def test_the_request_document_for_the_engine_follows_draw_v1(
    ready_project: tuple[FlaskClient, int], terminal: tuple[str, Any], db_session: Any
) -> None:
    from expertpool.draws import requests as draw_requests

    staff, pid = ready_project
    rid = _post(staff, pid, GOOD, terminal[0]).get_json()["id"]
    doc = draw_requests.engine_request(
        draw_requests.get_request(db_session, rid), draw_id="d-1", excluded_experts=["7", "3"]
    )
    assert set(doc) == {
        "draw_id",
        "project_code",
        "evaluation_date",
        "bidder_orgs",
        "tenderer_orgs",
        "agency_orgs",
        "excluded_experts",
        "max_recent_draws",
        "distinct_employers",
        "groups",
    }
    assert (doc["evaluation_date"], doc["excluded_experts"], len(doc["bidder_orgs"])) == (
        "2026-06-05",
        ["3", "7"],
        2,
    )
    assert doc["max_recent_draws"] is None


def test_an_even_committee_is_refused_and_nothing_is_saved(
    ready_project: tuple[FlaskClient, int], terminal: tuple[str, Any], db_session: Any
) -> None:
    staff, pid = ready_project
    resp = _post(staff, pid, {"groups": [{"specialties": ["A01"], "count": 6}]}, terminal[0])
    assert resp.status_code == 422
    assert "odd" in resp.get_json()["error"]["fields"]["committee"]
    assert _requests(db_session) == 0


def test_too_few_experts_for_two_thirds_is_refused(
    api: Callable[..., FlaskClient], terminal: tuple[str, Any], db_session: Any
) -> None:
    from tests.integration.projects.conftest import credit_code

    staff = api("centre_staff")
    pid = staff.post("/api/projects", json=project_payload(tenderer_representatives=3)).get_json()[
        "id"
    ]
    staff.post(f"/api/projects/{pid}/bidders", json={"credit_code": credit_code(50), "name": "甲"})
    staff.post(f"/api/projects/{pid}/ready")
    resp = _post(staff, pid, {"groups": [{"specialties": ["A01"], "count": 4}]}, terminal[0])
    assert "two thirds" in resp.get_json()["error"]["fields"]["committee"]
    assert _requests(db_session) == 0
    assert (
        _post(
            staff, pid, {"groups": [{"specialties": ["A01"], "count": 6}]}, terminal[0]
        ).status_code
        == 201
    )


def test_a_large_government_procurement_budget_needs_seven(
    api: Callable[..., FlaskClient], terminal: tuple[str, Any]
) -> None:
    from tests.integration.projects.conftest import credit_code

    staff = api("centre_staff")
    payload = project_payload(
        budget="10000000", kind="goods", regime="government_procurement", method="open_tender"
    )
    pid = staff.post("/api/projects", json=payload).get_json()["id"]
    staff.post(f"/api/projects/{pid}/bidders", json={"credit_code": credit_code(51), "name": "甲"})
    staff.post(f"/api/projects/{pid}/ready")
    resp = _post(staff, pid, {"groups": [{"specialties": ["A01"], "count": 5}]}, terminal[0])
    assert "at least 7" in resp.get_json()["error"]["fields"]["committee"]


def test_a_fifty_million_works_tender_takes_a_lawful_five_expert_committee(
    api: Callable[..., FlaskClient], terminal: tuple[str, Any]
) -> None:
    """The budget band is a government-procurement rule; the Tendering Law asks 5+ (odd)."""
    from tests.integration.projects.conftest import credit_code

    staff = api("centre_staff")
    payload = project_payload(budget="50000000", regime="tendering_law", method="open_tender")
    pid = staff.post("/api/projects", json=payload).get_json()["id"]
    staff.post(f"/api/projects/{pid}/bidders", json={"credit_code": credit_code(51), "name": "甲"})
    staff.post(f"/api/projects/{pid}/ready")
    resp = _post(staff, pid, {"groups": [{"specialties": ["A01"], "count": 5}]}, terminal[0])
    assert resp.status_code == 201, resp.get_json()


def test_a_draw_too_early_counting_a_holiday_is_refused(
    api: Callable[..., FlaskClient], terminal: tuple[str, Any], clock: Any, db_session: Any
) -> None:
    from tests.integration.projects.conftest import credit_code

    # 28 September 2025 is a make-up working day; 1–8 October are the National Day holiday.
    clock.now = datetime(2025, 9, 28, 9, 0, tzinfo=CST)
    staff = api("centre_staff")
    pid = staff.post(
        "/api/projects", json=project_payload(evaluation_start="2025-10-09T09:00")
    ).get_json()["id"]
    staff.post(f"/api/projects/{pid}/bidders", json={"credit_code": credit_code(52), "name": "甲"})
    staff.post(f"/api/projects/{pid}/ready")
    resp = _post(staff, pid, GOOD, terminal[0])
    assert "too early: 3 working days" in resp.get_json()["error"]["fields"]["evaluation_start"]
    assert _requests(db_session) == 0
    clock.now = datetime(
        2025, 9, 30, 9, 0, tzinfo=CST
    )  # nine days before, but only one working day
    assert _post(staff, pid, GOOD, terminal[0]).status_code == 201


def test_an_unknown_specialty_prefix_and_region_are_field_errors(
    ready_project: tuple[FlaskClient, int], terminal: tuple[str, Any], db_session: Any
) -> None:
    staff, pid = ready_project
    resp = _post(
        staff,
        pid,
        {
            "groups": [
                {"specialties": ["A01", "Q9"], "count": 3},
                {"specialties": ["A02"], "count": 2, "regions_in": ["123456"]},
            ],
            "regions_out": ["000000"],
            "max_recent_draws": "x",
        },
        terminal[0],
    )
    fields = resp.get_json()["error"]["fields"]
    assert fields["groups[0].specialties"] == "not in the specialty tree: Q9"
    assert set(fields) == {
        "groups[0].specialties",
        "groups[1].regions_in",
        "regions_out",
        "max_recent_draws",
    }
    assert _requests(db_session) == 0


@pytest.mark.parametrize(
    "token, code", [(None, "terminal_required"), ("term_forged", "terminal_unregistered")]
)
def test_a_request_without_a_registered_terminal_is_refused(
    ready_project: tuple[FlaskClient, int], token: str | None, code: str, db_session: Any
) -> None:
    staff, pid = ready_project
    resp = _post(staff, pid, GOOD, token)
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == code
    assert _requests(db_session) == 0


def test_a_request_from_a_disabled_terminal_is_refused(
    ready_project: tuple[FlaskClient, int],
    terminal: tuple[str, Any],
    api: Callable[..., FlaskClient],
    db_session: Any,
) -> None:
    staff, pid = ready_project
    admin = api("admin")
    assert admin.post(f"/api/terminals/{terminal[1].id}/disable").get_json()["is_active"] is False
    resp = _post(staff, pid, GOOD, terminal[0])
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "terminal_disabled"
    assert _requests(db_session) == 0


def test_a_terminal_of_another_centre_is_refused(
    ready_project: tuple[FlaskClient, int], db_session: Any
) -> None:
    from expertpool.projects import terminals

    staff, pid = ready_project
    clear, _ = terminals.register_terminal(
        db_session, actor="t", centre_code="440300", name="深圳终端"
    )
    resp = _post(staff, pid, GOOD, clear)
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "terminal_other_centre"


def test_staff_of_another_centre_cannot_request_a_draw(
    ready_project: tuple[FlaskClient, int], api: Callable[..., FlaskClient], db_session: Any
) -> None:
    from expertpool.projects import terminals

    _, pid = ready_project
    clear, _ = terminals.register_terminal(
        db_session, actor="t", centre_code="440300", name="深圳终端"
    )
    resp = _post(api("centre_staff", centre="440300"), pid, GOOD, clear)
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "outside_centre"


def test_a_draft_project_cannot_be_drawn(
    api: Callable[..., FlaskClient], terminal: tuple[str, Any]
) -> None:
    staff = api("centre_staff")
    pid = staff.post("/api/projects", json=project_payload()).get_json()["id"]
    resp = _post(staff, pid, GOOD, terminal[0])
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "project_not_ready"


def test_a_project_with_lots_needs_the_lot_named(
    api: Callable[..., FlaskClient], terminal: tuple[str, Any]
) -> None:
    from tests.integration.projects.conftest import credit_code

    staff = api("centre_staff")
    pid = staff.post("/api/projects", json=project_payload()).get_json()["id"]
    staff.post(f"/api/projects/{pid}/lots", json={"code": "01", "name": "一标段"})
    staff.post(
        f"/api/projects/{pid}/bidders",
        json={"credit_code": credit_code(60), "name": "甲", "lot": "01"},
    )
    staff.post(f"/api/projects/{pid}/ready")
    assert "lot" in _post(staff, pid, GOOD, terminal[0]).get_json()["error"]["fields"]
    assert _post(staff, pid, {**GOOD, "lot": "01"}, terminal[0]).get_json()["lot"] == "01"


def _ready_with(staff: FlaskClient, code: str, **payload: Any) -> int:
    from tests.integration.projects.conftest import credit_code

    resp = staff.post("/api/projects", json=project_payload(code=code, **payload))
    assert resp.status_code == 201, resp.get_json()
    pid = int(resp.get_json()["id"])
    staff.post(f"/api/projects/{pid}/bidders", json={"credit_code": credit_code(52), "name": "乙"})
    assert staff.post(f"/api/projects/{pid}/ready").status_code == 200
    return pid


@pytest.mark.parametrize(
    "method", ["competitive_negotiation", "competitive_consultation", "request_for_quotation"]
)
def test_a_three_member_negotiation_group_is_lawful(
    api: Callable[..., FlaskClient], terminal: tuple[str, Any], method: str
) -> None:
    staff = api("centre_staff")
    pid = _ready_with(
        staff,
        f"GP-{method}",
        kind="services",
        budget="800000",
        regime="government_procurement",
        method=method,
    )
    resp = _post(staff, pid, {"groups": [{"specialties": ["A01"], "count": 3}]}, terminal[0])
    assert resp.status_code == 201, resp.get_json()


@pytest.mark.parametrize(
    ("regime", "method", "offsite", "allowed"),
    [
        ("government_procurement", "open_tender", True, True),  # 异地: exempt
        ("government_procurement", "open_tender", False, False),
        ("government_procurement", "competitive_negotiation", False, True),
        ("tendering_law", "open_tender", True, False),
    ],
)
def test_a_draw_five_working_days_ahead_follows_the_regimes_timing_rule(
    api: Callable[..., FlaskClient],
    terminal: tuple[str, Any],
    regime: str,
    method: str,
    offsite: bool,
    allowed: bool,
) -> None:
    staff = api("centre_staff")
    pid = _ready_with(
        staff,
        f"T-{regime}-{method}-{offsite}",
        kind="goods" if regime == "government_procurement" else "works",
        regime=regime,
        method=method,
        budget="800000",
        evaluation_start="2026-06-10T09:00",  # five working days after Wednesday 3 June
    )
    body = {"groups": [{"specialties": ["A01"], "count": 5}], "is_offsite": offsite}
    resp = _post(staff, pid, body, terminal[0])
    if allowed:
        assert resp.status_code == 201, resp.get_json()
    else:
        assert "too early" in resp.get_json()["error"]["fields"]["evaluation_start"]


def test_an_off_site_project_draws_off_site_without_the_lead_time_limit(
    api: Callable[..., FlaskClient], terminal: tuple[str, Any]
) -> None:
    staff = api("centre_staff")
    pid = _ready_with(
        staff,
        "GP-OFFSITE",
        kind="goods",
        regime="government_procurement",
        method="open_tender",
        budget="800000",
        is_offsite=True,
        evaluation_start="2026-06-10T09:00",
    )
    resp = _post(staff, pid, {"groups": [{"specialties": ["A01"], "count": 5}]}, terminal[0])
    assert resp.status_code == 201, resp.get_json()
    view = resp.get_json()
    assert view["is_offsite"] is True
    assert "440100" in view["groups"][0]["regions_out"]
