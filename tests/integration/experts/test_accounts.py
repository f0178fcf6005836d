"""Every expert has an account: applicants from registration, imported and demo experts at
approval or in bulk, without a password and without hashing anything."""

from __future__ import annotations

import time
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select

from expertpool.accounts import users
from expertpool.accounts.models import User, UserRole
from expertpool.core.errors import Unauthenticated, ValidationFailed
from expertpool.demo import experts as expert_demo
from expertpool.experts import accounts, applications, review
from expertpool.experts.commands import experts as experts_command
from expertpool.experts.models import Expert

pytestmark = pytest.mark.integration

BULK = 3000
BULK_SECONDS = 3.0
"""Measured on the 2-core machine: 0.13 s for 3,000 accounts on SQLite, 0.49 s on PostgreSQL."""


def test_approving_an_imported_record_gives_it_an_account_without_a_password(
    db_session: Any, applicant: Any, make_user: Any
) -> None:
    _, expert = applicant()
    expert.user_id = None  # as an imported record arrives: no account
    db_session.commit()
    reviewer = make_user(role="reviewer")
    review.decide(db_session, reviewer=reviewer, expert_id=expert.id, decision="approve")
    db_session.expire_all()
    stored = db_session.get(Expert, expert.id)
    user = db_session.get(User, stored.user_id)
    assert user.username == accounts.username_for(expert.id) == f"e{expert.id:05d}"
    assert user.role is UserRole.EXPERT and user.display_name == stored.name
    assert not users.has_password(user)
    assert not users.check_password(user, users.NO_PASSWORD)


def test_approving_an_applicant_keeps_their_own_account(
    db_session: Any, applicant: Any, make_user: Any
) -> None:
    user, expert = applicant()
    review.decide(
        db_session, reviewer=make_user(role="reviewer"), expert_id=expert.id, decision="approve"
    )
    db_session.expire_all()
    assert db_session.get(Expert, expert.id).user_id == user.id
    assert db_session.execute(select(func.count()).select_from(User)).scalar_one() == 2


def test_bulk_creation_gives_every_expert_one_account_fast_and_hashes_nothing(
    app: Flask, db_session: Any, cipher: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    expert_demo.create_experts(db_session, cipher=cipher, count=BULK, seed=3)
    hashed: list[str] = []
    monkeypatch.setattr(users, "hash_password", lambda p: hashed.append(p) or "x")
    started = time.perf_counter()
    created = accounts.create_missing_accounts(db_session, actor="test")
    elapsed = time.perf_counter() - started
    assert created == BULK and not hashed
    assert elapsed < BULK_SECONDS, elapsed
    rows = db_session.execute(
        select(Expert.id, User.username, User.password_hash).join(User, User.id == Expert.user_id)
    ).all()
    assert len(rows) == BULK
    assert all(name == f"e{eid:05d}" and pw == users.NO_PASSWORD for eid, name, pw in rows)
    assert accounts.create_missing_accounts(db_session, actor="test") == 0


def test_a_taken_derived_username_gets_a_suffix(
    db_session: Any, cipher: Any, make_user: Any
) -> None:
    expert_demo.create_experts(db_session, cipher=cipher, count=2, seed=9)
    first = db_session.execute(select(func.min(Expert.id))).scalar_one()
    make_user(role="admin", username=f"e{first:05d}")
    assert accounts.create_missing_accounts(db_session, actor="test") == 2
    names = set(
        db_session.execute(select(User.username).join(Expert, Expert.user_id == User.id)).scalars()
    )
    assert names == {f"e{first:05d}.1", f"e{first + 1:05d}"}


def test_registration_refuses_the_derived_usernames(db_session: Any) -> None:
    with pytest.raises(ValidationFailed) as refused:
        applications.register_applicant(
            db_session, username="e00042", password="long-enough-pw", display_name="张三"
        )
    assert "username" in refused.value.fields
    assert applications.register_applicant(
        db_session, username="e42", password="long-enough-pw", display_name="张三"
    ).user_id


def test_the_accounts_command_reports_and_is_safe_to_run_twice(
    app: Flask, db_session: Any, cipher: Any
) -> None:
    expert_demo.create_experts(db_session, cipher=cipher, count=25, seed=4)
    runner = CliRunner()
    with app.app_context():
        first = runner.invoke(experts_command, ["accounts"], obj=None)
        second = runner.invoke(experts_command, ["accounts"], obj=None)
    assert first.exit_code == 0 and first.output.startswith("25 expert accounts created in ")
    assert second.output.startswith("0 expert accounts created")


def test_logging_in_to_an_account_without_a_password_costs_a_full_hash_check(
    db_session: Any, cipher: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Against the dummy hash, like an unknown username: timing tells no one it exists."""
    expert_demo.create_experts(db_session, cipher=cipher, count=1, seed=2)
    accounts.create_missing_accounts(db_session, actor="test")
    username = db_session.execute(select(User.username)).scalar_one()
    checked: list[str] = []

    class RecordingHasher:
        """The real hasher, noting which hash each check used."""

        def __init__(self, real: Any) -> None:
            self.real = real

        def verify(self, hash_: str, password: str) -> bool:
            checked.append(hash_)
            return bool(self.real.verify(hash_, password))

    monkeypatch.setattr(users, "_hasher", RecordingHasher(users._hasher))
    for name in (username, "no-such-user"):
        with pytest.raises(Unauthenticated):
            users.authenticate(db_session, name, "some-password")
    assert checked == [users._DUMMY_HASH, users._DUMMY_HASH]


def test_the_users_page_shows_thousands_of_expert_accounts_a_page_at_a_time(
    app: Flask, db_session: Any, cipher: Any, make_user: Any, login: Any
) -> None:
    expert_demo.create_experts(db_session, cipher=cipher, count=250, seed=6)
    accounts.create_missing_accounts(db_session, actor="test")
    first = db_session.execute(select(func.min(Expert.id))).scalar_one()
    admin = login(app.test_client(), make_user(role="admin", username="zz-admin"))
    page = admin.get("/admin/users").get_data(as_text=True)
    assert page.count('data-testid="awaiting-activation"') == 100  # one page of 251 users
    assert f"e{first:05d}" in page and 'rel="next"' in page
    last = admin.get("/admin/users?page=3").get_data(as_text=True)
    assert "zz-admin" in last and 'rel="next"' not in last
    one = admin.get(f"/admin/users?q=e{first + 7:05d}").get_data(as_text=True)
    assert one.count('data-testid="awaiting-activation"') == 1
    # A page that is not a whole number is refused at the edge (issue #27), never a 500.
    assert admin.get("/admin/users?page=x").status_code == 422


def test_the_roles_page_lists_accounts_awaiting_activation_only_when_searched(
    app: Flask, db_session: Any, cipher: Any, make_user: Any, login: Any
) -> None:
    expert_demo.create_experts(db_session, cipher=cipher, count=120, seed=6)
    accounts.create_missing_accounts(db_session, actor="test")
    first = db_session.execute(select(func.min(Expert.id))).scalar_one()
    applicant = make_user(role="expert", username="applicant.one")
    security = login(app.test_client(), make_user(role="security_admin"))
    page = security.get("/admin/roles").get_data(as_text=True)
    assert 'data-username="applicant.one"' in page
    assert f'data-username="e{first:05d}"' not in page
    found = security.get(f"/admin/roles?q=e{first:05d}").get_data(as_text=True)
    assert f'data-username="e{first:05d}"' in found and applicant.username not in found
