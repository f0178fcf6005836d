"""The expert pages and JSON API: registration, application by API, review, masking, search."""

from __future__ import annotations

import io
from typing import Any

import pytest

from expertpool.accounts import users
from tests.conftest import csrf_token
from tests.integration.experts.conftest import ELF, PDF, valid_input

pytestmark = pytest.mark.integration


def _bearer(db_session: Any, user: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {users.issue_token(db_session, user, 1)[0]}"}


def test_a_visitor_registers_and_lands_on_an_empty_application(client: Any) -> None:
    token = csrf_token(client, "/experts/register")
    resp = client.post(
        "/experts/register",
        data={
            "csrf_token": token,
            "username": "zhang.san",
            "display_name": "张三",
            "password": "long-password-1",
        },
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/experts/me")
    page = client.get("/experts/me").get_data(as_text=True)
    assert 'data-testid="application-form"' in page and "张三" in page


def test_the_api_takes_an_application_from_draft_to_approval(
    db_session: Any, make_user: Any, client: Any
) -> None:
    expert_user = make_user(role="expert")
    me = _bearer(db_session, expert_user)
    bad = client.put("/api/experts/me", json=valid_input(3, phone="020-83331234"), headers=me)
    assert bad.status_code == 422 and "phone" in bad.get_json()["error"]["fields"]
    saved = client.put("/api/experts/me", json=valid_input(3), headers=me)
    assert saved.status_code == 200 and saved.get_json()["phone"] == "+8613812340003"
    refused = client.post(
        "/api/experts/me/evidence",
        headers=me,
        data={"file": (io.BytesIO(ELF), "certificate.pdf")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422 and "evidence" in refused.get_json()["error"]["fields"]
    assert (
        client.post(
            "/api/experts/me/evidence",
            headers=me,
            data={"file": (io.BytesIO(PDF), "c.pdf")},
            content_type="multipart/form-data",
        ).status_code
        == 201
    )
    submitted = client.post("/api/experts/me/submit", headers=me)
    assert submitted.get_json()["status"] == "submitted"
    expert_id = submitted.get_json()["id"]

    reviewer = _bearer(db_session, make_user(role="reviewer"))
    queue = client.get("/api/experts/review-queue?city=440100", headers=reviewer).get_json()
    assert [e["id"] for e in queue["items"]] == [expert_id]
    record = client.get(f"/api/experts/{expert_id}", headers=reviewer).get_json()
    assert "*" in record["id_number"] and "*" in record["phone"]
    stale = client.post(
        f"/api/experts/{expert_id}/decision",
        headers=reviewer,
        json={"decision": "approve", "version": record["version"] - 1},
    )
    assert stale.status_code == 409
    ok = client.post(
        f"/api/experts/{expert_id}/decision",
        headers=reviewer,
        json={"decision": "approve", "version": record["version"]},
    )
    assert ok.status_code == 200 and ok.get_json()["status"] == "active"
    again = client.post(
        f"/api/experts/{expert_id}/decision",
        headers=reviewer,
        json={"decision": "reject", "opinion": "x"},
    )
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "illegal_transition"

    staff = _bearer(db_session, make_user(role="centre_staff"))
    found = client.get("/api/experts?specialty=A0101&city=440100", headers=staff).get_json()
    assert found["total"] == 1 and found["by_city"] == {"440100": 1}
    assert (
        client.post(
            f"/api/experts/{expert_id}/reveal", headers=staff, json={"reason": "x"}
        ).status_code
        == 403
    )
    leave = client.post(
        "/api/experts/me/leave", headers=me, json={"start_on": "2030-01-10", "end_on": "2030-01-01"}
    )
    assert leave.status_code == 422 and "end_on" in leave.get_json()["error"]["fields"]


def test_staff_pages_mask_personal_data_and_reviewers_reveal_it_with_a_reason(
    db_session: Any, applicant: Any, make_user: Any, login: Any, client: Any, cipher: Any
) -> None:
    from expertpool.experts import records

    _, expert = applicant()
    clear = records.clear_pii(expert, cipher)
    login(client, make_user(role="centre_staff"))
    page = client.get(f"/experts/{expert.id}").get_data(as_text=True)
    assert clear["id_number"] not in page and clear["id_number"][-4:] in page
    reviewer_client = login(client, make_user(role="reviewer"))
    token = csrf_token(reviewer_client, f"/experts/{expert.id}")
    shown = reviewer_client.post(
        f"/experts/{expert.id}",
        data={"csrf_token": token, "action": "reveal", "reason": "核对身份证原件"},
    )
    assert clear["id_number"] in shown.get_data(as_text=True)
