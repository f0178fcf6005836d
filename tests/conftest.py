"""Shared fixtures: the database (SQLite or PostgreSQL), the app, users, the browser."""

from __future__ import annotations

import os
import secrets
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import close_all_sessions

from expertpool.core.config import Config

REQUIRE_SERVICES = os.environ.get("EXPERTPOOL_REQUIRE_SERVICES") == "1"
PASSWORD = "kestrel-violin-2026"  # strong enough for the password rules (zxcvbn 4)
REFERENCE_TABLES = {"specialty", "region", "centre", "department", "alembic_version"}
CHROMIUM = os.environ.get("EXPERTPOOL_CHROMIUM", "/usr/bin/chromium")
DATABASE_TESTS_ONLY = os.environ.get("EXPERTPOOL_TEST_DATABASE_ONLY") == "1"
"""Set by CI for the one of its two runs (SQLite, then PostgreSQL) that only needs to show the
database at work: that run leaves out the tests whose outcome cannot depend on DATABASE_URL, which
the other run has: the pure units, the browser tests and the tests that always make their own
PostgreSQL database (`pg_app`)."""
TESTS_ROOT = Path(__file__).resolve().parent


def _independent_of_database_url(item: pytest.Item) -> bool:
    kind = Path(str(item.path)).resolve().relative_to(TESTS_ROOT).parts[0]
    return kind in ("unit", "e2e") or "pg_app" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Honour `EXPERTPOOL_TEST_DATABASE_ONLY` (see above); without it every test runs."""
    if not DATABASE_TESTS_ONLY:
        return
    dropped = [item for item in items if _independent_of_database_url(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not _independent_of_database_url(item)]


def service_missing(reason: str) -> None:
    """Skip, or fail when CI demands every service (EXPERTPOOL_REQUIRE_SERVICES=1)."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}", pytrace=False)
    pytest.skip(reason)


def postgres_url() -> str:
    """The PostgreSQL URL tests may use (the CI database), whether or not DATABASE_URL selects
    it.
    """
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgresql"):
        return url
    return os.environ.get(
        "EXPERTPOOL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )


def create_scratch_postgres(base_url: str) -> str:
    """Create a private database next to `base_url` so parallel runs never collide."""
    url = make_url(base_url)
    name = f"ep_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        service_missing(
            f"PostgreSQL not reachable at {url.render_as_string(hide_password=True)}: "
            f"{exc.__class__.__name__}"
        )
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_scratch_postgres(scratch_url: str, base_url: str) -> None:
    """Drop a database made by `create_scratch_postgres`."""
    name = make_url(scratch_url).database
    admin = create_engine(make_url(base_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """SQLite by default; a scratch PostgreSQL database when DATABASE_URL names PostgreSQL."""
    env_url = os.environ.get("DATABASE_URL", "")
    if env_url.startswith("postgresql"):
        scratch = create_scratch_postgres(env_url)
        yield scratch
        drop_scratch_postgres(scratch, env_url)
    else:
        yield "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite")


def make_test_config(instance: Path, database_url: str, **overrides: Any) -> Config:
    """Settings for a test app."""
    values: dict[str, Any] = {
        "instance_path": str(instance),
        "database_url": database_url,
        "secret_key": "test-secret-" + "x" * 20,
        "testing": True,
        "notify_worker_in_process": False,
        # Cheap password hashing: the tests log in hundreds of times (production keeps the default).
        "argon2_time_cost": 1,
        "argon2_memory_kib": 1024,
        # One review step, no batches, no publicity: the tests of other features approve experts
        # in one decision. The entry tests (tests/integration/entry/) use "guangdong".
        "entry_rules": "single",
    }
    values.update(overrides)
    return Config(**values)


def build_app(config: Config) -> Flask:
    """Create, migrate and seed an app with reference data."""
    from expertpool.app import create_app
    from expertpool.core import migrate
    from expertpool.departments.catalogue import city_regions
    from expertpool.departments.coverage import bundled as bundled_departments
    from expertpool.departments.members import load_departments
    from expertpool.reference import catalogue as reference

    app = create_app(config)
    st = app.extensions["expertpool"]
    st.keys.init()
    migrate.upgrade(st.engine, keys=st.keys)
    with app.app_context():
        session = st.sessions()
        reference.load_regions(session, reference.bundled("regions-guangdong.json"))
        reference.load_specialties(session, reference.bundled("specialties.json"))
        load_departments(session, bundled_departments(), city_regions(session), actor="test")
        st.sessions.remove()
    return app


@pytest.fixture(scope="session")
def _app(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[Flask]:
    app = build_app(make_test_config(tmp_path_factory.mktemp("instance"), database_url))
    yield app
    app.extensions["expertpool"].engine.dispose()


DEFAULT_DEPARTMENT = "440000-coordination"


def clean_database(app: Flask) -> None:
    """Empty every table but the reference data and restart the audit chain."""
    from expertpool.core.audit import GENESIS
    from expertpool.core.db import Base

    st = app.extensions["expertpool"]
    st.sessions.remove()
    # A test may hold on to a session object the registry no longer tracks; on SQLite its open
    # transaction would keep the write lock.
    close_all_sessions()
    tables = [
        t.name for t in reversed(Base.metadata.sorted_tables) if t.name not in REFERENCE_TABLES
    ]
    with st.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(
                text(
                    "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
                )
            )
        else:
            for t in tables:
                conn.execute(text(f'DELETE FROM "{t}"'))
        conn.execute(
            text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :h)"), {"h": GENESIS}
        )
    cp = st.config.checkpoint_path
    if cp.exists():
        cp.unlink()


@pytest.fixture()
def app(_app: Flask) -> Iterator[Flask]:
    """The shared app with an empty database (reference data kept) for each test."""
    from expertpool.core.state import limiter

    clean_database(_app)
    limiter.reset()
    with _app.app_context():
        yield _app
    _app.extensions["expertpool"].sessions.remove()
    close_all_sessions()


@pytest.fixture()
def db_session(app: Flask) -> Any:
    """The app's session in the test's app context."""
    return app.extensions["expertpool"].sessions()


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    """A test client."""
    return app.test_client()


@pytest.fixture()
def make_user(app: Flask) -> Callable[..., Any]:
    """Factory: `make_user(role="expert", centre="440100", username=None, department=...)`.

    Reviewers and supervisors join `department` (a department code; by default the province's
    coordinating department, which covers every field and region; None: no department).
    """
    from expertpool.accounts import users
    from expertpool.departments import members

    counter = {"n": 0}

    def make(
        role: str = "expert", centre: str | None = None, username: str | None = None, **kw: Any
    ) -> Any:
        counter["n"] += 1
        name = username or f"{role.replace('_', '-')}{counter['n']}"
        if role == "centre_staff" and centre is None:
            centre = "440100"
        session = app.extensions["expertpool"].sessions()
        user = users.create_user(
            session,
            actor="test",
            username=name,
            display_name=kw.get("display_name", name),
            password=kw.get("password", PASSWORD),
            role=role,
            centre_code=centre,
        )
        department = kw.get("department", DEFAULT_DEPARTMENT)
        if role in ("reviewer", "supervisor") and department is not None:
            dept = members.by_code(session, department)
            members.assign(session, actor="test", username=user.username, department_id=dept.id)
        return user

    return make


def login_client(client: FlaskClient, user: Any) -> FlaskClient:
    """Log a client in without a form (tests of the form use the form): a server-side login
    session and the cookie that names it."""
    from expertpool.accounts import logins
    from expertpool.core.db import utcnow

    st = client.application.extensions["expertpool"]
    token = logins.start(st.sessions(), user.id, now=utcnow(), address="127.0.0.1", agent="test")
    with client.session_transaction() as sess:
        sess["uid"] = user.id
        sess["pw"] = user.password_changed_at.isoformat()
        sess["sid"] = token
    return client


@pytest.fixture()
def login() -> Callable[[FlaskClient, Any], FlaskClient]:
    """`login(client, user)` puts the user in the client's session."""
    return login_client


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """Fetch a page and read its CSRF token."""
    import re

    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


# Live server and browser -------------------------------------------------------------------------


class LiveServer:
    """The app served by werkzeug on a loopback port in a background thread."""

    def __init__(self, app: Flask) -> None:
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Shut the server down."""
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture()
def live_server(app: Flask) -> Iterator[LiveServer]:
    """A running server over the test app."""
    app.extensions["expertpool"].sessions.remove()
    server = LiveServer(app)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _playwright() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        service_missing(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        service_missing("playwright is not installed")
    pw = sync_playwright().start()
    browser = pw.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ],
    )
    yield browser
    browser.close()
    pw.stop()


@pytest.fixture()
def page(_playwright: Any) -> Iterator[Any]:
    """A fresh browser page (own cookies) with a 10 s default timeout."""
    context = _playwright.new_context(locale="zh-CN", viewport={"width": 1200, "height": 900})
    context.set_default_timeout(10_000)
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture()
def browser(_playwright: Any) -> Any:
    """The shared browser, for tests that need several contexts."""
    return _playwright


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A Redis URL that answers, else skip (or fail under EXPERTPOOL_REQUIRE_SERVICES=1)."""
    import redis

    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:
        service_missing(f"Redis not reachable at {url}: {exc.__class__.__name__}")
    return url


@pytest.fixture()
def pg_app(tmp_path: Path) -> Iterator[Flask]:
    """An app on its own scratch PostgreSQL database, whatever DATABASE_URL says (concurrency
    tests).
    """
    base = postgres_url()
    scratch = create_scratch_postgres(base)
    app = build_app(make_test_config(tmp_path / "instance", scratch))
    try:
        with app.app_context():
            yield app
    finally:
        app.extensions["expertpool"].sessions.remove()
        app.extensions["expertpool"].engine.dispose()
        drop_scratch_postgres(scratch, base)
