"""Append to and verify the hash-chained audit trail and its signed checkpoints."""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from draw import cjson
from expertpool.core.db import utcnow
from expertpool.core.models import AuditEntry, AuditHead

GENESIS = "0" * 64
PENDING_KEY = "audit_pending_heads"


def _entry_hash(
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    before: str,
    after: str,
    prev_hash: str,
) -> str:
    body = {
        "seq": seq,
        "at": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "before": before,
        "after": after,
        "prev_hash": prev_hash,
    }
    return cjson.digest(body)


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: Any,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction (the head row is locked until commit)."""
    head = session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
        session.flush()
    at = utcnow()
    seq = head.seq + 1
    before_s = cjson.dumps(before or {}).decode("utf-8")
    after_s = cjson.dumps(after or {}).decode("utf-8")
    digest = _entry_hash(
        seq, at, actor, action, object_type, str(object_id), before_s, after_s, head.hash
    )
    entry = AuditEntry(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=before_s,
        after=after_s,
        prev_hash=head.hash,
        hash=digest,
    )
    session.add(entry)
    head.seq = seq
    head.hash = digest
    session.flush()
    session.info.setdefault(PENDING_KEY, []).append((seq, digest))
    return entry


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Keep only the keys whose values changed."""
    keys = sorted(set(before) | set(after))
    changed = [k for k in keys if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in changed}, {k: after.get(k) for k in changed}


# Checkpoints -------------------------------------------------------------------


def _checkpoint_body(seq: int, digest: str, at: str) -> bytes:
    return cjson.dumps({"seq": seq, "hash": digest, "at": at})


def write_checkpoint(path: Path, key: Ed25519PrivateKey, seq: int, digest: str) -> None:
    """Append a signed statement of the chain head to the checkpoint file."""
    at = utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    sig = base64.b64encode(key.sign(_checkpoint_body(seq, digest, at))).decode("ascii")
    line = json.dumps({"seq": seq, "hash": digest, "at": at, "sig": sig}, sort_keys=True) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, line.encode("ascii"))
    finally:
        os.close(fd)


def flush_checkpoints(session: Session, path: Path, key: Ed25519PrivateKey) -> None:
    """After a commit, checkpoint the newest head this session wrote."""
    pending = session.info.pop(PENDING_KEY, None)
    if pending:
        seq, digest = max(pending)
        write_checkpoint(path, key, seq, digest)


def discard_checkpoints(session: Session) -> None:
    """After a rollback, forget heads that were never committed."""
    session.info.pop(PENDING_KEY, None)


@dataclass(frozen=True)
class Problem:
    """One inconsistency found by `verify`."""

    seq: int | None
    message: str

    def __str__(self) -> str:
        return f"entry {self.seq}: {self.message}" if self.seq is not None else self.message


def verify(session: Session, checkpoint_path: Path, key: Ed25519PrivateKey) -> list[Problem]:
    """Recompute the chain and compare it with the signed checkpoints; return every problem."""
    problems: list[Problem] = []
    prev = GENESIS
    expected_seq = 1
    hashes: dict[int, str] = {}
    for entry in session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars():
        if entry.seq != expected_seq:
            problems.append(
                Problem(
                    entry.seq,
                    f"sequence gap: expected {expected_seq} (entries deleted or inserted)",
                )
            )
        if entry.prev_hash != prev:
            problems.append(Problem(entry.seq, "does not link to the previous entry"))
        recomputed = _entry_hash(
            entry.seq,
            entry.at,
            entry.actor,
            entry.action,
            entry.object_type,
            entry.object_id,
            entry.before,
            entry.after,
            entry.prev_hash,
        )
        if recomputed != entry.hash:
            problems.append(Problem(entry.seq, "content does not match its hash (modified)"))
        hashes[entry.seq] = entry.hash
        prev = entry.hash
        expected_seq = entry.seq + 1
    last_seq = expected_seq - 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != last_seq or head.hash != prev):
        problems.append(Problem(None, f"chain head says {head.seq} but the log ends at {last_seq}"))
    public = key.public_key()
    covered = 0
    if checkpoint_path.exists():
        text = checkpoint_path.read_bytes().decode("ascii", errors="replace")
        for lineno, line in enumerate(text.splitlines(), 1):
            try:
                cp = json.loads(line)
                seq = cp["seq"]
                if not isinstance(seq, int) or isinstance(seq, bool):
                    raise TypeError("seq")
                public.verify(
                    base64.b64decode(cp["sig"], validate=True),
                    _checkpoint_body(seq, cp["hash"], cp["at"]),
                )
            except (ValueError, KeyError, TypeError, InvalidSignature):
                problems.append(
                    Problem(
                        None, f"checkpoint line {lineno} is unreadable or its signature is invalid"
                    )
                )
                continue
            covered = max(covered, seq)
            if seq not in hashes:
                problems.append(
                    Problem(
                        seq,
                        "a signed checkpoint names this entry but it is missing "
                        "(tail truncated or deleted)",
                    )
                )
            elif hashes[seq] != cp["hash"]:
                problems.append(Problem(seq, "differs from the signed checkpoint"))
    if last_seq > covered:
        # Every commit that appends writes a checkpoint, so entries past the newest one were added
        # behind the application's back (or the checkpoint file was removed or replaced).
        problems.append(
            Problem(
                None,
                f"entries {covered + 1} to {last_seq} are not covered by a signed checkpoint "
                "(appended outside the application, or checkpoints removed)",
            )
        )
    return problems
