"""psycopg 3 under gevent: queries of different greenlets overlap instead of blocking the hub."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

from tests.conftest import create_scratch_postgres, drop_scratch_postgres, postgres_url

pytestmark = [pytest.mark.integration, pytest.mark.needs_postgres]

SCRIPT = textwrap.dedent("""
    import sys, time
    import psycopg  # imported before gevent patches: psycopg picks its blocking C wait
    from gevent import monkey
    monkey.patch_all()
    import gevent
    from psycopg import waiting
    from sqlalchemy import text
    from expertpool.core.db import make_engine

    assert waiting.wait is waiting.wait_c
    engine = make_engine(sys.argv[1])
    assert waiting.wait is waiting.wait_poll, waiting.wait

    def sleep():
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_sleep(0.5)"))

    sleep()  # open one connection first
    start = time.monotonic()
    gevent.joinall([gevent.spawn(sleep) for _ in range(4)], raise_error=True)
    print(round(time.monotonic() - start, 2))
""")


def test_queries_of_four_greenlets_overlap_even_when_psycopg_was_imported_before_gevent() -> None:
    base = postgres_url()
    scratch = create_scratch_postgres(base)
    try:
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT, scratch], capture_output=True, text=True, timeout=60
        )
    finally:
        drop_scratch_postgres(scratch, base)
    assert out.returncode == 0, out.stderr
    # Four half-second queries one after the other would take 2 s.
    assert float(out.stdout.strip().splitlines()[-1]) < 1.5, out.stdout


def test_a_connection_killed_while_idle_is_replaced_and_a_busy_one_is_not_pinged() -> None:
    from sqlalchemy import create_engine, event, text
    from sqlalchemy.pool import NullPool

    from expertpool.core.db import make_engine

    base = postgres_url()
    engine = make_engine(base, ping_after_idle=0.2)
    pings: list[int] = []
    real_ping = engine.dialect.do_ping

    def counting_ping(dbapi_conn: object) -> bool:
        pings.append(1)
        return real_ping(dbapi_conn)

    engine.dialect.do_ping = counting_ping  # type: ignore[method-assign]
    connects: list[int] = []
    event.listen(engine.pool, "connect", lambda *_: connects.append(1))
    try:
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        for _ in range(20):  # reused at once: no ping, no new connection
            with engine.connect() as conn:
                assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() == pid
        assert (len(pings), len(connects)) == (0, 1)
        killer = create_engine(base, poolclass=NullPool)
        with killer.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        killer.dispose()
        time.sleep(0.3)
        # The idle connection is pinged, found dead, dropped and replaced; the second is new.
        with engine.connect() as conn, engine.connect() as conn2:
            pids = {
                conn.execute(text("SELECT pg_backend_pid()")).scalar_one(),
                conn2.execute(text("SELECT pg_backend_pid()")).scalar_one(),
            }
        assert pid not in pids
        assert (len(pings), len(connects)) == (1, 3)
    finally:
        engine.dispose()
