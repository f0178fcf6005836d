"""Database engine, sessions and the declarative base with one naming convention."""

from __future__ import annotations

import enum
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, Enum, MetaData, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always returned timezone-aware (SQLite forgets zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


log = logging.getLogger(__name__)


def gevent_is_patched() -> bool:
    """Whether gevent has monkey-patched ``select`` in this process (gunicorn ``-k gevent``)."""
    monkey = sys.modules.get("gevent.monkey")
    return bool(monkey is not None and monkey.is_module_patched("select"))


def cooperate_with_gevent() -> bool:
    """Make psycopg wait through gevent's hub when gevent is patched; True when a change was needed.

    psycopg 3.3 picks its wait function when ``psycopg.waiting`` is first imported: the C
    ``wait_c`` (which calls poll() in C and so blocks every greenlet of the process while a query
    runs) unless gevent has already patched ``select``. Gunicorn's gevent worker patches before
    loading the app, but anything that imported psycopg earlier (``--preload``, a plugin, a
    sitecustomize) would leave ``wait_c`` in place. Then switch to the pure-Python ``wait_poll``
    (``select.poll`` is gevent's) and the gevent selector for connecting.
    """
    if not gevent_is_patched():
        return False
    import selectors

    from psycopg import waiting

    module: Any = waiting
    if module.wait is module.wait_poll and module.DefaultSelector is selectors.DefaultSelector:
        return False
    log.warning("psycopg was imported before gevent patched select: switching to its Python wait")
    module.wait = module.wait_poll
    module._ready = module._ready_poll
    module.DefaultSelector = selectors.DefaultSelector
    return True


PING_AFTER_IDLE_SECONDS = 10.0
"""A pooled PostgreSQL connection idle for longer is pinged before it is handed out."""


def ping_idle_connections(engine: Engine, idle_seconds: float = PING_AFTER_IDLE_SECONDS) -> None:
    """Check a pooled connection before reuse only when it sat idle for ``idle_seconds`` or more.

    ``pool_pre_ping`` pings on every checkout: a round trip (and, under gevent, a greenlet
    switch) before every query of a busy server, three per room event. A connection that went
    back to the pool milliseconds ago is as good as the last query found it; one left idle may
    have been cut by a restart or a firewall, so it is pinged (the dialect's own ping) and, if
    dead, the pool discards it and hands out a fresh one. A connection that dies while in use
    fails that one statement, as it would with ``pool_pre_ping``, and SQLAlchemy then
    invalidates the pool.
    """

    @event.listens_for(engine.pool, "checkin")
    def _checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise DisconnectionError("a pooled connection died while idle") from exc
        if not alive:
            raise DisconnectionError("a pooled connection died while idle")


def make_engine(url: str, *, ping_after_idle: float = PING_AFTER_IDLE_SECONDS) -> Engine:
    """Create the engine; SQLite gets WAL, a busy timeout and BEGIN IMMEDIATE transactions."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            # A connection per transaction (about 5 ms: the PRAGMAs below, and a WAL checkpoint when
            # the last one closes). A pool was faster, but threads that never return their session
            # (background workers, test servers) exhausted it and starved the dispatcher.
            poolclass=NullPool,
            hide_parameters=True,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy own BEGIN so that writers serialise with BEGIN IMMEDIATE.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    cooperate_with_gevent()
    # psycopg prepares a statement run five times, and PostgreSQL may then switch to a generic plan
    # that ignores the parameters: for a specialty-prefix range ('B' matches half the pool,
    # 'A010102' a hundred experts) that plan is wrong for one end or the other (staff search went
    # from 5 ms to 100+ ms). Always plan with the actual values.
    engine = create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_recycle=1800,
        connect_args={"options": "-c plan_cache_mode=force_custom_plan"},
        # A failed statement's message (logged with its traceback) must never carry its values:
        # password hashes, personal data, keyed tokens.
        hide_parameters=True,
    )
    ping_idle_connections(engine, ping_after_idle)
    return engine


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A pooled connection for one or two plain reads, in autocommit on PostgreSQL.

    Without a transaction PostgreSQL needs no BEGIN and ROLLBACK round trips: for the reads
    that precede every room event (the login check, the room's state) that is two of the three
    round trips each. SQLite keeps its transaction (its BEGIN costs nothing over the network).
    """
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


def make_session_factory(engine: Engine) -> scoped_session[Session]:
    """A thread- (or greenlet-) local session registry bound to the engine."""
    return scoped_session(sessionmaker(bind=engine, expire_on_commit=False))


@contextmanager
def session_scope(factory: scoped_session[Session]) -> Iterator[Session]:
    """A session for work outside a request (CLI, workers); removed afterwards."""
    session = factory()
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    finally:
        factory.remove()


def enum_column(cls: type[enum.Enum], length: int = 20) -> Enum:
    """An enumeration stored as its values in a plain string column (no database enum type)."""
    return Enum(
        cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )
