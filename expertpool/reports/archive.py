"""Issuing the signed report at sign-off, archiving it, and reading it as the visibility table
allows.

:func:`issue_report` runs inside the transaction that archives the room (the room store calls
the :class:`ReportIssuer` it was handed at start-up), so a session is archived exactly when its
signed report exists: it builds the named PDF from the body the members signed, has the
centre's signer sign it, stores it sealed (AES-GCM under a key derived from the sealing key
file, bound to the room id) and appends its SHA-256 to the draw ledger (kind ``report``).

:func:`may_read` is the closed column of the visibility table (docs/sealing.md) for a document
that names the committee: from sign-off the tenderer's (or its agency's) contact, the project's
trading system (a machine client of the owning centre) and the session's supervisors; after the
close also the session's participants, the owning centre's staff and administrators. Everyone
else is answered "not found", as for a report that does not exist. Every reading is audited.
"""

from __future__ import annotations

import base64
import hashlib
import os
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from evaluation_room.adapters import SystemClock
from evaluation_room.room import EvaluationRoom
from expertpool.accounts.models import User, UserRole
from expertpool.core import audit
from expertpool.core.db import utcnow
from expertpool.core.errors import NotFound
from expertpool.core.keys import KeyStore
from expertpool.draws import ledger as draw_ledger
from expertpool.draws.models import LedgerKind
from expertpool.events import events
from expertpool.organisations import directory
from expertpool.projects import projects as project_service
from expertpool.projects.models import Project
from expertpool.reports.document import context_from_state, render_named_pdf
from expertpool.reports.models import EvaluationReport
from expertpool.reports.signing import ReportSigner
from expertpool.rooms.models import EvaluationSession, RoomVacancy
from expertpool.rooms.sessions import participant_of

NONCE = 12
SIGNING_REASON = "评标报告：评标委员会全体成员已签署"


def _key(keys: KeyStore) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"expertpool signed report v1"
    ).derive(keys.sealing_key())


def seal_pdf(keys: KeyStore, room_id: str, pdf: bytes) -> bytes:
    """The stored form of a report PDF (nonce and AES-GCM box, bound to the room id)."""
    nonce = os.urandom(NONCE)
    return nonce + AESGCM(_key(keys)).encrypt(nonce, pdf, room_id.encode("ascii"))


def open_pdf(keys: KeyStore, room_id: str, stored: bytes) -> bytes:
    """The PDF of a stored report."""
    return AESGCM(_key(keys)).decrypt(stored[:NONCE], stored[NONCE:], room_id.encode("ascii"))


def ledger_id(room_id: str) -> str:
    """The report's id in the draw ledger."""
    return f"report:{room_id}"


def build_signed_pdf(
    session: Session,
    row: EvaluationSession,
    state: dict[str, Any],
    *,
    signer: ReportSigner,
    now: datetime,
) -> tuple[bytes, dict[str, Any]]:
    """The named report of a signed-off session, signed; with the final report it came from.

    The demo calls this too (through :func:`issue_report`), so its past session carries a report
    built the same way as a live one.
    """
    report = EvaluationRoom.from_state(state, SystemClock()).final_report()
    project = session.get(Project, row.project_id) if row.project_id is not None else None
    reasons = {
        v.participant_id: v.reason
        for v in session.execute(
            select(RoomVacancy).where(RoomVacancy.session_id == row.id)
        ).scalars()
    }
    info = {"lot": str(state.get("project", {}).get("lot", ""))}
    if project is not None:
        info |= {
            "name": project.name,
            "code": project.code,
            "tenderer": project.tenderer_name,
            "centre": project.owner_centre.name if project.owner_centre else "",
        }
    ctx = context_from_state(state, project=info, vacancy_reasons=reasons)
    pdf = render_named_pdf(report, ctx, built_at=now)
    location = ctx.centre or "广东省"
    return signer.sign(pdf, reason=SIGNING_REASON, location=location), report


def issue_report(
    session: Session,
    *,
    room_id: str,
    state: dict[str, Any],
    keys: KeyStore,
    signer: ReportSigner,
    now: datetime | None = None,
) -> EvaluationReport:
    """Build, sign and archive the report of a session that was just signed off; the caller
    commits (the room store does, with the room's archived state)."""
    row = session.execute(
        select(EvaluationSession).where(EvaluationSession.room_id == room_id)
    ).scalar_one()
    # The report is dated by the room's own clock at the sign-off (a replayed session keeps its
    # time); the archive's row and the ledger entry are dated when written.
    if now is None:
        at = state.get("updated_at")
        now = datetime.fromisoformat(at) if isinstance(at, str) else utcnow()
    signed, report = build_signed_pdf(session, row, state, signer=signer, now=now)
    digest = hashlib.sha256(signed).hexdigest()
    cert = signer.certificate_sha256()
    seq = None
    if row.project_id is not None:
        entry = draw_ledger.append_entry(
            session,
            draw_id=ledger_id(room_id),
            project_id=row.project_id,
            kind=LedgerKind.REPORT,
            payload={
                "room_id": room_id,
                "pdf_sha256": digest,
                "final_report_digest": report["report_digest"],
                "signer": signer.name,
                "certificate_sha256": cert,
            },
            operator="system",
        )
        seq = entry.seq
    archived = EvaluationReport(
        session_id=row.id,
        room_id=room_id,
        project_id=row.project_id,
        pdf_sealed=seal_pdf(keys, room_id, signed),
        pdf_sha256=digest,
        final_report_digest=report["report_digest"],
        signer=signer.name,
        certificate_sha256=cert,
        ledger_seq=seq,
        signed_at=now,
    )
    session.add(archived)
    audit.record(
        session,
        actor="system",
        action="report.issued",
        object_type="evaluation_session",
        object_id=room_id,
        after={
            "pdf_sha256": digest,
            "final_report_digest": report["report_digest"],
            "certificate_sha256": cert,
            "ledger_seq": seq,
        },
    )
    project = session.get(Project, row.project_id) if row.project_id is not None else None
    if project is not None:
        # The session closed with the committee's sign-off, and its report is signed: ids only.
        base = {"project_id": project.id, "room_id": room_id}
        events.emit(
            session,
            centre_id=project.owner_centre_id,
            event_type="session.closed",
            data={**base, "phase": str(state.get("phase", "archived"))},
            now=now,
        )
        events.emit(
            session,
            centre_id=project.owner_centre_id,
            event_type="report.signed",
            data={**base, "pdf_sha256": digest, "ledger_seq": seq},
            now=now,
        )
    session.flush()
    return archived


class ReportIssuer:
    """What the room store calls when a session is signed off (its `on_archived`)."""

    def __init__(self, keys: KeyStore, signer: ReportSigner) -> None:
        self.keys = keys
        self.signer = signer

    def __call__(self, session: Session, state: dict[str, Any]) -> None:
        """Issue the report of ``state``'s room in the open transaction."""
        issue_report(
            session, room_id=str(state["room_id"]), state=state, keys=self.keys, signer=self.signer
        )


def report_of(session: Session, room_id: str) -> EvaluationReport | None:
    """The archived report of a session, if it was signed off."""
    return session.execute(
        select(EvaluationReport).where(EvaluationReport.room_id == room_id)
    ).scalar_one_or_none()


def may_read(
    session: Session, user: User, row: EvaluationSession, *, is_machine: bool, keys: KeyStore
) -> bool:
    """Whether ``user`` may read the named report of ``row`` now (see the module's rules)."""
    project = session.get(Project, row.project_id) if row.project_id is not None else None
    if project is not None:
        if is_machine:
            # The project's trading system: a client token of the owning centre's staff.
            return user.role is UserRole.CENTRE_STAFF and user.centre_id == project.owner_centre_id
        if directory.role_on(directory.organisation_of(session, user), project) is not None:
            return True
        if project_service.supervises(session, user, project):
            return True
    elif is_machine:
        return False
    seat = participant_of(row, user, keys)
    if user.role is UserRole.SUPERVISOR and seat is not None:
        return True
    if project is None or not project.status.is_closed:
        return False
    if seat is not None or user.role is UserRole.ADMIN:
        return True
    return user.role is UserRole.CENTRE_STAFF and user.centre_id == project.owner_centre_id


def read_report(
    session: Session,
    *,
    room_id: str,
    user: User,
    is_machine: bool,
    keys: KeyStore,
    via: str,
) -> tuple[EvaluationReport, bytes]:
    """The archived report and its PDF for a reader the table allows (else NotFound); the
    reading is recorded in the audit trail. Commits."""
    row = session.execute(
        select(EvaluationSession).where(EvaluationSession.room_id == room_id)
    ).scalar_one_or_none()
    archived = report_of(session, room_id) if row is not None else None
    if (
        row is None
        or archived is None
        or not may_read(session, user, row, is_machine=is_machine, keys=keys)
    ):
        raise NotFound()
    pdf = open_pdf(keys, room_id, archived.pdf_sealed)
    try:
        audit.record(
            session,
            actor=user.username,
            action="report.read",
            object_type="evaluation_session",
            object_id=room_id,
            after={"pdf_sha256": archived.pdf_sha256, "via": via},
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return archived, pdf


def pdf_base64(pdf: bytes) -> str:
    """The PDF for a JSON answer."""
    return base64.b64encode(pdf).decode("ascii")
