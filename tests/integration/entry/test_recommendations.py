"""Recommendation: an organisation's contact recommends a person; the nominee consents through a
one-time link sent by SMS through the outbox, gets an account and a prefilled application marked
as recommended."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from expertpool.experts import identity
from expertpool.experts.models import EntryState, Expert
from expertpool.notifications.models import OutboxKind, OutboxMessage
from expertpool.notifications.notifier import services_of
from expertpool.notifications.outbox import message_body, message_to
from expertpool.recommendations.models import Recommendation
from tests.conftest import PASSWORD, csrf_token

pytestmark = pytest.mark.integration

ID_NUMBER = identity.make_id_number("440104", date(1975, 5, 6), 17)
PHONE = "13912340017"


def _recommend(client: FlaskClient, **overrides: str) -> Any:
    data = {
        "csrf_token": csrf_token(client, "/org/recommendations"),
        "name": "李推荐",
        "id_number": ID_NUMBER,
        "phone": PHONE,
        "specialties": "A010102 A0101",
    }
    data.update(overrides)
    return client.post("/org/recommendations", data=data)


def _link(app: Flask, session: Any) -> str:
    message = session.execute(
        select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.RECOMMENDATION_SMS)
    ).scalar_one()
    ctx = services_of(app).ctx
    assert message_to(ctx, message) == "+86" + PHONE
    body = message_body(ctx, message) or ""
    match = re.search(r"(/r/[A-Za-z0-9_-]+)", body)
    assert match, body
    return match.group(1)


def test_a_contact_recommends_and_the_nominee_receives_a_link_by_sms(
    app: Flask, client: FlaskClient, db_session: Any, contact: Any, login: Any
) -> None:
    login(client, contact)
    assert _recommend(client).status_code == 302
    rec = db_session.execute(select(Recommendation)).scalar_one()
    raw = db_session.execute(
        text("SELECT id_number_enc, phone_enc FROM recommendation WHERE id = :i"), {"i": rec.id}
    ).one()
    assert ID_NUMBER.encode() not in bytes(raw[0]) and PHONE.encode() not in bytes(raw[1])
    assert _link(app, db_session).startswith("/r/")
    listing = client.get("/org/recommendations").get_data(as_text=True)
    assert "李推荐" in listing and PHONE not in listing  # the mobile is masked


def test_a_refused_recommendation_saves_nothing(
    client: FlaskClient, db_session: Any, contact: Any, login: Any
) -> None:
    login(client, contact)
    resp = _recommend(client, id_number="440104197505060000", specialties="Z99")
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert 'data-field-error="id_number"' in page and 'data-field-error="specialties"' in page
    assert db_session.execute(select(Recommendation)).first() is None
    assert db_session.execute(select(OutboxMessage)).first() is None


def test_only_an_organisations_contact_recommends(
    client: FlaskClient, make_user: Any, login: Any
) -> None:
    login(client, make_user(role="expert"))
    assert client.get("/org/recommendations").status_code == 403


def test_the_nominee_consents_once_and_finds_a_prefilled_recommended_application(
    app: Flask, client: FlaskClient, db_session: Any, contact: Any, login: Any, make_user: Any
) -> None:
    login(client, contact)
    _recommend(client)
    link = _link(app, db_session)
    nominee = app.test_client()
    page = nominee.get(link).get_data(as_text=True)
    assert "广州某设计院有限公司" in page and "李推荐" in page
    token = csrf_token(nominee, link)
    resp = nominee.post(
        link, data={"csrf_token": token, "username": "li-tuijian", "password": PASSWORD}
    )
    assert resp.status_code == 422  # no consent ticked: nothing made
    assert db_session.execute(select(Expert)).first() is None
    resp = nominee.post(
        link,
        data={"csrf_token": token, "username": "li-tuijian", "password": PASSWORD, "consent": "on"},
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/experts/me")
    mine = nominee.get("/experts/me").get_data(as_text=True)
    assert "李推荐" in mine and 'data-testid="recommended"' in mine
    expert = db_session.execute(select(Expert)).scalar_one()
    assert expert.specialty_codes == ["A0101", "A010102"]
    assert expert.employer_name == "广州某设计院有限公司"
    assert db_session.get(EntryState, expert.id).recommended_by == "广州某设计院有限公司"
    assert nominee.get(link).status_code == 404  # used up
    reviewer = make_user(role="reviewer")
    login(client, reviewer)
    record = client.get(f"/experts/{expert.id}").get_data(as_text=True)
    assert 'data-testid="recommended"' in record


def test_an_unknown_link_is_not_found(client: FlaskClient) -> None:
    assert client.get("/r/not-a-token").status_code == 404
