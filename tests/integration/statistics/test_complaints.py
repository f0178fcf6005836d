"""Complaints: recorded by a supervisor of the project's department, moved forward only, each step
audited; other departments neither record nor read them; a refused form saves nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from expertpool.core.models import AuditEntry
from expertpool.statistics.models import Complaint
from tests.conftest import csrf_token
from tests.integration.statistics.test_figures import History, _at

pytestmark = pytest.mark.integration


@pytest.fixture()
def project(app: Any, make_user: Any) -> Any:
    operator = make_user(role="centre_staff", centre="440100")
    history = History(app.extensions["expertpool"].sessions(), operator.id)
    p = history.draw("440100", _at(3))
    history.session.commit()
    return p


def _form(**over: str) -> dict[str, str]:
    return {
        "project_code": "ST-1",
        "complainant_kind": "bidder",
        "complainant_name": "某建设有限公司",
        "received_on": "2026-03-20",
        "summary": "评标专家与投标人存在利害关系。",
        **over,
    }


def test_a_complaint_goes_from_received_to_decided(
    app: Any, client: Any, login: Any, make_user: Any, project: Any
) -> None:
    login(client, make_user(role="supervisor", department="440100-coordination"))
    token = csrf_token(client, "/statistics/complaints")
    resp = client.post("/statistics/complaints", data={"csrf_token": token, **_form()})
    assert resp.status_code == 302
    path = resp.headers["Location"]
    assert 'data-status="received"' in client.get(path).get_data(as_text=True)
    client.post(path, data={"csrf_token": token})
    assert 'data-status="investigating"' in client.get(path).get_data(as_text=True)
    refused = client.post(path, data={"csrf_token": token, "decision": " "})
    assert refused.status_code == 422
    client.post(path, data={"csrf_token": token, "decision": "经调查不成立。"})
    page = client.get(path).get_data(as_text=True)
    assert 'data-status="decided"' in page and "经调查不成立。" in page
    assert client.post(path, data={"csrf_token": token}).status_code == 422  # no step after
    session = app.extensions["expertpool"].sessions()
    actions = session.execute(
        select(AuditEntry.action).where(AuditEntry.object_type == "complaint")
    ).scalars()
    assert list(actions) == [
        "complaint.received",
        "complaint.investigating",
        "complaint.decided",
    ]


def test_another_department_neither_records_nor_reads(
    app: Any, client: Any, login: Any, make_user: Any, project: Any
) -> None:
    session = app.extensions["expertpool"].sessions()
    login(client, make_user(role="supervisor", department="440300-coordination"))
    token = csrf_token(client, "/statistics/complaints")
    resp = client.post("/statistics/complaints", data={"csrf_token": token, **_form()})
    assert resp.status_code == 422
    assert 'data-field-error="project_code"' in resp.get_data(as_text=True)
    assert session.execute(select(func.count()).select_from(Complaint)).scalar_one() == 0
    # recorded by the right department, then looked for by the other
    own = make_user(role="supervisor", department="440100-coordination")
    other_client = app.test_client()
    login(other_client, own)
    t2 = csrf_token(other_client, "/statistics/complaints")
    done = other_client.post("/statistics/complaints", data={"csrf_token": t2, **_form()})
    path = done.headers["Location"]
    assert client.get(path).status_code == 404
    assert "某建设有限公司" not in client.get("/statistics/complaints").get_data(as_text=True)


def test_a_refused_form_saves_nothing_and_names_each_field(
    app: Any, client: Any, login: Any, make_user: Any, project: Any
) -> None:
    login(client, make_user(role="supervisor", department="440100-coordination"))
    token = csrf_token(client, "/statistics/complaints")
    bad = _form(complainant_kind="x", complainant_name="", received_on="2999-01-01", summary="")
    resp = client.post("/statistics/complaints", data={"csrf_token": token, **bad})
    assert resp.status_code == 422
    text = resp.get_data(as_text=True)
    for name in ("complainant_kind", "complainant_name", "received_on", "summary"):
        assert f'data-field-error="{name}"' in text
    session = app.extensions["expertpool"].sessions()
    assert session.execute(select(func.count()).select_from(Complaint)).scalar_one() == 0


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_attachments_are_kept_encrypted_and_read_by_the_department_only(
    app: Any, client: Any, login: Any, make_user: Any, project: Any
) -> None:
    import io

    login(client, make_user(role="supervisor", department="440100-coordination"))
    token = csrf_token(client, "/statistics/complaints")
    path = client.post("/statistics/complaints", data={"csrf_token": token, **_form()}).headers[
        "Location"
    ]
    complaint_id = int(path.rsplit("/", 1)[1])
    attach = f"/statistics/complaints/{complaint_id}/attachments"
    resp = client.post(
        attach,
        data={"csrf_token": token, "attachment": (io.BytesIO(PDF), "投诉书.pdf")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    # a file that is not a PDF, JPEG or PNG is refused with a field error and saves nothing
    refused = client.post(
        attach,
        data={"csrf_token": token, "attachment": (io.BytesIO(b"plain text"), "a.pdf")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422 and "PDF" in refused.get_data(as_text=True)
    page = client.get(path).get_data(as_text=True)
    assert "投诉书.pdf" in page
    session = app.extensions["expertpool"].sessions()
    from expertpool.statistics.models import ComplaintAttachment

    rows = list(session.execute(select(ComplaintAttachment)).scalars())
    assert len(rows) == 1
    files = app.extensions["expertpool"].files
    stored = files._path(rows[0].sha256).read_bytes()
    assert PDF not in stored and stored.startswith(b"EPF1")  # encrypted at rest
    download = client.get(f"{attach}/{rows[0].id}")
    assert download.status_code == 200 and download.data == PDF
    actions = session.execute(
        select(AuditEntry.action).where(AuditEntry.action == "complaint.attachment")
    ).scalars()
    assert len(list(actions)) == 1
    client.post("/logout")
    login(client, make_user(role="supervisor", department="440300-housing"))
    assert client.get(f"{attach}/{rows[0].id}").status_code == 404
