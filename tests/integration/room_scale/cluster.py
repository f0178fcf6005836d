"""Several gunicorn (gevent) server processes of the app sharing one database and Redis, for tests.

Every process is started in its own session and killed (SIGKILL) at the end whatever happens; a
process that does not answer within ``READY_SECONDS`` fails the test with its log.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from sqlalchemy.engine import make_url

from expertpool.core.config import Config

READY_SECONDS = 30
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def free_port() -> int:
    """A free loopback TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(config: Config, redis_url: str, channel: str, **extra: str) -> dict[str, str]:
    """The environment of a server process sharing ``config``'s database, keys and secret."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("EXPERTPOOL_", "DATABASE_URL", "REDIS_URL"))
    }
    env.update(
        {
            "DATABASE_URL": config.database_url,
            "SECRET_KEY": config.secret_key,
            "REDIS_URL": redis_url,
            "EXPERTPOOL_INSTANCE_PATH": config.instance_path,
            "EXPERTPOOL_SOCKETIO_ASYNC_MODE": "gevent",
            "EXPERTPOOL_SOCKETIO_CHANNEL": channel,
            "EXPERTPOOL_ARGON2_TIME_COST": str(config.argon2_time_cost),
            "EXPERTPOOL_ARGON2_MEMORY_KIB": str(config.argon2_memory_kib),
            "EXPERTPOOL_NOTIFY_WORKER_IN_PROCESS": "true",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


@dataclass
class Cluster:
    """``size`` gunicorn processes (``-k gevent -w 1``) on loopback ports."""

    config: Config
    redis_url: str
    log_dir: Path
    size: int = 2
    channel: str = field(default_factory=lambda: f"expertpool-test-{uuid.uuid4().hex[:10]}")
    ports: list[int] = field(default_factory=list)
    procs: list[subprocess.Popen[bytes] | None] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def urls(self) -> list[str]:
        """The base URL of every process."""
        return [f"http://127.0.0.1:{p}" for p in self.ports]

    def start(self) -> Cluster:
        """Start every process and wait until each answers."""
        self.ports = [free_port() for _ in range(self.size)]
        env = server_env(self.config, self.redis_url, self.channel, **self.extra_env)
        for i, port in enumerate(self.ports):
            # Each process names its database connections (pg_stat_activity.application_name).
            url = make_url(self.config.database_url).update_query_dict(
                {"application_name": f"expertpool-{i}"}
            )
            env["DATABASE_URL"] = url.render_as_string(hide_password=False)
            with (self.log_dir / f"server-{i}.log").open("wb") as log:
                self.procs.append(
                    subprocess.Popen(
                        [
                            GUNICORN,
                            "-k",
                            "gevent",
                            "-w",
                            "1",
                            "-b",
                            f"127.0.0.1:{port}",
                            "--no-control-socket",
                            "--graceful-timeout",
                            "2",
                            "--log-level",
                            "warning",
                            "expertpool.wsgi:app",
                        ],
                        env=dict(env),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        for i in range(self.size):
            self.wait_ready(i)
        return self

    def wait_ready(self, i: int) -> None:
        """Wait until process ``i`` serves the login page."""
        end = time.monotonic() + READY_SECONDS
        while time.monotonic() < end:
            proc = self.procs[i]
            if proc is None or proc.poll() is not None:
                break
            try:
                if requests.get(self.urls[i] + "/login", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError(f"server {i} did not start:\n{self.log(i)}")

    def log(self, i: int) -> str:
        """The output of process ``i`` so far."""
        return (self.log_dir / f"server-{i}.log").read_text(encoding="utf-8", errors="replace")

    def pid(self, i: int) -> int:
        """The gunicorn master's pid of process ``i``."""
        proc = self.procs[i]
        assert proc is not None
        return proc.pid

    def kill(self, i: int) -> None:
        """SIGKILL process ``i`` (master and worker: its whole process group)."""
        proc = self.procs[i]
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        self.procs[i] = None

    def stop(self) -> None:
        """Kill every process still running."""
        for i in range(len(self.procs)):
            self.kill(i)


def stop_quietly(items: list[Any]) -> None:
    """Disconnect python-socketio clients, ignoring errors."""
    for item in items:
        with contextlib.suppress(Exception):
            item.disconnect()
