"""A committee at the scoring phase on a scratch PostgreSQL database, served by gunicorn
processes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from evaluation_room.handlers import NAMESPACE
from expertpool.accounts import users
from tests.conftest import PASSWORD, login_client
from tests.integration.room.conftest import Committee, build_committee
from tests.integration.room_scale.cluster import Cluster


@pytest.fixture()
def scoring_committee(pg_app: Flask) -> Iterator[Committee]:
    """The standard committee (5 members, hosts in Guangzhou and Shenzhen), checked in and scoring.

    The setup runs through the in-process Socket.IO test client; the servers under test are
    separate processes on the same database.
    """
    counter = {"n": 0}

    def make_user(role: str = "expert", centre: str | None = None, **kw: Any) -> Any:
        counter["n"] += 1
        if role == "centre_staff" and centre is None:
            centre = "440100"
        return users.create_user(
            pg_app.extensions["expertpool"].sessions(),
            actor="test",
            username=f"{role.replace('_', '-')}{counter['n']}",
            display_name=kw.get("display_name", f"u{counter['n']}"),
            password=PASSWORD,
            role=role,
            centre_code=centre,
        )

    committee = build_committee(pg_app, make_user)
    committee.to_scoring()
    for client in committee.clients.values():
        client.disconnect(NAMESPACE)
    committee.clients.clear()
    for name, user in committee.users.items():
        cookie = login_client(pg_app.test_client(), user).get_cookie("session")
        assert cookie is not None
        COOKIES[(committee.room_id, name)] = cookie.value
    pg_app.extensions["expertpool"].sessions.remove()
    yield committee


COOKIES: dict[tuple[str, str], str] = {}


def cookie_of(committee: Committee, name: str) -> str:
    """The session cookie logging ``name`` in (signed with the servers' secret key)."""
    return COOKIES[(committee.room_id, name)]


@pytest.fixture()
def cluster(pg_app: Flask, redis_url: str, tmp_path: Path) -> Iterator[Cluster]:
    """Two gunicorn gevent processes on the committee's database and Redis (own pub/sub channel)."""
    c = Cluster(pg_app.extensions["expertpool"].config, redis_url, tmp_path)
    try:
        yield c.start()
    finally:
        c.stop()
