"""The tenderer's representatives on a project's committee, named by its tenderer or agency.

They are named before the evaluation and count toward the committee's size and shares; the
room seats them at the opening. Their ID numbers and mobiles are encrypted at rest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from expertpool.accounts.models import User, UserRole
from expertpool.accounts.users import NO_PASSWORD
from expertpool.core import audit
from expertpool.core.errors import Conflict, NotFound, ValidationFailed
from expertpool.core.pii import PiiCipher
from expertpool.core.texts import _l
from expertpool.experts.identity import (
    InvalidIdentifier,
    check_id_number,
    check_mobile,
    mask_id_number,
    mask_phone,
)
from expertpool.organisations.directory import require_contact_of
from expertpool.organisations.models import TendererRepresentative
from expertpool.projects.models import Project, ProjectStatus

TABLE = "tenderer_representative"
NAMING_OPEN = (ProjectStatus.DRAFT, ProjectStatus.READY, ProjectStatus.DRAWN)


@dataclass(frozen=True)
class RepresentativeView:
    """A representative as the naming contact sees them (ID number and mobile masked)."""

    id: int
    name: str
    organisation_name: str
    id_number: str
    phone: str
    named_by: str


def _refuse_when_closed(project: Project) -> None:
    if project.status not in NAMING_OPEN:
        raise Conflict(
            str(_l("Representatives are named before the evaluation starts.")),
            code="naming_closed",
        )


def name_representative(
    session: Session,
    *,
    actor: User,
    project: Project,
    name: str,
    organisation_name: str,
    id_number: str,
    phone: str,
    cipher: PiiCipher,
    today: date,
) -> TendererRepresentative:
    """Name one representative, all or nothing; at most the number the project provides for."""
    require_contact_of(session, actor, project)
    _refuse_when_closed(project)
    fields: dict[str, str] = {}
    if not name.strip():
        fields["name"] = str(_l("Required."))
    if not organisation_name.strip():
        fields["organisation_name"] = str(_l("Required."))
    try:
        id_value, _birth = check_id_number(id_number, today)
    except InvalidIdentifier as exc:
        fields["id_number"] = str(exc)
    try:
        phone_value = check_mobile(phone)
    except InvalidIdentifier as exc:
        fields["phone"] = str(exc)
    if fields:
        raise ValidationFailed(fields=fields)
    named = session.execute(
        select(func.count())
        .select_from(TendererRepresentative)
        .where(TendererRepresentative.project_id == project.id)
    ).scalar_one()
    if named >= project.tenderer_representatives:
        raise ValidationFailed(
            fields={
                "name": str(
                    _l(
                        "The project provides for %(n)d representatives; all are named.",
                        n=project.tenderer_representatives,
                    )
                )
            }
        )
    rep = TendererRepresentative(
        project_id=project.id,
        name=name.strip(),
        organisation_name=organisation_name.strip(),
        id_number_encrypted=b"",
        phone_encrypted=b"",
        named_by=actor.username,
    )
    session.add(rep)
    session.flush()
    rep.id_number_encrypted = cipher.encrypt(
        id_value, table=TABLE, row_id=rep.id, column="id_number"
    )
    rep.phone_encrypted = cipher.encrypt(phone_value, table=TABLE, row_id=rep.id, column="phone")
    audit.record(
        session,
        actor=actor.username,
        action="representative.name",
        object_type="project",
        object_id=project.id,
        after={"representative": rep.id, "name": rep.name},
    )
    session.commit()
    return rep


def remove_representative(session: Session, *, actor: User, project: Project, rep_id: int) -> None:
    """Withdraw a named representative before the evaluation starts."""
    require_contact_of(session, actor, project)
    _refuse_when_closed(project)
    rep = session.get(TendererRepresentative, rep_id)
    if rep is None or rep.project_id != project.id:
        raise NotFound()
    audit.record(
        session,
        actor=actor.username,
        action="representative.remove",
        object_type="project",
        object_id=project.id,
        before={"representative": rep.id, "name": rep.name},
    )
    session.delete(rep)
    session.commit()


def representatives(
    session: Session, project_id: int, cipher: PiiCipher
) -> list[RepresentativeView]:
    """The project's named representatives, masked."""
    rows = session.execute(
        select(TendererRepresentative)
        .where(TendererRepresentative.project_id == project_id)
        .order_by(TendererRepresentative.id)
    ).scalars()
    return [
        RepresentativeView(
            id=r.id,
            name=r.name,
            organisation_name=r.organisation_name,
            id_number=mask_id_number(
                cipher.decrypt(r.id_number_encrypted, table=TABLE, row_id=r.id, column="id_number")
            ),
            phone=mask_phone(
                cipher.decrypt(r.phone_encrypted, table=TABLE, row_id=r.id, column="phone")
            ),
            named_by=r.named_by,
        )
        for r in rows
    ]


@dataclass(frozen=True)
class SeatedRepresentative:
    """A named representative with their login account and mobile, for seating at the opening."""

    user: User
    phone: str


def seat_representatives(
    session: Session, project: Project, cipher: PiiCipher
) -> list[SeatedRepresentative]:
    """The project's named representatives, each with a login account (made now, without a
    usable password, when they have none) and their mobile for check-in codes. The caller
    commits."""
    out = []
    for rep in session.execute(
        select(TendererRepresentative)
        .where(TendererRepresentative.project_id == project.id)
        .order_by(TendererRepresentative.id)
    ).scalars():
        user = session.get(User, rep.user_id) if rep.user_id is not None else None
        if user is None:
            user = User(
                username=f"rep{rep.id}",
                display_name=rep.name,
                password_hash=NO_PASSWORD,
                role=UserRole.REPRESENTATIVE,
            )
            session.add(user)
            session.flush()
            rep.user_id = user.id
        phone = cipher.decrypt(rep.phone_encrypted, table=TABLE, row_id=rep.id, column="phone")
        out.append(SeatedRepresentative(user, phone))
    return out
