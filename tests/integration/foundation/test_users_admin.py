"""Administrators manage users in pages; centre staff are bound to their centre."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from expertpool.accounts.models import User, UserRole
from expertpool.core.models import AuditEntry
from tests.conftest import PASSWORD, csrf_token

pytestmark = pytest.mark.integration


@pytest.fixture()
def admin_client(client: FlaskClient, make_user: Any, login: Any) -> FlaskClient:
    """A client logged in as an administrator."""
    return login(client, make_user(role="admin", username="root-admin"))


def _post(client: FlaskClient, path: str, **data: str) -> Any:
    return client.post(path, data={"csrf_token": csrf_token(client, path), **data})


def _count(db_session: Any, model: Any) -> int:
    return int(db_session.execute(select(func.count()).select_from(model)).scalar_one())


def test_an_admin_creates_a_centre_staff_user_in_pages(
    admin_client: FlaskClient, db_session: Any
) -> None:
    resp = _post(
        admin_client,
        "/admin/users/new",
        username="staff.fs",
        display_name="佛山工作人员",
        password="long-enough-pw",
        role="centre_staff",
        centre="440600",
    )
    assert resp.status_code == 302
    user = db_session.execute(select(User).where(User.username == "staff.fs")).scalar_one()
    assert user.role is UserRole.CENTRE_STAFF
    assert user.centre is not None and user.centre.region_code == "440600"
    entry = (
        db_session.execute(
            select(AuditEntry)
            .where(AuditEntry.action == "user.create")
            .order_by(AuditEntry.seq.desc())
        )
        .scalars()
        .first()
    )
    assert entry.actor == "root-admin"
    assert "staff.fs" in entry.after
    assert "staff.fs" in admin_client.get("/admin/users").get_data(as_text=True)


def test_creating_a_user_with_bad_fields_shows_each_error_and_saves_nothing(
    admin_client: FlaskClient, db_session: Any
) -> None:
    users_before, audit_before = _count(db_session, User), _count(db_session, AuditEntry)
    resp = _post(
        admin_client,
        "/admin/users/new",
        username="x",
        display_name=" ",
        password="short",
        role="centre_staff",
        centre="",
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    for name in ("username", "display_name", "password", "centre"):
        assert f'data-field-error="{name}"' in html, name
    assert "交易中心工作人员必须隶属于一个中心" in html
    assert (_count(db_session, User), _count(db_session, AuditEntry)) == (
        users_before,
        audit_before,
    )


def test_a_taken_username_is_a_field_error(admin_client: FlaskClient, make_user: Any) -> None:
    make_user(role="expert", username="taken-name")
    resp = _post(
        admin_client,
        "/admin/users/new",
        username="taken-name",
        display_name="Other",
        password="long-enough-pw",
        role="expert",
    )
    assert resp.status_code == 422
    assert 'data-field-error="username"' in resp.get_data(as_text=True)


def test_an_unknown_centre_or_role_is_refused(admin_client: FlaskClient) -> None:
    resp = _post(
        admin_client,
        "/admin/users/new",
        username="someone",
        display_name="S",
        password="long-enough-pw",
        role="wizard",
        centre="999999",
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert 'data-field-error="role"' in html and 'data-field-error="centre"' in html


def test_the_system_administrator_edits_centre_and_name_but_not_the_role(
    admin_client: FlaskClient, make_user: Any, db_session: Any
) -> None:
    user = make_user(role="centre_staff", centre="440100")
    resp = _post(
        admin_client,
        f"/admin/users/{user.id}",
        display_name="改名",
        role="supervisor",
        centre="440300",
        is_active="on",
    )
    assert resp.status_code == 422
    assert 'data-field-error="role"' in resp.get_data(as_text=True)
    db_session.refresh(user)
    assert (user.role, user.centre.region_code) == (UserRole.CENTRE_STAFF, "440100")
    resp = _post(
        admin_client,
        f"/admin/users/{user.id}",
        display_name="改名",
        role="centre_staff",
        centre="440300",
        is_active="on",
    )
    assert resp.status_code == 302
    db_session.refresh(user)
    assert (user.display_name, user.centre.region_code) == ("改名", "440300")
    entry = db_session.execute(
        select(AuditEntry).where(AuditEntry.action == "user.update")
    ).scalar_one()
    assert '"centre":"440100"' in entry.before and '"centre":"440300"' in entry.after


def test_the_system_administrator_neither_creates_nor_edits_administrators(
    admin_client: FlaskClient, make_user: Any, db_session: Any
) -> None:
    for role in ("admin", "security_admin", "audit_admin"):
        resp = _post(
            admin_client,
            "/admin/users/new",
            username=f"new-{role.replace('_', '-')}",
            display_name="管理员",
            password="a-long-password-1",
            role=role,
            centre="",
        )
        assert resp.status_code == 422
        assert 'data-field-error="role"' in resp.get_data(as_text=True)
    auditor = make_user(role="audit_admin")
    assert admin_client.get(f"/admin/users/{auditor.id}").status_code == 403
    assert _count(db_session, User) == 2


def test_the_security_administrator_changes_roles_and_the_audit_keeps_before_and_after(
    client: FlaskClient, make_user: Any, login: Any, db_session: Any, app: Flask
) -> None:
    security = make_user(role="security_admin")
    login(client, security)
    user = make_user(role="expert")
    theirs = login(app.test_client(), user)
    assert theirs.get("/dashboard").status_code == 200
    resp = _post(client, "/admin/roles", user_id=str(user.id), role="supervisor")
    assert resp.status_code == 302
    db_session.refresh(user)
    assert user.role is UserRole.SUPERVISOR
    entry = db_session.execute(
        select(AuditEntry).where(AuditEntry.action == "user.role")
    ).scalar_one()
    assert '"role":"expert"' in entry.before and '"role":"supervisor"' in entry.after
    assert entry.actor == security.username
    # A new role starts a new login.
    assert theirs.get("/dashboard").status_code == 302
    # Never their own role; never the last security administrator away.
    resp = _post(client, "/admin/roles", user_id=str(security.id), role="expert")
    assert resp.status_code == 422
    db_session.refresh(security)
    assert security.role is UserRole.SECURITY_ADMIN


def test_the_last_of_each_administrator_keeps_the_role(
    client: FlaskClient, make_user: Any, login: Any, db_session: Any
) -> None:
    login(client, make_user(role="security_admin"))
    auditor = make_user(role="audit_admin")
    resp = _post(client, "/admin/roles", user_id=str(auditor.id), role="expert")
    assert resp.status_code == 422
    assert 'data-field-error="role"' in resp.get_data(as_text=True)
    make_user(role="audit_admin")
    assert _post(client, "/admin/roles", user_id=str(auditor.id), role="expert").status_code == 302


def test_making_someone_centre_staff_without_a_centre_fails_and_changes_nothing(
    client: FlaskClient, make_user: Any, login: Any, db_session: Any
) -> None:
    login(client, make_user(role="security_admin"))
    user = make_user(role="expert")
    resp = _post(client, "/admin/roles", user_id=str(user.id), role="centre_staff")
    assert resp.status_code == 422
    assert 'data-field-error="role"' in resp.get_data(as_text=True)
    db_session.refresh(user)
    assert user.role is UserRole.EXPERT


def test_an_edit_with_a_too_short_password_saves_none_of_the_other_changes(
    admin_client: FlaskClient, make_user: Any, db_session: Any
) -> None:
    user = make_user(role="expert")
    audit_before = _count(db_session, AuditEntry)
    resp = _post(
        admin_client,
        f"/admin/users/{user.id}",
        display_name="Renamed",
        role="expert",
        centre="",
        is_active="on",
        password="short",
    )
    assert resp.status_code == 422
    assert 'data-field-error="password"' in resp.get_data(as_text=True)
    db_session.refresh(user)
    assert (user.role, user.display_name) == (UserRole.EXPERT, user.username)
    assert _count(db_session, AuditEntry) == audit_before


def test_an_admin_deactivates_a_user_whose_session_then_ends(
    admin_client: FlaskClient, make_user: Any, app: Flask, login: Any
) -> None:
    user = make_user(role="reviewer")
    theirs = login(app.test_client(), user)
    assert theirs.get("/dashboard").status_code == 200
    resp = _post(
        admin_client,
        f"/admin/users/{user.id}",
        display_name=user.display_name,
        role="reviewer",
        centre="",
    )  # the unchecked box is absent from the form
    assert resp.status_code == 302
    assert theirs.get("/dashboard").status_code == 302
    page = app.test_client()
    token = csrf_token(page, "/login")
    assert (
        page.post(
            "/login", data={"username": user.username, "password": PASSWORD, "csrf_token": token}
        ).status_code
        == 401
    )


def test_an_admin_resetting_a_password_ends_that_users_sessions(
    admin_client: FlaskClient, make_user: Any, app: Flask, login: Any
) -> None:
    user = make_user(role="expert")
    theirs = login(app.test_client(), user)
    _post(
        admin_client,
        f"/admin/users/{user.id}",
        display_name=user.display_name,
        role="expert",
        centre="",
        is_active="on",
        password="brand-new-password",
    )
    assert theirs.get("/dashboard").status_code == 302
    assert admin_client.get("/dashboard").status_code == 200


def test_an_admin_resetting_their_own_password_stays_logged_in(
    client: FlaskClient, make_user: Any, login: Any
) -> None:
    admin = make_user(role="admin")
    login(client, admin)
    _post(
        client,
        f"/admin/users/{admin.id}",
        display_name=admin.display_name,
        role="admin",
        centre="",
        is_active="on",
        password="brand-new-password",
    )
    assert client.get("/dashboard").status_code == 200


def test_editing_an_unknown_user_is_404(admin_client: FlaskClient) -> None:
    assert admin_client.get("/admin/users/999999").status_code == 404


def test_the_user_list_filters_by_role(admin_client: FlaskClient, make_user: Any) -> None:
    make_user(role="supervisor", username="only-supervisor")
    make_user(role="expert", username="only-expert")
    html = admin_client.get("/admin/users?role=supervisor").get_data(as_text=True)
    assert "only-supervisor" in html and "only-expert" not in html


def test_centre_staff_open_their_own_centre_but_not_anothers(
    client: FlaskClient, make_user: Any, login: Any
) -> None:
    staff = make_user(role="centre_staff", centre="440100")
    login(client, staff)
    assert client.get("/centres/440100").status_code == 200
    resp = client.get("/centres/440300")
    assert resp.status_code == 403
    assert 'data-error-code="outside_centre"' in resp.get_data(as_text=True)
    resp = client.get("/centres/440300", headers={"Accept": "application/json"})
    assert resp.get_json()["error"]["code"] == "outside_centre"


def test_supervisors_see_every_centre(client: FlaskClient, make_user: Any, login: Any) -> None:
    login(client, make_user(role="supervisor"))
    assert client.get("/centres/440300").status_code == 200
    assert client.get("/centres/000000").status_code == 404


def test_the_region_data_gives_twenty_one_city_centres_and_shundes(db_session: Any) -> None:
    from expertpool.accounts.models import Centre

    codes = set(db_session.execute(select(Centre.region_code)).scalars())
    assert len(codes) == 22
    assert {"440100", "440300", "440606"} <= codes


def test_a_role_change_takes_effect_on_the_next_request(
    client: FlaskClient, make_user: Any, login: Any, db_session: Any
) -> None:
    from expertpool.accounts import users

    make_user(role="admin")  # someone must stay administrator
    user = make_user(role="admin")
    login(client, user)
    assert client.get("/admin/users").status_code == 200
    users.update_user(
        db_session,
        actor="test",
        user_id=user.id,
        display_name=user.display_name,
        role="expert",
        centre_code=None,
        is_active=True,
    )
    assert client.get("/admin/users").status_code == 403


def test_the_last_active_administrator_cannot_demote_or_deactivate_themselves(
    client: FlaskClient, make_user: Any, login: Any, db_session: Any
) -> None:
    admin = make_user(role="admin")
    login(client, admin)
    resp = _post(
        client,
        f"/admin/users/{admin.id}",
        display_name=admin.display_name,
        role="expert",
        centre="",
        is_active="on",
    )
    assert resp.status_code == 422
    assert 'data-field-error="role"' in resp.get_data(as_text=True)
    resp = _post(
        client, f"/admin/users/{admin.id}", display_name=admin.display_name, role="admin", centre=""
    )
    assert resp.status_code == 422
    assert 'data-field-error="is_active"' in resp.get_data(as_text=True)
    db_session.refresh(admin)
    assert admin.role is UserRole.ADMIN and admin.is_active
    make_user(role="admin")  # with a second administrator, the first may step down
    assert (
        _post(
            client, f"/admin/users/{admin.id}", display_name=admin.display_name, centre=""
        ).status_code
        == 302
    )
    db_session.refresh(admin)
    assert not admin.is_active
