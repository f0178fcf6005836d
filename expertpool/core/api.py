"""The described JSON API: one SpecTree instance whose pydantic models validate every request and
every response of `/api/v1` and generate its OpenAPI 3.1 document.

Features decorate their views with `spec.validate(...)` (through `operation`), read the validated
input with `body()`/`query()`, and answer lists with `page_of()`. Validation failures become the
project's one error shape (`expertpool.core.errors`), in the caller's language.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flask import Flask, request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticError
from spectree import Response, SecurityScheme, SpecTree
from spectree.models import SecureType, SecuritySchemeData
from werkzeug.routing import IntegerConverter

from expertpool.core.errors import BrokenInvariant, ValidationFailed
from expertpool.core.texts import _l

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
API_VERSION = "1.0.0"
M = TypeVar("M", bound=BaseModel)
F = TypeVar("F", bound=Callable[..., Any])


def storable(value: Any) -> bool:
    """Whether text (in lists and objects too) can be stored: no NUL, no lone surrogate (neither
    survives PostgreSQL's UTF-8 text)."""
    if isinstance(value, str):
        if "\x00" in value:
            return False
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, list):
        return all(storable(v) for v in value)
    if isinstance(value, dict):
        return all(storable(k) and storable(v) for k, v in value.items())
    return True


class Model(BaseModel):
    """Input models refuse unknown fields, so a typo is an error rather than silently ignored,
    and text the database cannot hold."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        if not storable(value):
            raise ValueError("text with NUL or invalid Unicode")
        return value


class Out(BaseModel):
    """Output models: the documented fields are checked; later additions do not break clients."""

    model_config = ConfigDict(extra="allow")


class ErrorBody(BaseModel):
    """Every error of `/api/v1`: a stable code, a translated message, messages per field."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(description="Stable, machine-readable error code, e.g. `validation_failed`.")
    message: str = Field(description="Human-readable message in the caller's language.")
    fields: dict[str, list[str]] = Field(
        default_factory=dict, description="Field name -> messages about that field."
    )


class PageQuery(Model):
    """Every list is paged: `page` from 1, `per_page` up to 100."""

    page: int = Field(1, ge=1, le=100000, description="Page number, from 1.")
    per_page: int = Field(50, ge=1, le=100, description="Items per page (1 to 100).")


class PageMeta(Out):
    """The paging fields every list answer carries."""

    total: int = Field(description="How many items match, over all pages.")
    page: int
    per_page: int
    next_page: int | None = Field(description="The next page's number, or null on the last page.")


class Empty(Model):
    """A body-less creating call may still send `{}`."""


class IdempotencyHeaders(BaseModel):
    """The optional header of creating calls (see docs/integration.md)."""

    model_config = ConfigDict(extra="allow")

    idempotency_key: str | None = Field(
        None,
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Any unique string (e.g. a UUID); a retry with the same key and body "
        "answers the first result instead of acting twice.",
    )


# What a limited token may be granted; a person's own token (no scopes) reaches all its role may.
SCOPES: dict[str, str] = {
    "reference:read": "Read the specialty classification.",
    "experts:self": "An expert's own record, leave and changes.",
    "experts:read": "Search and read expert records (personal data masked).",
    "experts:review": "Decide applications and changes, reveal, change an expert's status.",
    "projects:read": "Read projects, lots, bidders and venues.",
    "projects:write": "Create and change projects, lots and bidders; ready and award.",
    "draws:read": "Read draw requests and their status (never who was drawn).",
    "draws:write": "Create draw requests from a registered terminal.",
    "draws:record": "Read a draw's named contact record once its project is awarded.",
    "terminals:admin": "Register and disable terminals, create venues.",
    "sessions:read": "Read opened panels and sessions as the visibility table allows.",
    "reports:read": "Fetch a session's signed evaluation report (PDF) from sign-off, for the "
    "owning centre's trading system.",
    "events:subscribe": "Register, list and remove the addresses that receive signed events "
    "(each subscription also needs the scope whose events it receives).",
    "statistics:read": "Read published statistics (closed projects only, small cells hidden).",
}

_ERROR_STATUSES = (400, 401, 403, 404, 409, 413, 422, 429)


def _translated_message(error: dict[str, Any]) -> str:
    kind = str(error.get("type", ""))
    if kind == "missing":
        return str(_l("Required."))
    if kind == "extra_forbidden":
        return str(_l("Unknown field."))
    if kind in ("literal_error", "enum"):
        return str(_l("Choose one of the allowed values."))
    if kind.startswith(("greater_than", "less_than")):
        return str(_l("The value is out of range."))
    if kind in ("string_too_long", "too_long"):
        return str(_l("The value is too long."))
    if kind in ("string_too_short", "too_short"):
        return str(_l("The value is too short."))
    if kind.startswith("date_"):
        return str(_l("Use a date like 2020-01-31."))
    if kind in ("model_type", "dict_type", "model_attributes_type", "json_invalid"):
        return str(_l("Expected a JSON object."))
    return str(_l("Invalid value."))


def validation_fields(err: PydanticError) -> dict[str, list[str]]:
    """Pydantic's errors as `{field: [messages]}` with our translated messages."""
    fields: dict[str, list[str]] = {}
    for error in err.errors():
        loc = [str(part) for part in error.get("loc", ()) if part != "__root__"]
        name = ".".join(loc) or "body"
        message = _translated_message(dict(error))
        if message not in fields.setdefault(name, []):
            fields[name].append(message)
    return fields


def _not_a_json_object() -> bool:
    """Whether this request sent a body that is not a JSON object (forms and files aside)."""
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return False
    return bool(request.get_data(cache=True)) and not isinstance(
        request.get_json(silent=True), dict
    )


def _before(req: Any, resp: Any, req_validation_error: Any, instance: Any, *_: Any) -> None:
    if req_validation_error is None:
        return
    if _not_a_json_object():
        raise ValidationFailed(
            str(_l("Send a JSON object.")), fields={"body": [str(_l("Expected a JSON object."))]}
        )
    raise ValidationFailed(fields=validation_fields(req_validation_error))


def _after(req: Any, resp: Any, resp_validation_error: Any, instance: Any, *_: Any) -> None:
    if resp_validation_error is not None:
        # A response that breaks its own schema is our bug: log it and answer the generic 500.
        log.error(
            "response of %s %s breaks its schema: %s", req.method, req.path, resp_validation_error
        )
        raise BrokenInvariant(str(_l("An unexpected error occurred; it has been logged.")))


spec = SpecTree(
    "flask",
    mode="strict",
    annotations=False,
    title="expertpool API",
    version=API_VERSION,
    openapi_version="3.1.0",
    description=(
        "The evaluation-expert pool's JSON API for trading systems and tools. Authenticate with "
        "`Authorization: Bearer <token>` (POST /api/v1/tokens). Errors share one shape "
        "(`ErrorBody`); lists are paged (`page`, `per_page`); creating calls accept an "
        "`Idempotency-Key` header. See docs/integration.md."
    ),
    security_schemes=[
        SecurityScheme(
            name="bearer",
            data=SecuritySchemeData(
                type=SecureType.HTTP, scheme="bearer", description="A token from POST /tokens."
            ),
        )
    ],
    security={"bearer": []},
    before=_before,
    after=_after,
    validation_error_status=422,
    validation_error_model=ErrorBody,
    # Plain model names in the document (they are unique across the features).
    naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda _parent, child: child,
)


def operation(
    *,
    tags: Sequence[str],
    json: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    headers: type[BaseModel] | None = None,
    public: bool = False,
    scope: str | None = None,
    **responses: Any,
) -> Callable[[F], F]:
    """Describe and validate one operation: its input models, the token scope it needs, and its
    answers by status (`HTTP_200=Model`, `HTTP_204=None`); every error status answers `ErrorBody`.
    """
    if scope is not None and scope not in SCOPES:
        raise ValueError(f"unknown scope {scope}")
    for status in _ERROR_STATUSES:
        responses.setdefault(f"HTTP_{status}", ErrorBody)
    if public:
        security: Any = {}
    else:
        security = {"bearer": [scope] if scope else []}

    def decorate(view: F) -> F:
        feature = view.__module__.split(".")[1]
        wrapped = spec.validate(
            json=json,
            query=query,
            headers=headers,
            resp=Response(**responses),
            tags=tags,
            security=security,
            operation_id=f"{feature}_{view.__name__}",
        )(view)
        # Read by the access check (`expertpool.accounts.access`) for limited tokens, and by the
        # deprecated paths' leniency (`expertpool.core.legacy`).
        wrapped._scope = scope
        wrapped._input_models = {"json": json, "query": query}
        return wrapped  # type: ignore[no-any-return]

    return decorate


def body(model: type[M]) -> M:
    """The validated JSON body of this request."""
    value = getattr(getattr(request, "context", None), "json", None)
    if not isinstance(value, model):
        raise ValidationFailed(fields={"body": [str(_l("Expected a JSON object."))]})
    return value


def query(model: type[M]) -> M:
    """The validated query string of this request."""
    value = getattr(getattr(request, "context", None), "query", None)
    if not isinstance(value, model):
        return model()
    return value


def page_meta(total: int, page: int, per_page: int) -> dict[str, Any]:
    """The paging fields of an answer."""
    return {
        "total": total,
        "page": page,
        "per_page": per_page,
        "next_page": page + 1 if page * per_page < total else None,
    }


def page_of(items: Sequence[Any], paging: PageQuery, view: Callable[[Any], Any]) -> dict[str, Any]:
    """One page of an in-memory list, with the paging fields."""
    start = (paging.page - 1) * paging.per_page
    chunk = items[start : start + paging.per_page]
    return {
        "items": [view(i) for i in chunk],
        **page_meta(len(items), paging.page, paging.per_page),
    }


class BoundedIntegerConverter(IntegerConverter):
    """`<int:...>` in every route: ids fit the database's INTEGER (a larger number is 404, not a
    database overflow)."""

    # 0 to 2147483647 in the pattern itself: a larger number matches no route at all (a 404; a
    # converter refusing it after the match would make Werkzeug answer 405 to some methods).
    regex = (
        r"(?:\d{1,9}|1\d{9}|20\d{8}|21[0-3]\d{7}|214[0-6]\d{6}|2147[0-3]\d{5}|21474[0-7]\d{4}"
        r"|214748[0-2]\d{3}|2147483[0-5]\d{2}|21474836[0-3]\d|214748364[0-7])"
    )

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def install_converters(app: Flask) -> None:
    """Use the bounded id converter for every `<int:...>` route parameter."""
    app.url_map.converters["int"] = BoundedIntegerConverter


def document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of `/api/v1` (built once per application)."""
    cached = app.extensions.get("expertpool_openapi")
    if cached is None:
        # SpecTree lifts nested models out of `spec.models` while generating (it deletes their
        # `$defs`), so a second application in the same process would get a document whose
        # nested references dangle: generate from a copy and keep the models as they were.
        models = copy.deepcopy(spec.models)
        try:
            full = spec._generate_spec()
        finally:
            spec.models = models
        full["paths"] = {
            path: ops for path, ops in sorted(full["paths"].items()) if path.startswith(PREFIX)
        }
        full["servers"] = [{"url": "/"}]
        cached = app.extensions["expertpool_openapi"] = full
    return dict(cached)
