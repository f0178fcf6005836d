"""The daily upkeep as a thread of the web process, under the PostgreSQL leader lock.

Every web process may start the thread; only the one holding the ``daily-upkeep`` advisory lock
runs anything, the others wait and take over when it dies. The leader looks every
``maintenance_check_seconds`` whether today's run (China Standard Time) is done and runs it if
not; the `maintenance_run` row makes a second run of one day impossible, even across processes or
with the command run by hand.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from flask import Flask

from expertpool.core.calendar import cst_date
from expertpool.core.leader import AdvisoryLeader
from expertpool.experts import terms
from expertpool.notifications.context import NotifyContext
from expertpool.upkeep import daily

log = logging.getLogger(__name__)

EXTENSION = "expertpool.upkeep"
LOCK_NAME = "daily-upkeep"


class DailyUpkeep:
    """Runs each day's upkeep once, from a daemon thread, while this process leads."""

    def __init__(
        self,
        app: Flask,
        ctx: NotifyContext | None,
        *,
        clock: Callable[[], datetime],
        interval_seconds: float = 300.0,
    ) -> None:
        self.app = app
        self.ctx = ctx
        self.clock = clock
        self.interval_seconds = interval_seconds
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the thread once."""
        with self._lock:
            if self.thread is not None:
                return
            self.thread = threading.Thread(target=self._run, name="daily-upkeep", daemon=True)
            self.thread.start()

    def run_due(self) -> daily.DailyReport | None:
        """Run today's upkeep if it has not run (one pass of the loop)."""
        st = self.app.extensions["expertpool"]
        session = st.sessions.session_factory()  # its own session, closed after each pass
        try:
            return daily.run_daily(
                session,
                config=st.config,
                rules=terms.rules_for(st.config),
                today=cst_date(self.clock()),
                ctx=self.ctx,
                actor="maintenance",
            )
        finally:
            session.close()

    def _run(self) -> None:
        st = self.app.extensions["expertpool"]
        leader = AdvisoryLeader(st.engine, LOCK_NAME)
        with self.app.app_context():
            try:
                if not leader.wait_until_leader(self.stop_event):
                    return
                while not self.stop_event.is_set():
                    try:
                        self.run_due()
                    except Exception:
                        log.exception("the daily upkeep failed; it is tried again later")
                    self.stop_event.wait(self.interval_seconds)
            finally:
                leader.release()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to stop and wait for it."""
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(timeout)


def install(app: Flask, upkeep: DailyUpkeep | None) -> None:
    """Hand the app its upkeep; start the thread with the first request (never in CLI commands)."""
    app.extensions[EXTENSION] = upkeep
    if upkeep is None:
        return

    @app.before_request
    def _start_upkeep() -> None:
        upkeep.start()


def upkeep_of(app: Flask) -> DailyUpkeep | None:
    """The app's upkeep thread, if it runs one."""
    found: DailyUpkeep | None = app.extensions.get(EXTENSION)
    return found
