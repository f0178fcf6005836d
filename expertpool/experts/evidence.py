"""Evidence files of an application: checking an upload, storing its bytes, finding them again.

The bytes live outside the database, encrypted, under their SHA-256 (`core.files`: stored once
however often attached); the database keeps one `EvidenceFile` row per attachment.
"""

from __future__ import annotations

from pathlib import Path

import filetype
from sqlalchemy.orm import Session

from expertpool.accounts.models import User
from expertpool.core import audit
from expertpool.core.config import Config
from expertpool.core.errors import NotFound, ValidationFailed
from expertpool.core.files import FileStore
from expertpool.core.texts import translated
from expertpool.experts import records
from expertpool.experts.models import EvidenceFile

EVIDENCE_TYPES = {"application/pdf": ("pdf",), "image/jpeg": ("jpg", "jpeg"), "image/png": ("png",)}
"""Accepted MIME types (sniffed from the content) and the file name endings each may have."""


def _refused(message: str) -> ValidationFailed:
    return ValidationFailed(fields={"evidence": message})


def sniff_evidence(filename: str, data: bytes, max_bytes: int) -> str:
    """The MIME type of an acceptable evidence file, sniffed from its content; raises otherwise."""
    if not data:
        raise _refused(str(translated("The file is empty.")))
    if len(data) > max_bytes:
        raise _refused(
            str(translated("The file is larger than %(n)d MB.", n=max_bytes // (1024 * 1024)))
        )
    kind = filetype.guess(data)
    mime = kind.mime if kind else ""
    if mime not in EVIDENCE_TYPES:
        raise _refused(str(translated("Only PDF, JPEG and PNG files are accepted.")))
    ext = Path(filename or "").suffix.lower().lstrip(".")
    if ext and ext not in EVIDENCE_TYPES[mime]:
        raise _refused(str(translated("The file's content does not match its name.")))
    return mime


def add_evidence(
    session: Session,
    *,
    config: Config,
    files: FileStore,
    actor: User,
    expert_id: int,
    filename: str,
    data: bytes,
) -> EvidenceFile:
    """Store an evidence file (encrypted, outside the database, under its SHA-256) and attach it;
    commits."""
    expert = records.get_expert(session, expert_id)
    records.check_editable(expert, actor)
    mime = sniff_evidence(filename, data, config.evidence_max_bytes)
    digest = files.put(data)
    name = Path(filename or "evidence").name[:255]
    row = EvidenceFile(sha256=digest, original_name=name, mime=mime, size=len(data))
    expert.evidence.append(row)
    session.flush()
    audit.record(
        session,
        actor=actor.username,
        action="expert.evidence",
        object_type="expert",
        object_id=expert.id,
        after={"sha256": digest, "name": name, "mime": mime, "size": len(data)},
    )
    session.commit()
    return row


def evidence_bytes(files: FileStore, row: EvidenceFile) -> bytes:
    """An evidence file's content, decrypted (`NotFound` when its bytes are missing)."""
    return files.get(row.sha256)


def remove_evidence(session: Session, *, actor: User, evidence_id: int) -> None:
    """Detach an evidence file from a draft (the bytes stay: versions may cite them); commits."""
    row = session.get(EvidenceFile, evidence_id)
    if row is None:
        raise NotFound()
    expert = records.get_expert(session, row.expert_id)
    records.check_editable(expert, actor)
    audit.record(
        session,
        actor=actor.username,
        action="expert.evidence_remove",
        object_type="expert",
        object_id=row.expert_id,
        before={"sha256": row.sha256, "name": row.original_name},
    )
    expert.evidence.remove(row)
    session.commit()
