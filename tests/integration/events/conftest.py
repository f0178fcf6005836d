"""A loopback HTTP receiver of outbound events (127.0.0.1 only) and subscriptions to it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Received:
    """One POST as the receiver saw it."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Records every POST; answers the programmed statuses in turn, then 200."""

    url: str
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    """A receiver on 127.0.0.1 at a free port, stopped after the test."""
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            state.received.append(
                Received(
                    self.path, {k: v for k, v in self.headers.items()}, self.rfile.read(length)
                )
            )
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/expertpool"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def setup(app: Any, make_user: Callable[..., Any]) -> Iterator[Any]:
    """A ready project, venue, terminal, operator and supervisor (as the draws' tests use)."""
    from expertpool.core.db import utcnow
    from tests.integration.draws.conftest import make_setup

    yield make_setup(app, make_user)
    app.extensions["expertpool"].clock = utcnow
