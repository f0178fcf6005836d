"""The deprecated unversioned API paths (`/api/me`, `/api/projects`, ...) keep answering.

A small WSGI shim serves each of them with its `/api/v1` twin (same view, same validation, same
access) and marks the request so that errors keep the older `{"error": {...}}` envelope; every
such answer carries `Deprecation` and a `Link` to the successor path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from expertpool.core.errors import LEGACY_ENVIRON

# The first path segments the unversioned API had before `/api/v1` existed.
LEGACY_HEADS = frozenset(
    {
        "tokens",
        "me",
        "specialties",
        "experts",
        "projects",
        "draw-requests",
        "terminals",
        "venues",
        "keys",
        "notifications",
    }
)
# RFC 9745: the moment the unversioned paths became deprecated (2026-12-03T00:00:00Z).
DEPRECATED_SINCE = "@1796256000"

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def legacy_path(path: str) -> str | None:
    """The `/api/v1` path serving an unversioned API path, or None when `path` is not one."""
    if not path.startswith("/api/"):
        return None
    head = path[len("/api/") :].split("/", 1)[0]
    if head not in LEGACY_HEADS:
        return None
    return "/api/v1/" + path[len("/api/") :]


class LegacyApiShim:
    """WSGI middleware: rewrite an unversioned API path to its `/api/v1` twin, flag it, and add
    the deprecation headers to the answer."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        successor = legacy_path(environ.get("PATH_INFO", ""))
        if successor is None:
            return self.app(environ, start_response)
        environ["PATH_INFO"] = successor
        environ[LEGACY_ENVIRON] = True

        def deprecated_start(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            headers = [
                *headers,
                ("Deprecation", DEPRECATED_SINCE),
                ("Link", f'<{successor}>; rel="successor-version"'),
            ]
            return start_response(status, headers, *rest)

        return self.app(environ, deprecated_start)
