"""Server-side login sessions: a copied cookie dies at logout, password change, deactivation,
the owner's say-so and the timeouts, on pages and on room events alike."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from expertpool.accounts.models import LoginSession
from expertpool.core.db import utcnow
from tests.conftest import PASSWORD, csrf_token
from tests.integration.room.conftest import Committee

pytestmark = pytest.mark.integration


def _login(client: FlaskClient, username: str, password: str = PASSWORD) -> None:
    token = csrf_token(client, "/login")
    answer = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )
    assert answer.status_code == 302


def _copy(client: FlaskClient, app: Flask) -> FlaskClient:
    """Another client carrying the same session cookie (a stolen copy)."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def _rows(app: Flask, user_id: int) -> list[LoginSession]:
    db = app.extensions["expertpool"].sessions()
    db.expire_all()
    return list(db.execute(select(LoginSession).where(LoginSession.user_id == user_id)).scalars())


def test_a_copied_cookie_stops_working_at_logout(
    client: FlaskClient, app: Flask, make_user: Callable[..., Any]
) -> None:
    user = make_user("expert")
    _login(client, user.username)
    thief = _copy(client, app)
    assert thief.get("/dashboard").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")})
    assert thief.get("/dashboard").status_code == 302
    assert [r.end_reason for r in _rows(app, user.id)] == ["logout"]


def test_the_token_alone_is_not_stored(
    client: FlaskClient, app: Flask, make_user: Callable[..., Any]
) -> None:
    user = make_user("expert")
    _login(client, user.username)
    with client.session_transaction() as sess:
        token = sess["sid"]
    (row,) = _rows(app, user.id)
    assert token not in row.token_hash and len(row.token_hash) == 64


def test_a_password_change_ends_every_session_of_the_account(
    client: FlaskClient, app: Flask, make_user: Callable[..., Any]
) -> None:
    user = make_user("supervisor")
    _login(client, user.username)
    elsewhere = app.test_client()
    _login(elsewhere, user.username)
    thief = _copy(client, app)
    answer = client.post(
        "/account/password",
        data={
            "csrf_token": csrf_token(client, "/account/password"),
            "current_password": PASSWORD,
            "new_password": "new-password-456",
            "confirm_password": "new-password-456",
        },
    )
    assert answer.status_code == 302
    assert elsewhere.get("/dashboard").status_code == 302
    # The copy taken before the change is dead even though this browser goes on in a new session.
    assert thief.get("/dashboard").status_code == 302
    assert client.get("/dashboard").status_code == 200
    reasons = sorted(r.end_reason or "live" for r in _rows(app, user.id))
    assert reasons == ["live", "password", "password"]


def test_deactivation_ends_every_session(
    client: FlaskClient, app: Flask, make_user: Callable[..., Any], db_session: Any
) -> None:
    from expertpool.accounts import users

    user = make_user("expert")
    _login(client, user.username)
    users.update_user(
        db_session,
        actor="test",
        user_id=user.id,
        display_name=user.display_name,
        role="expert",
        centre_code=None,
        is_active=False,
    )
    assert [r.end_reason for r in _rows(app, user.id)] == ["deactivated"]
    assert client.get("/dashboard").status_code == 302


@pytest.mark.parametrize(
    ("column", "age", "alive"),
    [
        ("last_seen_at", timedelta(minutes=29), True),
        ("last_seen_at", timedelta(minutes=31), False),
        ("created_at", timedelta(hours=13), False),
    ],
)
def test_idle_and_absolute_timeouts_end_a_session(
    client: FlaskClient,
    app: Flask,
    make_user: Callable[..., Any],
    db_session: Any,
    column: str,
    age: timedelta,
    alive: bool,
) -> None:
    user = make_user("expert")
    _login(client, user.username)
    db_session.execute(
        update(LoginSession).where(LoginSession.user_id == user.id).values({column: utcnow() - age})
    )
    db_session.commit()
    assert (client.get("/dashboard").status_code == 200) is alive
    if not alive:
        (row,) = _rows(app, user.id)
        assert row.end_reason == ("idle" if column == "last_seen_at" else "absolute")


def test_the_account_page_lists_sessions_and_ends_another_one(
    client: FlaskClient, app: Flask, make_user: Callable[..., Any]
) -> None:
    user = make_user("expert")
    _login(client, user.username)
    elsewhere = app.test_client()
    _login(elsewhere, user.username)
    page = client.get("/account/sessions").get_data(as_text=True)
    other = next(r for r in _rows(app, user.id) if f'value="{r.id}"' in page)
    assert page.count("data-session=") == 2
    token = csrf_token(client, "/account/sessions")
    answer = client.post("/account/sessions", data={"csrf_token": token, "end": str(other.id)})
    assert answer.status_code == 302
    assert elsewhere.get("/dashboard").status_code == 302
    assert client.get("/dashboard").status_code == 200


def test_one_cannot_end_someone_elses_session(
    client: FlaskClient, app: Flask, make_user: Callable[..., Any]
) -> None:
    me, them = make_user("expert"), make_user("expert")
    _login(client, me.username)
    victim = app.test_client()
    _login(victim, them.username)
    (row,) = _rows(app, them.id)
    token = csrf_token(client, "/account/sessions")
    answer = client.post("/account/sessions", data={"csrf_token": token, "end": str(row.id)})
    assert answer.status_code == 404
    assert victim.get("/dashboard").status_code == 200


def test_ending_every_other_session_keeps_this_one(
    client: FlaskClient, app: Flask, make_user: Callable[..., Any]
) -> None:
    user = make_user("expert")
    _login(client, user.username)
    others = [app.test_client() for _ in range(2)]
    for other in others:
        _login(other, user.username)
    token = csrf_token(client, "/account/sessions")
    client.post("/account/sessions", data={"csrf_token": token, "end": "others"})
    assert [o.get("/dashboard").status_code for o in others] == [302, 302]
    assert client.get("/dashboard").status_code == 200


def test_a_room_event_after_the_session_ended_is_refused(committee: Committee, app: Flask) -> None:
    from expertpool.accounts import logins

    committee.ok("e1", "join")
    db = app.extensions["expertpool"].sessions()
    logins.end_others(db, committee.users["e1"].id, keep=None, now=utcnow())
    ack = committee.emit("e1", "snapshot")
    assert ack["ok"] is False
    assert ack["error"]["code"] == "unauthenticated"


def test_a_room_event_after_the_idle_timeout_is_refused(committee: Committee, app: Flask) -> None:
    committee.ok("e1", "join")
    db = app.extensions["expertpool"].sessions()
    db.execute(
        update(LoginSession)
        .where(LoginSession.user_id == committee.users["e1"].id)
        .values(last_seen_at=utcnow() - timedelta(hours=1))
    )
    db.commit()
    assert committee.emit("e1", "snapshot")["error"]["code"] == "unauthenticated"


def test_room_events_keep_a_session_alive(committee: Committee, app: Flask) -> None:
    committee.ok("e1", "join")
    db = app.extensions["expertpool"].sessions()
    db.execute(
        update(LoginSession)
        .where(LoginSession.user_id == committee.users["e1"].id)
        .values(last_seen_at=utcnow() - timedelta(minutes=20))
    )
    db.commit()
    assert committee.emit("e1", "snapshot")["ok"] is True
    (row,) = _rows(app, committee.users["e1"].id)
    assert utcnow() - row.last_seen_at < timedelta(minutes=1)
