"""The deprecated unversioned API paths (`/api/me`, `/api/projects`, ...) keep answering.

A small WSGI shim serves each of them with its `/api/v1` twin (same view, same validation, same
access) and marks the request so that errors keep the older `{"error": {...}}` envelope; every
such answer carries `Deprecation` and a `Link` to the successor path. As before `/api/v1`, these
paths ignore body fields and query parameters they do not know (`/api/v1` refuses them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, current_app, request
from pydantic import BaseModel
from werkzeug.datastructures import ImmutableMultiDict

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


def _names(model: type[BaseModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


def _ignore_unknown_input() -> None:
    """On a deprecated path, drop body fields and query parameters the operation does not know,
    as the unversioned API did, before the operation's validation sees them."""
    if not request.environ.get(LEGACY_ENVIRON) or request.endpoint is None:
        return
    view = current_app.view_functions.get(request.endpoint)
    models: dict[str, type[BaseModel] | None] = getattr(view, "_input_models", {})
    body_model, query_model = models.get("json"), models.get("query")
    if body_model is not None:
        body = request.get_json(silent=True)
        if isinstance(body, dict):
            known = _names(body_model)
            kept = {k: v for k, v in body.items() if k in known}
            request._cached_json = (kept, kept)  # what get_json() answers from now on
    if query_model is not None:
        known = _names(query_model)
        request.args = ImmutableMultiDict(
            [(k, v) for k, v in request.args.items(multi=True) if k in known]
        )


def install(app: Flask) -> None:
    """Serve the deprecated unversioned API paths."""
    app.before_request(_ignore_unknown_input)
    app.wsgi_app = LegacyApiShim(app.wsgi_app)  # type: ignore[method-assign]
