"""Password strength (zxcvbn, nothing built on the username, name or organisation), login
throttling per account and per address, and the bound on Argon2 work."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from expertpool.accounts import users
from expertpool.accounts.models import User
from tests.conftest import PASSWORD, csrf_token

pytestmark = pytest.mark.integration


def _register(client: FlaskClient, username: str, display_name: str, password: str) -> Any:
    token = csrf_token(client, "/experts/register")
    return client.post(
        "/experts/register",
        data={
            "csrf_token": token,
            "username": username,
            "display_name": display_name,
            "password": password,
        },
    )


def _count_users(app: Flask) -> int:
    db = app.extensions["expertpool"].sessions()
    return int(db.execute(select(func.count()).select_from(User)).scalar_one())


@pytest.mark.parametrize(
    ("username", "display_name", "password"),
    [
        ("liwei", "李伟", "password-123"),  # long enough, but a common pattern
        ("zhangwei88", "张伟", "Zhangwei88-summer-rain"),  # built on the username
        ("lixm", "李小明", "李小明-orange-kettle-42"),  # built on the name
        ("wangfang", "Wang Fang", "wang.fang.drives.trucks"),  # the name, spaced differently
    ],
)
def test_a_weak_or_personal_password_is_refused_at_registration_and_nothing_is_saved(
    client: FlaskClient, app: Flask, username: str, display_name: str, password: str
) -> None:
    answer = _register(client, username, display_name, password)
    assert answer.status_code == 422
    assert _count_users(app) == 0


def test_a_strong_password_registers(client: FlaskClient, app: Flask) -> None:
    assert _register(client, "liwei", "李伟", "orange-kettle-violin-42").status_code == 302
    assert _count_users(app) == 1


def test_a_new_password_built_on_ones_username_is_refused(
    client: FlaskClient, make_user: Callable[..., Any], login: Any
) -> None:
    user = make_user("expert", username="chenjing")
    login(client, user)
    answer = client.post(
        "/account/password",
        data={
            "csrf_token": csrf_token(client, "/account/password"),
            "current_password": PASSWORD,
            "new_password": "ChenJing-2026-winter",
            "confirm_password": "ChenJing-2026-winter",
        },
    )
    assert answer.status_code == 422
    assert "new_password" in answer.get_data(as_text=True) or "密码" in answer.get_data(
        as_text=True
    )


def test_an_organisation_name_counts_as_personal() -> None:
    assert users.password_problem("shenzhen-trading-centre-9", ["x1", "", "Shenzhen Trading"])
    assert users.password_problem("orange-kettle-violin-42", ["x1", "", "Shenzhen Trading"]) is None


def _attempt(app: Flask, address: str, username: str, password: str) -> int:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    token = csrf_token(client, "/login")
    answer = client.post(
        "/login", data={"csrf_token": token, "username": username, "password": password}
    )
    return answer.status_code


def test_nine_people_behind_one_address_log_in_within_a_minute_despite_typos(
    app: Flask, make_user: Callable[..., Any]
) -> None:
    people = [make_user("expert") for _ in range(9)]
    statuses = []
    for person in people:
        statuses.append(_attempt(app, "10.0.0.9", person.username, "wrong-guess-1"))
        statuses.append(_attempt(app, "10.0.0.9", person.username, "wrong-guess-2"))
        statuses.append(_attempt(app, "10.0.0.9", person.username, PASSWORD))
    assert statuses == [401, 401, 302] * 9


def test_one_address_cannot_try_many_usernames(app: Flask, make_user: Callable[..., Any]) -> None:
    statuses = [_attempt(app, "10.0.0.66", f"someone{n}", "wrong-guess-1") for n in range(30)]
    assert set(statuses) == {401}
    real = make_user("expert")
    # The 31st attempt, for a new username and with the right password, waits too.
    assert _attempt(app, "10.0.0.66", real.username, PASSWORD) == 429
    # Another address is not affected.
    assert _attempt(app, "10.0.0.67", real.username, PASSWORD) == 302


def test_one_account_cannot_be_guessed_from_many_addresses(
    app: Flask, make_user: Callable[..., Any]
) -> None:
    user = make_user("expert")
    statuses = [_attempt(app, f"10.1.0.{n}", user.username, "wrong-guess-1") for n in range(10)]
    assert set(statuses) == {401}
    assert _attempt(app, "10.1.0.200", user.username, PASSWORD) == 429
    assert _attempt(app, "10.1.0.200", "somebody-else", "wrong-guess-1") == 401


def test_the_token_endpoint_shares_the_address_limit_across_usernames(client: FlaskClient) -> None:
    statuses = [
        client.post(
            "/api/v1/tokens", json={"username": f"someone{n}", "password": "wrong-guess-1"}
        ).status_code
        for n in range(31)
    ]
    assert statuses[:30] == [401] * 30
    assert statuses[30] == 429


class _SlowHasher:
    """Counts how many hashes run at once."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self.lock = threading.Lock()

    def hash(self, password: str) -> str:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.05)
        with self.lock:
            self.running -= 1
        return "$argon2id$fake"


def test_argon2_work_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _SlowHasher()
    monkeypatch.setattr(users, "_hasher", fake)
    monkeypatch.setattr(users, "_hash_slots", threading.BoundedSemaphore(1))
    threads = [threading.Thread(target=users.hash_password, args=("x",)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fake.most == 1


def test_a_login_that_waits_too_long_for_argon2_is_told_to_retry(
    app: Flask, make_user: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make_user("expert")
    slots = threading.BoundedSemaphore(1)
    monkeypatch.setattr(users, "_hash_slots", slots)
    monkeypatch.setattr(users, "HASH_WAIT_SECONDS", 0.05)
    slots.acquire()
    try:
        assert _attempt(app, "10.2.0.1", user.username, PASSWORD) == 429
    finally:
        slots.release()
    assert _attempt(app, "10.2.0.1", user.username, PASSWORD) == 302


_GEVENT_PROBE = """
from gevent import monkey

monkey.patch_all()

import time

import gevent

from expertpool.accounts import users

users.configure_hashing(time_cost=4, memory_kib=65536, parallel=1)
ticks = []


def ticker():
    while True:
        ticks.append(time.perf_counter())
        gevent.sleep(0.005)


probe = gevent.spawn(ticker)
gevent.sleep(0.02)
started = time.perf_counter()
hashed = users.hash_password("kestrel-violin-2026")
took = time.perf_counter() - started
during = [t for t in ticks if started < t < started + took]
probe.kill()
print(len(during), round(took * 1000), hashed.startswith("$argon2id$"))
"""


def test_under_gevent_argon2_runs_off_the_event_loop() -> None:
    """Under gunicorn's gevent worker a hash must not freeze the one event loop: other greenlets
    (every other request of the worker) keep running while Argon2 works in a real thread."""
    pytest.importorskip("gevent")
    done = subprocess.run(
        [sys.executable, "-c", _GEVENT_PROBE],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    ticks, took_ms, is_argon2 = done.stdout.split()
    assert is_argon2 == "True"
    # A 5 ms ticker kept running through the hash (about a second): a hash that blocks the loop
    # lets it tick at most once, whatever the machine's load; a loaded machine still gives it
    # several turns.
    assert int(took_ms) > 100, done.stdout
    assert int(ticks) >= 5, done.stdout
