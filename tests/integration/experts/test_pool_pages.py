"""The pages of issue #22: relatives, training, courses and imports, term renewal; bad input is
a translated field error (422) that saves nothing.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from expertpool.experts import identity, review
from expertpool.experts.models import Expert, ExpertRelative
from expertpool.training import records as training
from expertpool.training.models import TrainingCourse, TrainingRecord
from tests.conftest import csrf_token
from tests.integration.experts.conftest import PDF

pytestmark = pytest.mark.integration


def _count(db_session: Any, model: Any) -> int:
    return db_session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.fixture()
def expert_client(app: Any, db_session: Any, applicant: Any, make_user: Any, login: Any) -> Any:
    """A logged-in expert in the pool; returns (client, expert)."""
    user, expert = applicant()
    review.decide(
        db_session, reviewer=make_user(role="reviewer"), expert_id=expert.id, decision="approve"
    )
    return login(app.test_client(), user), expert


def test_an_expert_declares_a_relative_and_a_bad_id_number_saves_nothing(
    db_session: Any, expert_client: Any
) -> None:
    client, expert = expert_client
    path = "/experts/me/relatives"
    bad = client.post(
        path, data={"csrf_token": csrf_token(client, path), "kind": "spouse", "id_number": "12345"}
    )
    assert bad.status_code == 422
    assert _count(db_session, ExpertRelative) == 0
    number = identity.make_id_number("440103", date(1980, 1, 1), 5)
    ok = client.post(
        path, data={"csrf_token": csrf_token(client, path), "kind": "spouse", "id_number": number}
    )
    assert ok.status_code == 302
    db_session.expire_all()
    row = db_session.execute(select(ExpertRelative)).scalar_one()
    assert row.expert_id == expert.id and number.encode() not in (row.id_number_enc or b"")
    assert number.encode() not in client.get(path).data  # never shown back


def test_an_expert_records_training_with_a_certificate_on_the_page(
    db_session: Any, expert_client: Any, make_user: Any
) -> None:
    client, _ = expert_client
    training.add_course(
        db_session,
        actor=make_user(role="admin"),
        code="C1",
        title="法规",
        hours=8,
        held_on=date(2027, 4, 1),
    )
    path = "/training/mine"
    refused = client.post(
        path,
        data={"csrf_token": csrf_token(client, path), "course": "C1"},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422 and _count(db_session, TrainingRecord) == 0
    done = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "course": "C1",
            "certificate": (io.BytesIO(PDF), "证书.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert done.status_code == 302
    assert "证书.pdf".encode() in client.get(path).data


def test_staff_publish_courses_and_import_attendance_on_the_page(
    app: Any, db_session: Any, make_user: Any, login: Any, applicant: Any, cipher: Any
) -> None:
    client = login(app.test_client(), make_user(role="admin"))
    path = "/training/courses"
    bad = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "action": "course",
            "code": "",
            "title": "",
            "hours": "0",
        },
    )
    assert bad.status_code == 422 and _count(db_session, TrainingCourse) == 0
    ok = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "action": "course",
            "code": "C9",
            "title": "标准",
            "hours": "4",
            "held_on": "2027-02-01",
        },
    )
    assert ok.status_code == 302
    _, expert = applicant()
    number = cipher.decrypt(
        expert.id_number_enc, table="expert", row_id=expert.id, column="id_number"
    )
    body = f"id_number,course\n{number},C9\n{number},NOPE\n".encode()
    refused = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "action": "import",
            "file": (io.BytesIO(body), "list.csv"),
        },
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422 and b"row 3" in refused.data
    assert _count(db_session, TrainingRecord) == 0


def test_a_reviewer_renews_a_term_inside_the_window_on_the_record_page(
    app: Any, db_session: Any, applicant: Any, make_user: Any, login: Any
) -> None:
    reviewer = make_user(role="reviewer")
    _, expert = applicant()
    review.decide(db_session, reviewer=reviewer, expert_id=expert.id, decision="approve")
    client = login(app.test_client(), reviewer)
    path = f"/experts/{expert.id}"
    early = client.post(path, data={"csrf_token": csrf_token(client, path), "action": "renew"})
    assert early.status_code == 409  # refused with the message on the page, nothing changed
    end = expert.term_ends_on
    db_session.get(Expert, expert.id).term_ends_on = date.today() + timedelta(days=30)
    db_session.commit()
    done = client.post(path, data={"csrf_token": csrf_token(client, path), "action": "renew"})
    assert done.status_code == 302
    db_session.expire_all()
    assert db_session.get(Expert, expert.id).term_ends_on > date.today() + timedelta(days=365)
    assert end is not None


def test_an_applicant_not_yet_in_the_pool_is_refused_with_403_and_the_reason_on_the_page(
    app: Any, db_session: Any, applicant: Any, make_user: Any, login: Any
) -> None:
    user, _ = applicant()  # submitted, not approved: not in the pool
    training.add_course(
        db_session,
        actor=make_user(role="admin"),
        code="C1",
        title="法规",
        hours=8,
        held_on=date(2027, 4, 1),
    )
    client = login(app.test_client(), user)
    path = "/training/mine"
    refused = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "course": "C1",
            "certificate": (io.BytesIO(PDF), "证书.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert refused.status_code == 403
    assert 'class="flash error"' in refused.get_data(as_text=True)
    assert _count(db_session, TrainingRecord) == 0
