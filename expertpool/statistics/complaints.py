"""The supervision channel's complaints (投诉): recorded by a supervisor of the project's
department from a written complaint, then investigated and decided, each step audited.

A complaint concerns a project and names its complainant (a bidder or the tenderer); it never
names an expert, and nothing in it depends on who was drawn, so recording or reading one tells
nothing about a sealed panel. A decision may lead to a sanction, taken through the experts'
lifecycle (the status change a supervisor makes), never automatically.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.accounts.models import User, UserRole
from expertpool.core import audit
from expertpool.core.errors import Forbidden, NotFound, TransitionRefused, ValidationFailed
from expertpool.core.files import FileStore
from expertpool.core.texts import _l
from expertpool.experts.evidence import sniff_evidence
from expertpool.projects.models import Project
from expertpool.projects.projects import supervises, visible_projects
from expertpool.statistics.models import (
    ComplainantKind,
    Complaint,
    ComplaintAttachment,
    ComplaintStatus,
)

LABELS = {
    "received": _l("Received"),
    "investigating": _l("Investigating"),
    "decided": _l("Decided"),
    "bidder": _l("Bidder"),
    "tenderer": _l("Tenderer"),
}
NEXT = {
    ComplaintStatus.RECEIVED: ComplaintStatus.INVESTIGATING,
    ComplaintStatus.INVESTIGATING: ComplaintStatus.DECIDED,
}


def _project_of_code(session: Session, user: User, code: str) -> Project:
    project = session.execute(
        select(Project).where(Project.code == code.strip())
    ).scalar_one_or_none()
    if project is None or not supervises(session, user, project):
        # the same answer for a project that does not exist and one of another department
        raise ValidationFailed(
            fields={"project_code": _("No project of your department has this code.")}
        )
    return project


def record_complaint(
    session: Session,
    user: User,
    *,
    project_code: str,
    complainant_kind: str,
    complainant_name: str,
    received_on: str,
    summary: str,
    now: datetime,
) -> Complaint:
    """Record a written complaint received about a project the supervisor supervises."""
    if user.role is not UserRole.SUPERVISOR:
        raise Forbidden()
    errors: dict[str, str] = {}
    try:
        kind = ComplainantKind(complainant_kind)
    except ValueError:
        errors["complainant_kind"] = _("Choose who complained.")
    name = complainant_name.strip()
    if not name or len(name) > 200:
        errors["complainant_name"] = _("Give the complainant's name (at most 200 characters).")
    try:
        received = date.fromisoformat(received_on.strip())
        if received > now.date():
            errors["received_on"] = _("The date received cannot be in the future.")
    except ValueError:
        errors["received_on"] = _("Give the date received as YYYY-MM-DD.")
    text = summary.strip()
    if not text or len(text) > 5000:
        errors["summary"] = _("Summarise the complaint (at most 5000 characters).")
    project = None
    try:
        project = _project_of_code(session, user, project_code)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors or project is None:
        raise ValidationFailed(fields=errors)
    complaint = Complaint(
        project_id=project.id,
        complainant_kind=kind,
        complainant_name=name,
        received_on=received,
        summary=text,
        recorded_by=user.username,
    )
    session.add(complaint)
    session.flush()
    audit.record(
        session,
        actor=user.username,
        action="complaint.received",
        object_type="complaint",
        object_id=complaint.id,
        after={"project": project.code, "complainant_kind": kind.value},
    )
    session.commit()
    return complaint


def visible_complaints(session: Session, user: User) -> list[Complaint]:
    """The complaints about projects the supervisor's department supervises, newest first."""
    if user.role is not UserRole.SUPERVISOR:
        return []
    ids = [p.id for p in visible_projects(session, user)]
    if not ids:
        return []
    return list(
        session.execute(
            select(Complaint)
            .where(Complaint.project_id.in_(ids))
            .order_by(Complaint.received_on.desc(), Complaint.id.desc())
        ).scalars()
    )


def get_complaint(session: Session, user: User, complaint_id: int) -> Complaint:
    """A complaint the supervisor may read; others get "not found", as for none."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None or not supervises(session, user, complaint.project):
        raise NotFound(_("No such complaint."), code="complaint_not_found")
    return complaint


def advance_complaint(
    session: Session, user: User, complaint_id: int, *, decision: str = "", now: datetime
) -> Complaint:
    """Move a complaint one step on: received to investigating, investigating to decided (with
    the decision in writing)."""
    complaint = get_complaint(session, user, complaint_id)
    following = NEXT.get(complaint.status)
    if following is None:
        raise TransitionRefused(_("This complaint is already decided."))
    text = decision.strip()
    if following is ComplaintStatus.DECIDED:
        if not text or len(text) > 5000:
            raise ValidationFailed(
                fields={"decision": _("Write the decision (at most 5000 characters).")}
            )
        complaint.decision = text
        complaint.decided_by = user.username
        complaint.decided_at = now
    before = complaint.status
    complaint.status = following
    audit.record(
        session,
        actor=user.username,
        action=f"complaint.{following.value}",
        object_type="complaint",
        object_id=complaint.id,
        before={"status": before.value},
        after={"status": following.value},
    )
    session.commit()
    return complaint


def add_attachment(
    session: Session,
    user: User,
    complaint_id: int,
    *,
    files: FileStore,
    filename: str,
    data: bytes,
    max_bytes: int,
) -> ComplaintAttachment:
    """Attach a document (PDF, JPEG or PNG, sniffed from its content) to a complaint the
    supervisor may read and that is not yet decided; the bytes go encrypted to the file store.
    Audited; commits."""
    complaint = get_complaint(session, user, complaint_id)
    if complaint.status is ComplaintStatus.DECIDED:
        raise TransitionRefused(_("This complaint is already decided."))
    try:
        mime = sniff_evidence(filename, data, max_bytes)
    except ValidationFailed as exc:
        raise ValidationFailed(fields={"attachment": exc.fields["evidence"]}) from None
    digest = files.put(data)
    name = Path(filename or "attachment").name[:255] or "attachment"
    row = ComplaintAttachment(
        complaint_id=complaint.id,
        sha256=digest,
        original_name=name,
        mime=mime,
        size=len(data),
        added_by=user.username,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=user.username,
        action="complaint.attachment",
        object_type="complaint",
        object_id=complaint.id,
        after={"sha256": digest, "name": name, "mime": mime, "size": len(data)},
    )
    session.commit()
    return row


def attachment(
    session: Session, user: User, complaint_id: int, attachment_id: int
) -> ComplaintAttachment:
    """An attachment of a complaint the supervisor may read ("not found" otherwise)."""
    complaint = get_complaint(session, user, complaint_id)
    row = session.get(ComplaintAttachment, attachment_id)
    if row is None or row.complaint_id != complaint.id:
        raise NotFound(_("No such attachment."), code="attachment_not_found")
    return row
