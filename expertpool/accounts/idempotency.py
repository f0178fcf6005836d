"""Idempotency keys for creating calls: a retry with the same key and body gets the first answer.

Keys are scoped to the bearer token. The call is claimed (a pending row, committed) before the
view runs, so a concurrent retry sees it in progress instead of acting twice; a successful answer
is stored encrypted and replayed; a failed call releases its key so the client may retry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import Response, make_response, request
from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from expertpool.accounts.access import current_token
from expertpool.accounts.models import IdempotentCall
from expertpool.core.db import utcnow
from expertpool.core.errors import Conflict, ValidationFailed
from expertpool.core.pii import PiiCipher
from expertpool.core.state import db, state

F = TypeVar("F", bound=Callable[..., Any])
HEADER = "Idempotency-Key"
MAX_KEY = 200
# How long a key is remembered (a token lives 12 hours by default; a retry comes within minutes).
KEEP = timedelta(hours=24)


@dataclass(frozen=True)
class Claim:
    """Either a fresh claim (`call_id`) or a stored answer to replay (`status`, `answer`)."""

    call_id: int
    status: int | None = None
    answer: str | None = None


def body_digest(raw: bytes) -> str:
    """The SHA-256 of a request body; JSON bodies are compared by content, not by spacing."""
    try:
        canonical = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = raw
    return hashlib.sha256(canonical).hexdigest()


def claim(
    session: Session,
    *,
    token_id: int,
    key: str,
    method: str,
    path: str,
    digest: str,
    cipher: PiiCipher,
) -> Claim:
    """Claim `key` for this call, or return the stored answer of the same call.

    Another body or operation under a used key is refused (422 `idempotency_key_reused`); a call
    still running under the key is refused (409 `idempotency_in_progress`).
    """
    session.execute(
        delete(IdempotentCall).where(
            IdempotentCall.token_id == token_id, IdempotentCall.created_at < utcnow() - KEEP
        )
    )
    row = session.execute(
        select(IdempotentCall).where(IdempotentCall.token_id == token_id, IdempotentCall.key == key)
    ).scalar_one_or_none()
    if row is None:
        row = IdempotentCall(
            token_id=token_id, key=key, method=method, path=path, body_sha256=digest
        )
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            raise _in_progress() from None
        return Claim(call_id=row.id)
    if (row.method, row.path, row.body_sha256) != (method, path, digest):
        raise ValidationFailed(
            _("This idempotency key was already used for another request."),
            fields={HEADER: _("Use a new key for a new request.")},
            code="idempotency_key_reused",
        )
    if row.status is None or row.answer_enc is None:
        raise _in_progress()
    answer = cipher.decrypt(
        row.answer_enc, table=IdempotentCall.__tablename__, row_id=row.id, column="answer"
    )
    return Claim(call_id=row.id, status=row.status, answer=answer)


def _in_progress() -> Conflict:
    return Conflict(
        _("A request with this idempotency key is still being processed; retry shortly."),
        code="idempotency_in_progress",
    )


def store(session: Session, *, call_id: int, status: int, answer: str, cipher: PiiCipher) -> None:
    """Keep the answer of a claimed call, encrypted (it may carry a one-time credential)."""
    row = session.get(IdempotentCall, call_id)
    if row is None:
        return
    row.status = status
    row.answer_enc = cipher.encrypt(
        answer, table=IdempotentCall.__tablename__, row_id=call_id, column="answer"
    )
    session.commit()


def release(session: Session, call_id: int) -> None:
    """Forget a claim whose call failed, so the client may retry with the same key."""
    session.rollback()
    session.execute(delete(IdempotentCall).where(IdempotentCall.id == call_id))
    session.commit()


def request_digest() -> str:
    """The digest of this request's content: JSON by content, forms by fields and file contents
    (a multipart body's boundary differs on every retry)."""
    if request.mimetype == "multipart/form-data":
        files = []
        for field, upload in sorted(request.files.items(multi=True), key=lambda kv: kv[0]):
            content = upload.stream.read()
            upload.stream.seek(0)
            files.append([field, upload.filename, hashlib.sha256(content).hexdigest()])
        form = sorted([k, v] for k, v in request.form.items(multi=True))
        return body_digest(json.dumps({"form": form, "files": files}).encode())
    return body_digest(request.get_data(cache=True))


def idempotent(view: F) -> F:
    """Honour `Idempotency-Key` on a creating call made with a bearer token."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        token = current_token()
        if key is None or token is None:
            return view(*args, **kwargs)
        if not key or len(key) > MAX_KEY:
            raise ValidationFailed(fields={HEADER: _("Use 1 to %(n)d characters.", n=MAX_KEY)})
        cipher = PiiCipher.from_keys(state().keys)
        session = db()
        found = claim(
            session,
            token_id=token.id,
            key=key,
            method=request.method,
            path=request.path,
            digest=request_digest(),
            cipher=cipher,
        )
        if found.status is not None and found.answer is not None:
            replay = Response(found.answer, status=found.status, mimetype="application/json")
            replay.headers["Idempotent-Replayed"] = "true"
            return replay
        try:
            response = make_response(view(*args, **kwargs))
        except BaseException:
            release(session, found.call_id)
            raise
        if 200 <= response.status_code < 300:
            store(
                session,
                call_id=found.call_id,
                status=response.status_code,
                answer=response.get_data(as_text=True),
                cipher=cipher,
            )
        else:
            release(session, found.call_id)
        return response

    return wrapper  # type: ignore[return-value]
