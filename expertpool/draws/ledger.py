"""The draw ledger: an append-only, hash-chained record of commitments, sealed records and outcomes.

Payloads are stored exactly as given (the canonical JSON produced by `draw/`, or a document that is
serialised here with the same canonical JSON, `draw.cjson`), so signatures over them keep verifying.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from draw import cjson
from expertpool.core.audit import GENESIS, Problem
from expertpool.core.db import utcnow
from expertpool.core.errors import Conflict, ValidationFailed
from expertpool.core.texts import _l
from expertpool.draws.models import DrawLedgerEntry, DrawLedgerHead, LedgerKind

CLOSING = frozenset({LedgerKind.SEALED, LedgerKind.ABANDONED, LedgerKind.FAILED})


def entry_hash(
    *,
    seq: int,
    draw_id: str,
    project_id: int,
    request_id: int | None,
    kind: str,
    payload: str,
    signature: str | None,
    key_id: str | None,
    terminal_id: int | None,
    operator: str,
    supervisor: str | None,
    at: datetime,
    prev_hash: str,
) -> str:
    """SHA-256 over the canonical JSON of every field of an entry and the previous hash."""
    body = {
        "seq": seq,
        "draw_id": draw_id,
        "project_id": project_id,
        "request_id": request_id,
        "kind": kind,
        "payload": payload,
        "signature": signature,
        "key_id": key_id,
        "terminal_id": terminal_id,
        "operator": operator,
        "supervisor": supervisor,
        "at": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "prev_hash": prev_hash,
    }
    return cjson.digest(body)


def _payload_text(payload: str | Mapping[str, Any] | Sequence[Any]) -> str:
    if isinstance(payload, str):
        try:
            json.loads(payload)
        except json.JSONDecodeError:
            raise ValidationFailed(fields={"payload": "not JSON"}) from None
        return payload
    return cjson.dumps(payload).decode("utf-8")


def entries_for(session: Session, draw_id: str) -> list[DrawLedgerEntry]:
    """Every entry of one draw, oldest first."""
    return list(
        session.execute(
            select(DrawLedgerEntry)
            .where(DrawLedgerEntry.draw_id == draw_id)
            .order_by(DrawLedgerEntry.seq)
        ).scalars()
    )


def head_hash(session: Session) -> str:
    """The ledger head's hash, the head row locked until the caller's commit (the genesis hash
    while the ledger is empty)."""
    head = session.execute(
        select(DrawLedgerHead).where(DrawLedgerHead.id == 1).with_for_update()
    ).scalar_one_or_none()
    return head.hash if head is not None else GENESIS


def append_entry(
    session: Session,
    *,
    draw_id: str,
    project_id: int,
    kind: LedgerKind | str,
    payload: str | Mapping[str, Any] | Sequence[Any],
    operator: str,
    terminal_id: int | None = None,
    supervisor: str | None = None,
    signature: str | None = None,
    key_id: str | None = None,
    request_id: int | None = None,
) -> DrawLedgerEntry:
    """Append one entry inside the caller's transaction (the head row stays locked until commit).

    A draw starts with exactly one `commit`; then at most one of `sealed`, `abandoned` or
    `failed`; `opened` only after `sealed`. Anything else is a `Conflict`.
    """
    kind = LedgerKind(kind)
    if not draw_id or len(draw_id) > 64:
        raise ValidationFailed(fields={"draw_id": "1 to 64 characters"})
    text = _payload_text(payload)
    head = session.execute(
        select(DrawLedgerHead).where(DrawLedgerHead.id == 1).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        head = DrawLedgerHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
        session.flush()
    kinds = {e.kind for e in entries_for(session, draw_id)}
    if kind in (LedgerKind.REFUSED, LedgerKind.PICK) and kinds:
        raise Conflict(str(_l("This draw is already recorded.")), code="draw_recorded")
    if kind is LedgerKind.COMMIT and kinds:
        raise Conflict(
            str(_l("This commitment has already been used; a commitment serves one draw.")),
            code="commitment_reused",
        )
    if kind in CLOSING:
        if LedgerKind.COMMIT not in kinds:
            raise Conflict(
                str(_l("No commitment has been recorded for this draw.")), code="no_commitment"
            )
        if kinds & CLOSING:
            raise Conflict(str(_l("This draw is already closed.")), code="draw_closed")
    if kind is LedgerKind.OPENED and (LedgerKind.SEALED not in kinds or LedgerKind.OPENED in kinds):
        raise Conflict(str(_l("Only a sealed draw can be opened, once.")), code="not_sealed")
    at = utcnow()
    seq = head.seq + 1
    digest = entry_hash(
        seq=seq,
        draw_id=draw_id,
        project_id=project_id,
        request_id=request_id,
        kind=kind.value,
        payload=text,
        signature=signature,
        key_id=key_id,
        terminal_id=terminal_id,
        operator=operator,
        supervisor=supervisor,
        at=at,
        prev_hash=head.hash,
    )
    entry = DrawLedgerEntry(
        seq=seq,
        draw_id=draw_id,
        project_id=project_id,
        request_id=request_id,
        kind=kind,
        payload=text,
        signature=signature,
        key_id=key_id,
        terminal_id=terminal_id,
        operator=operator,
        supervisor=supervisor,
        at=at,
        prev_hash=head.hash,
        hash=digest,
    )
    try:
        with session.begin_nested():
            session.add(entry)
            session.flush()
    except IntegrityError:
        raise Conflict(
            str(_l("This commitment has already been used; a commitment serves one draw.")),
            code="commitment_reused",
        ) from None
    head.seq = seq
    head.hash = digest
    session.flush()
    return entry


def verify_ledger(session: Session) -> list[Problem]:
    """Recompute the chain; return every gap, broken link or modified entry (empty when intact)."""
    problems: list[Problem] = []
    prev = GENESIS
    expected = 1
    for e in session.execute(select(DrawLedgerEntry).order_by(DrawLedgerEntry.seq)).scalars():
        if e.seq != expected:
            problems.append(
                Problem(e.seq, f"sequence gap: expected {expected} (entries deleted or inserted)")
            )
        if e.prev_hash != prev:
            problems.append(Problem(e.seq, "does not link to the previous entry"))
        recomputed = entry_hash(
            seq=e.seq,
            draw_id=e.draw_id,
            project_id=e.project_id,
            request_id=e.request_id,
            kind=e.kind.value,
            payload=e.payload,
            signature=e.signature,
            key_id=e.key_id,
            terminal_id=e.terminal_id,
            operator=e.operator,
            supervisor=e.supervisor,
            at=e.at,
            prev_hash=e.prev_hash,
        )
        if recomputed != e.hash:
            problems.append(Problem(e.seq, "content does not match its hash (modified)"))
        prev = e.hash
        expected = e.seq + 1
    head = session.get(DrawLedgerHead, 1)
    last = expected - 1
    if head is not None and (head.seq != last or head.hash != prev):
        problems.append(Problem(None, f"ledger head says {head.seq} but the ledger ends at {last}"))
    if head is None and last:
        problems.append(Problem(None, "entries exist but the ledger head is missing"))
    return problems
