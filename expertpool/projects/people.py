"""People recorded on a project for the conflict rules, by ID number only: bidders' principal
officers (matched against experts' declared relatives) and whoever worked on the project's
planning or design (matched against the experts themselves). Recorded until the draw.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.core import audit
from expertpool.core.db import utcnow
from expertpool.core.errors import ValidationFailed
from expertpool.core.pii import PiiCipher
from expertpool.core.texts import translated
from expertpool.experts import identity
from expertpool.projects.models import (
    PRINCIPAL_ROLES,
    Bidder,
    PersonRole,
    ProjectPerson,
    ProjectStatus,
)
from expertpool.projects.projects import get_project

EDITABLE = (ProjectStatus.DRAFT, ProjectStatus.READY)


def record_person(
    session: Session,
    *,
    cipher: PiiCipher,
    actor: str,
    project_id: int,
    role: Any,
    id_number: Any,
    bidder_id: int | None = None,
    today: date | None = None,
) -> ProjectPerson:
    """Record a principal officer of one of the project's bidders, or a planner or designer of
    the project; field errors for bad input; audited without the ID number; commits.
    """
    project = get_project(session, project_id)
    fields: dict[str, str] = {}
    if project.status not in EDITABLE:
        fields["project"] = str(translated("People are recorded only until the draw."))
    try:
        person_role = PersonRole(role)
    except ValueError:
        fields["role"] = str(translated("Choose one of the listed roles."))
        person_role = None
    value = ""
    try:
        value, _ = identity.check_id_number(str(id_number or ""), today or utcnow().date())
    except identity.InvalidIdentifier as exc:
        fields["id_number"] = str(exc)
    bidder = session.get(Bidder, bidder_id) if bidder_id is not None else None
    if person_role in PRINCIPAL_ROLES and (bidder is None or bidder.project_id != project.id):
        fields["bidder"] = str(translated("Choose one of the project's bidders."))
    if person_role is not None and person_role not in PRINCIPAL_ROLES:
        bidder = None
    if fields:
        raise ValidationFailed(fields=fields)
    assert person_role is not None
    bidx = cipher.blind_index(value, "id_number")
    existing = session.execute(
        select(ProjectPerson).where(
            ProjectPerson.project_id == project.id,
            ProjectPerson.role == person_role,
            ProjectPerson.id_number_bidx == bidx,
            ProjectPerson.bidder_id == (bidder.id if bidder else None),
        )
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    row = ProjectPerson(
        project_id=project.id,
        bidder_id=bidder.id if bidder else None,
        role=person_role,
        id_number_bidx=bidx,
        recorded_by=actor[:64],
    )
    session.add(row)
    session.flush()
    row.id_number_enc = cipher.encrypt(
        value, table="project_person", row_id=row.id, column="id_number"
    )
    audit.record(
        session,
        actor=actor,
        action="project.person",
        object_type="project",
        object_id=project.id,
        after={"role": person_role.value, "bidder": bidder.id if bidder else None},
    )
    session.commit()
    return row


def people_of(session: Session, project_id: int) -> list[ProjectPerson]:
    """The people recorded on a project (ID numbers stay encrypted)."""
    return list(
        session.execute(
            select(ProjectPerson)
            .where(ProjectPerson.project_id == project_id)
            .order_by(ProjectPerson.id)
        ).scalars()
    )
