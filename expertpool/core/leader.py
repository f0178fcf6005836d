"""One leader among the web processes for background work, by a PostgreSQL advisory lock.

Each process that wants to run a background loop calls :meth:`AdvisoryLeader.wait_until_leader`;
one of them gets the session-level advisory lock and keeps the connection holding it open while
it works. When that process dies its connection closes, PostgreSQL releases the lock and another
waiting process takes over within ``retry_seconds``. Advisory locks are scoped to the database,
so two sites (or test runs) on different databases never contend. SQLite serves one process:
there everyone is the leader.
"""

from __future__ import annotations

import logging
import threading
import zlib
from typing import Any

from sqlalchemy import Engine, text

log = logging.getLogger(__name__)


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a name."""
    return zlib.crc32(f"expertpool:{name}".encode()) - 2**31


class AdvisoryLeader:
    """Holds (or waits for) the advisory lock named ``name`` on ``engine``'s database."""

    def __init__(self, engine: Engine, name: str, retry_seconds: float = 5.0) -> None:
        self.engine = engine
        self.name = name
        self.key = lock_key(name)
        self.retry_seconds = retry_seconds
        self._conn: Any = None

    @property
    def is_leader(self) -> bool:
        """Whether this process holds the lock."""
        return self._conn is not None

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; keep the connection open while leading."""
        if self._conn is not None:
            return True
        if self.engine.dialect.name != "postgresql":
            self._conn = True
            return True
        conn = self.engine.connect()
        try:
            got = bool(
                conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar()
            )
            conn.commit()
        except Exception:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        log.info("this process now leads %s", self.name)
        return True

    def wait_until_leader(self, stop: threading.Event) -> bool:
        """Block until this process leads (True) or ``stop`` is set (False)."""
        while not stop.is_set():
            try:
                if self.try_acquire():
                    return True
            except Exception:
                log.exception("could not ask for the %s lock", self.name)
            stop.wait(self.retry_seconds)
        return False

    def release(self) -> None:
        """Give the lock up (closing the connection releases it)."""
        conn, self._conn = self._conn, None
        if conn is None or conn is True:
            return
        try:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            conn.commit()
        except Exception:
            log.warning(
                "releasing the %s lock failed; closing its connection releases it", self.name
            )
        finally:
            conn.close()
