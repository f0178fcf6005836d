"""The record's pages: the rating form by who may use it, the expert's record and objection, the
reviewers' decisions, the archive page and its audited PDF export."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select

from expertpool.core.audit import AuditEntry
from expertpool.core.db import utcnow
from expertpool.record import archive
from expertpool.record.models import Rating
from tests.conftest import csrf_token
from tests.integration.record.conftest import DAY, ClosedSession, covered, expert_of

pytestmark = pytest.mark.integration

AFTER = DAY + timedelta(hours=7)


@pytest.fixture()
def at_after(app: Flask) -> Iterator[None]:
    """The application's clock just after the room's close."""
    app.extensions["expertpool"].clock = lambda: AFTER
    yield
    app.extensions["expertpool"].clock = utcnow


def _as(example: ClosedSession, login: Any, who: str) -> FlaskClient:
    return login(example.app.test_client(), example.people[who])


def _rate_form(client: FlaskClient, room: str, alias: str) -> tuple[str, str]:
    html = client.get(f"/record/sessions/{room}").get_data(as_text=True)
    start = html.index(f'data-testid="rate-{alias}"')
    chunk = html[start : start + 3000]
    pid = chunk.split('name="participant_id" value="', 1)[1].split('"', 1)[0]
    token = chunk.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    return pid, token


def test_the_rating_form_refuses_a_low_mark_without_comment_then_saves(
    example: ClosedSession, login: Any, at_after: None
) -> None:
    host = _as(example, login, "h_gz")
    page = host.get(f"/record/sessions/{example.room_id}").get_data(as_text=True)
    assert "专家甲" in page and "专家戊" not in page  # the remote member by alias only
    assert 'data-testid="rate-专家5"' in page  # E, the remote member: rated by the main host
    pid, token = _rate_form(host, example.room_id, "专家1")
    marks = {"punctuality": "1", "competence": "3", "fairness": "3", "discipline": "3"}
    bad = host.post(
        f"/record/sessions/{example.room_id}/rate",
        data={"csrf_token": token, "participant_id": pid, **marks, "comment": ""},
    )
    assert bad.status_code == 422
    assert 'data-field-error="comment"' in bad.get_data(as_text=True)
    session = example.app.extensions["expertpool"].sessions()
    assert session.execute(select(Rating)).first() is None
    ok = host.post(
        f"/record/sessions/{example.room_id}/rate",
        data={"csrf_token": token, "participant_id": pid, **marks, "comment": "迟到四十分钟"},
    )
    assert ok.status_code == 302
    assert "迟到四十分钟" in host.get(f"/record/sessions/{example.room_id}").get_data(as_text=True)


def test_before_the_close_only_the_sessions_hosts_and_supervisors_see_the_assessment(
    example: ClosedSession, login: Any, make_user: Any, at_after: None
) -> None:
    for who in ("h_gz", "h_sz", "sup"):
        assert (
            _as(example, login, who).get(f"/record/sessions/{example.room_id}").status_code == 200
        )
    for user in (make_user(role="centre_staff"), make_user(role="supervisor"), example.people["A"]):
        client = login(example.app.test_client(), user)
        assert client.get(f"/record/sessions/{example.room_id}").status_code in (403, 404)


def test_the_expert_objects_once_after_posting_and_a_reviewer_upholds(
    example: ClosedSession, login: Any, make_user: Any, at_after: None
) -> None:
    covered(example.app)
    host = _as(example, login, "h_gz")
    pid, token = _rate_form(host, example.room_id, "专家1")
    host.post(
        f"/record/sessions/{example.room_id}/rate",
        data={
            "csrf_token": token,
            "participant_id": pid,
            "punctuality": "1",
            "competence": "1",
            "fairness": "2",
            "discipline": "1",
            "comment": "严重迟到",
        },
    )
    expert = _as(example, login, "A")
    assert "严重迟到" not in expert.get("/record/mine").get_data(as_text=True)
    example.close()
    sup = _as(example, login, "sup")
    sup.post(
        f"/record/sessions/{example.room_id}/post",
        data={"csrf_token": csrf_token(sup, f"/record/sessions/{example.room_id}")},
    )
    mine = expert.get("/record/mine").get_data(as_text=True)
    assert "严重迟到" in mine and "rating_very_poor" in mine
    token = csrf_token(expert, "/record/mine")
    sid = example.session_id
    assert (
        expert.post(
            "/record/mine/objections", data={"csrf_token": token, "session_id": sid, "text": ""}
        ).status_code
        == 422
    )
    assert (
        expert.post(
            "/record/mine/objections",
            data={"csrf_token": token, "session_id": sid, "text": "当天交通管制"},
        ).status_code
        == 302
    )
    again = expert.post(
        "/record/mine/objections", data={"csrf_token": token, "session_id": sid, "text": "再议"}
    )
    assert again.status_code == 409
    reviewer = login(example.app.test_client(), make_user(role="reviewer"))
    page = reviewer.get("/record/reviews").get_data(as_text=True)
    assert "当天交通管制" in page
    oid = page.split('data-objection="', 1)[1].split('"', 1)[0]
    done = reviewer.post(
        f"/record/objections/{oid}/decide",
        data={
            "csrf_token": csrf_token(reviewer, "/record/reviews"),
            "outcome": "uphold",
            "decision": "情况属实",
        },
    )
    assert done.status_code == 302
    assert "reversal" in expert.get("/record/mine").get_data(as_text=True)
    a = expert_of(example.app, example.people["A"])
    assert 'data-testid="credit-score"' in expert.get("/record/mine").get_data(as_text=True)
    assert not a.is_low_credit


def test_the_archive_page_and_its_pdf_export_are_audited_and_the_expert_reads_their_own(
    example: ClosedSession, login: Any, make_user: Any, at_after: None
) -> None:
    covered(example.app)
    example.close()
    a = expert_of(example.app, example.people["A"])
    b = expert_of(example.app, example.people["B"])
    expert = _as(example, login, "A")
    assert (
        expert.get("/record/mine/archive").headers["Location"].endswith(f"/record/experts/{a.id}")
    )
    page = expert.get(f"/record/experts/{a.id}").get_data(as_text=True)
    assert 'data-testid="archive-sessions"' in page and example.room_id in page
    assert expert.get(f"/record/experts/{b.id}").status_code == 404  # not another's
    reviewer = login(example.app.test_client(), make_user(role="reviewer"))
    pdf = reviewer.get(f"/record/experts/{a.id}/archive.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "专家甲" in text and "评标专家档案" in text
    session = example.app.extensions["expertpool"].sessions()
    name = archive.audit_name(example.app.extensions["expertpool"].keys, a)
    actions = set(
        session.execute(select(AuditEntry.action).where(AuditEntry.object_id == name)).scalars()
    )
    assert {"record.archive_read", "record.archive_exported"} <= actions
    outsider = login(example.app.test_client(), make_user(role="centre_staff"))
    assert outsider.get(f"/record/experts/{a.id}").status_code == 403


def test_the_credit_rules_are_public_with_their_sources(client: FlaskClient) -> None:
    html = client.get("/record/rules").get_data(as_text=True)
    assert 'data-rule="draw_exclusion_below"' in html and "实施条例" in html
