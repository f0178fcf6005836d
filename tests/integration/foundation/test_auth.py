"""Logging in and out, CSRF, bearer tokens and the session, including every way they can go
wrong.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from expertpool.accounts.models import ApiToken
from expertpool.core.db import utcnow
from expertpool.core.models import AuditEntry
from tests.conftest import PASSWORD, csrf_token

pytestmark = pytest.mark.integration


def _login_form(client: FlaskClient, username: str, password: str, next_: str | None = None) -> Any:
    token = csrf_token(client, "/login")
    url = "/login" + (f"?next={next_}" if next_ is not None else "")
    return client.post(url, data={"username": username, "password": password, "csrf_token": token})


def _token(client: FlaskClient, username: str, password: str = PASSWORD) -> str:
    resp = client.post("/api/tokens", json={"username": username, "password": password})
    assert resp.status_code == 201, resp.get_json()
    return str(resp.get_json()["token"])


def _audit_count(db_session: Any) -> int:
    return int(db_session.execute(select(func.count()).select_from(AuditEntry)).scalar_one())


def test_the_login_form_logs_a_user_in_and_lands_on_the_dashboard(
    client: FlaskClient, make_user: Any
) -> None:
    user = make_user(role="expert")
    resp = _login_form(client, user.username, PASSWORD)
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/dashboard"
    assert client.get("/dashboard").status_code == 200


def test_a_wrong_password_answers_401_with_a_message_and_no_session(
    client: FlaskClient, make_user: Any, db_session: Any
) -> None:
    user = make_user(role="expert")
    resp = _login_form(client, user.username, "wrong-password")
    assert resp.status_code == 401
    html = resp.get_data(as_text=True)
    assert 'data-testid="login-error"' in html
    assert "用户名或密码错误" in html
    assert client.get("/dashboard").status_code == 302
    failed = (
        db_session.execute(select(AuditEntry).where(AuditEntry.action == "auth.login_failed"))
        .scalars()
        .all()
    )
    assert [e.actor for e in failed] == [user.username]


def test_an_unknown_username_gets_the_same_answer_as_a_wrong_password(
    client: FlaskClient, make_user: Any
) -> None:
    user = make_user(role="expert")
    wrong = _login_form(client, user.username, "wrong-password")
    unknown = _login_form(client, "nobody-here", "wrong-password")
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码错误" in unknown.get_data(as_text=True)


def test_repeated_wrong_passwords_hit_the_rate_limit_even_with_the_correct_one(
    client: FlaskClient, make_user: Any
) -> None:
    user = make_user(role="expert")
    for _ in range(5):
        assert _login_form(client, user.username, "wrong-password").status_code == 401
    blocked = _login_form(client, user.username, PASSWORD)
    assert blocked.status_code == 429
    assert 'data-error-code="rate_limited"' in blocked.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302


def test_padding_or_recasing_the_username_does_not_dodge_the_rate_limit(
    client: FlaskClient, make_user: Any
) -> None:
    user = make_user(role="expert")
    for variant in (
        user.username,
        f" {user.username}",
        f"{user.username} ",
        user.username.upper(),
        f"  {user.username}",
    ):
        assert _login_form(client, variant, "wrong-password").status_code == 401
    assert _login_form(client, f"   {user.username}", PASSWORD).status_code == 429


def test_the_token_endpoint_is_rate_limited_too(client: FlaskClient, make_user: Any) -> None:
    user = make_user(role="expert")
    for _ in range(5):
        resp = client.post(
            "/api/tokens", json={"username": user.username, "password": "wrong-password"}
        )
        assert resp.status_code == 401
        assert resp.get_json()["error"]["code"] == "bad_credentials"
    resp = client.post("/api/tokens", json={"username": user.username, "password": PASSWORD})
    assert resp.status_code == 429
    assert resp.get_json()["error"]["code"] == "rate_limited"


def test_a_form_without_its_csrf_token_is_refused_with_csrf_failed_and_changes_nothing(
    client: FlaskClient, make_user: Any, login: Any, db_session: Any
) -> None:
    admin = make_user(role="admin")
    login(client, admin)
    before = _audit_count(db_session)
    resp = client.post(
        "/admin/users/new",
        data={"username": "newbie", "display_name": "N", "password": "x" * 12, "role": "expert"},
    )
    assert resp.status_code == 403
    assert 'data-error-code="csrf_failed"' in resp.get_data(as_text=True)
    assert _audit_count(db_session) == before
    resp = client.post(
        "/login",
        data={"username": admin.username, "password": PASSWORD},
        headers={"Accept": "application/json"},
    )
    assert resp.status_code == 403
    assert resp.get_json()["error"]["code"] == "csrf_failed"


def test_a_forged_csrf_token_is_refused(client: FlaskClient, make_user: Any) -> None:
    user = make_user(role="expert")
    csrf_token(client, "/login")
    resp = client.post(
        "/login", data={"username": user.username, "password": PASSWORD, "csrf_token": "forged"}
    )
    assert resp.status_code == 403
    assert 'data-error-code="csrf_failed"' in resp.get_data(as_text=True)


def test_a_bearer_token_reaches_the_api(client: FlaskClient, make_user: Any) -> None:
    user = make_user(role="reviewer")
    token = _token(client, user.username)
    resp = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
    assert resp.get_json()["role"] == "reviewer"


@pytest.mark.parametrize("header", ["Bearer ep_forged-token", "Bearer ", "Bearer ep_" + "A" * 43])
def test_a_forged_token_answers_401_json(client: FlaskClient, header: str) -> None:
    resp = client.get("/api/me", headers={"Authorization": header})
    assert resp.status_code == 401
    body = resp.get_json()
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == "invalid_token"
    assert body["error"]["fields"] == {}


def test_an_expired_token_answers_401_json(
    client: FlaskClient, make_user: Any, db_session: Any
) -> None:
    user = make_user(role="expert")
    token = _token(client, user.username)
    row = db_session.execute(select(ApiToken).where(ApiToken.user_id == user.id)).scalar_one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    db_session.commit()
    resp = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "token_expired"
    assert set(resp.get_json()["error"]) == {"code", "message", "fields"}


def test_a_revoked_token_no_longer_works(client: FlaskClient, make_user: Any) -> None:
    user = make_user(role="expert")
    token = _token(client, user.username)
    auth = {"Authorization": f"Bearer {token}"}
    assert client.delete("/api/tokens/current", headers=auth).status_code == 204
    assert client.get("/api/me", headers=auth).status_code == 401


def test_a_bad_token_request_names_the_missing_fields(client: FlaskClient) -> None:
    resp = client.post("/api/tokens", json={"username": "someone"})
    assert resp.status_code == 422
    assert resp.get_json()["error"]["fields"] == {"password": "必填。"}
    resp = client.post("/api/tokens", data="not json", content_type="text/plain")
    assert resp.status_code == 422
    assert "body" in resp.get_json()["error"]["fields"]


def test_a_bearer_token_is_refused_on_a_page(client: FlaskClient, make_user: Any) -> None:
    user = make_user(role="expert")
    token = _token(client, user.username)
    resp = client.get("/dashboard", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 403
    assert "JSON" in resp.get_data(as_text=True)


def test_the_api_ignores_the_session_cookie(
    client: FlaskClient, make_user: Any, login: Any
) -> None:
    user = make_user(role="admin")
    login(client, user)
    assert client.get("/dashboard").status_code == 200
    resp = client.get("/api/me")
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "\\\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "evil.example",
        "///evil.example",
    ],
)
def test_login_never_redirects_off_site(client: FlaskClient, make_user: Any, target: str) -> None:
    user = make_user(role="expert")
    from urllib.parse import quote

    resp = _login_form(client, user.username, PASSWORD, next_=quote(target, safe=""))
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/dashboard"


def test_login_follows_a_local_next(client: FlaskClient, make_user: Any) -> None:
    user = make_user(role="expert")
    resp = _login_form(client, user.username, PASSWORD, next_="/specialties%3Fparent%3DA")
    assert resp.headers["Location"] == "/specialties?parent=A"


def test_an_anonymous_visitor_is_sent_to_login_with_the_page_wanted(client: FlaskClient) -> None:
    resp = client.get("/specialties?parent=A")
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/login?next=")


def test_login_replaces_the_session_so_a_planted_one_is_not_kept(
    client: FlaskClient, make_user: Any
) -> None:
    user = make_user(role="expert")
    with client.session_transaction() as sess:
        sess["planted"] = "by-attacker"
        sess["csrf_token"] = "planted-csrf-secret"
    _login_form(client, user.username, PASSWORD)
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess.get("csrf_token") != "planted-csrf-secret"
        assert sess["uid"] == user.id


def test_logout_ends_the_session_and_keeps_the_language(
    client: FlaskClient, make_user: Any
) -> None:
    user = make_user(role="expert")
    _login_form(client, user.username, PASSWORD)
    token = csrf_token(client, "/dashboard")
    client.post("/lang/en", data={"csrf_token": token, "next": "/dashboard"})
    token = csrf_token(client, "/dashboard")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/dashboard").status_code == 302
    assert "Log in" in client.get("/login").get_data(as_text=True)


def test_a_deactivated_user_cannot_log_in_and_their_session_ends(
    client: FlaskClient, make_user: Any, login: Any, db_session: Any
) -> None:
    from expertpool.accounts import users

    user = make_user(role="expert")
    other = login(Flask.test_client(client.application), user)
    token = _token(client, user.username)
    users.update_user(
        db_session,
        actor="test",
        user_id=user.id,
        display_name=user.display_name,
        role="expert",
        centre_code=None,
        is_active=False,
    )
    assert other.get("/dashboard").status_code == 302
    assert client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    resp = _login_form(client, user.username, PASSWORD)
    assert resp.status_code == 401


def test_changing_ones_password_ends_other_sessions_and_tokens_but_not_this_one(
    client: FlaskClient, make_user: Any, app: Flask
) -> None:
    user = make_user(role="supervisor")
    _login_form(client, user.username, PASSWORD)
    elsewhere = app.test_client()
    _login_form(elsewhere, user.username, PASSWORD)
    api = app.test_client()
    token = _token(api, user.username)
    token_page = csrf_token(client, "/account/password")
    resp = client.post(
        "/account/password",
        data={
            "csrf_token": token_page,
            "current_password": PASSWORD,
            "new_password": "new-password-456",
            "confirm_password": "new-password-456",
        },
    )
    assert resp.status_code == 302
    assert client.get("/dashboard").status_code == 200
    assert elsewhere.get("/dashboard").status_code == 302
    assert api.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert _login_form(app.test_client(), user.username, "new-password-456").status_code == 302


def test_a_wrong_current_password_changes_nothing_and_names_the_fields(
    client: FlaskClient, make_user: Any, db_session: Any
) -> None:
    user = make_user(role="expert")
    _login_form(client, user.username, PASSWORD)
    stamp = user.password_changed_at
    token = csrf_token(client, "/account/password")
    resp = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": "not-it",
            "new_password": "short",
            "confirm_password": "short",
        },
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'data-field-error="current_password"' in html
    assert 'data-field-error="new_password"' in html
    db_session.refresh(user)
    assert user.password_changed_at == stamp
    assert client.get("/dashboard").status_code == 200


def test_pages_carry_the_security_headers(client: FlaskClient) -> None:
    resp = client.get("/login")
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    cookie = resp.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_the_style_sheet_is_served_to_everyone(client: FlaskClient) -> None:
    with client.get("/static/app.css") as resp:
        assert resp.status_code == 200
        assert resp.mimetype == "text/css"
        assert b".nav-toggle" in resp.get_data()
