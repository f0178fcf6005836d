"""psycopg 3 under gevent: queries of different greenlets overlap instead of blocking the hub."""

from __future__ import annotations

import subprocess
import sys
import textwrap

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
    from expertpool.db import make_engine

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
        out = subprocess.run([sys.executable, "-c", SCRIPT, scratch], capture_output=True, text=True, timeout=60)
    finally:
        drop_scratch_postgres(scratch, base)
    assert out.returncode == 0, out.stderr
    # Four half-second queries one after the other would take 2 s.
    assert float(out.stdout.strip().splitlines()[-1]) < 1.5, out.stdout
