"""One error family, mapped to HTML pages and to JSON bodies.

`/api/v1` answers `{"code", "message", "fields": {name: [messages]}}`; the deprecated unversioned
`/api/...` paths and the pages keep the older envelope `{"error": {"code", "message", "fields":
{name: message}}}` so existing clients do not break.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from flask import Flask, Response, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from expertpool.core.texts import _l

log = logging.getLogger(__name__)


T = TypeVar("T")
V1_PREFIX = "/api/v1/"
# Set by the WSGI shim that serves the deprecated unversioned paths (see `expertpool.core.legacy`).
LEGACY_ENVIRON = "expertpool.legacy_api"


class AppError(Exception):
    """An error the user can act on: a stable code, a message and an HTTP status."""

    code = "error"
    http_status = 400
    default_message: Any = _l("The request could not be completed.")

    def __init__(
        self,
        message: str | None = None,
        *,
        fields: dict[str, str] | dict[str, list[str]] | None = None,
        code: str | None = None,
    ) -> None:
        # The default message is translated when the error is raised (in the request's language).
        text = str(message) if message else str(self.default_message)
        super().__init__(text)
        self.message = text
        # Pages show one message per field; `/api/v1` lists every message of a field.
        self.field_messages: dict[str, list[str]] = {
            name: [str(m) for m in value] if isinstance(value, list) else [str(value)]
            for name, value in (fields or {}).items()
        }
        self.fields: dict[str, str] = {
            name: " ".join(messages) for name, messages in self.field_messages.items()
        }
        if code:
            self.code = code

    def to_dict(self) -> dict[str, Any]:
        """The older JSON body of this error (unversioned API paths and pages)."""
        return {"error": {"code": self.code, "message": self.message, "fields": self.fields}}

    def to_body(self) -> dict[str, Any]:
        """The `/api/v1` JSON body of this error."""
        return {"code": self.code, "message": self.message, "fields": self.field_messages}


class ValidationFailed(AppError):
    """Input failed validation; `fields` maps each field to its message."""

    code = "validation_failed"
    http_status = 422
    default_message = _l("Some fields are invalid.")


class NotFound(AppError):
    """The object does not exist (or is not visible to the user)."""

    code = "not_found"
    http_status = 404
    default_message = _l("Not found.")


class Unauthenticated(AppError):
    """No valid login or token."""

    code = "unauthenticated"
    http_status = 401
    default_message = _l("Please log in.")


class Forbidden(AppError):
    """The user may not do this."""

    code = "forbidden"
    http_status = 403
    default_message = _l("You are not allowed to do this.")


class Conflict(AppError):
    """The object changed meanwhile or the action collides with another one."""

    code = "conflict"
    http_status = 409
    default_message = _l("The record was changed by someone else; reload and try again.")


class TransitionRefused(Conflict):
    """A state machine refused a move."""

    code = "illegal_transition"


class RateLimited(AppError):
    """Too many attempts."""

    code = "rate_limited"
    http_status = 429
    default_message = _l("Too many attempts; wait a minute and try again.")


class BrokenInvariant(AppError):
    """Something the code relies on does not hold (a row the database promises is missing, a value
    that validation guaranteed is absent): a bug or damaged data, never the user's input."""

    code = "broken_invariant"
    http_status = 500


def must_exist(value: T | None, error: type[AppError] = NotFound) -> T:
    """`value`, or the typed error (`NotFound` unless told) when it is None."""
    if value is None:
        raise error()
    return value


def wants_json() -> bool:
    """Whether the current request expects a JSON answer."""
    if request.path.startswith("/api/") or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def is_v1() -> bool:
    """Whether this request addresses the versioned API (and so gets its error shape)."""
    return request.path.startswith(V1_PREFIX) and not request.environ.get(LEGACY_ENVIRON)


def _respond(err: AppError) -> tuple[Response | str, int]:
    if is_v1():
        return jsonify(err.to_body()), err.http_status
    if wants_json():
        return jsonify(err.to_dict()), err.http_status
    return render_template("error.html", error=err), err.http_status


_HTTP_CODES: dict[int, tuple[str, type[AppError], Any]] = {
    400: ("bad_request", AppError, _l("The request could not be understood.")),
    401: ("unauthenticated", Unauthenticated, None),
    403: ("forbidden", Forbidden, None),
    404: ("not_found", NotFound, _l("There is no page at this address.")),
    405: ("method_not_allowed", AppError, _l("This address does not accept that method.")),
    409: ("conflict", Conflict, None),
    413: ("too_large", AppError, _l("The upload is too large.")),
    429: ("rate_limited", RateLimited, None),
}


def register_error_handlers(app: Flask) -> None:
    """Install the handlers that turn errors into pages or JSON."""

    @app.errorhandler(AppError)
    def _app_error(err: AppError) -> tuple[Response | str, int]:
        return _respond(err)

    @app.errorhandler(CSRFError)
    def _csrf_error(err: CSRFError) -> tuple[Response | str, int]:
        return _respond(
            Forbidden(
                _(
                    "The form expired or was not sent from this site; reload the page and try "
                    "again."
                ),
                code="csrf_failed",
            )
        )

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException) -> Any:
        status = err.code or 500
        if status in (301, 302, 303, 307, 308):
            return err
        code, cls, message = _HTTP_CODES.get(status, ("error", AppError, None))
        # Werkzeug's own descriptions are English prose; show ours, in the user's language.
        mapped = cls(str(message) if message else None, code=code)
        mapped.http_status = status
        response = make_response(_respond(mapped))
        if isinstance(err, MethodNotAllowed) and err.valid_methods:
            response.headers["Allow"] = ", ".join(err.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> tuple[Response | str, int]:
        if app.config.get("TESTING") and not app.config.get("EXPERTPOOL_SWALLOW_500"):
            raise err
        log.exception("unexpected error on %s %s", request.method, request.path)
        generic = AppError(
            _("An unexpected error occurred; it has been logged."), code="internal_error"
        )
        generic.http_status = 500
        return _respond(generic)
