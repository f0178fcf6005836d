"""Organisations and their contacts: who acts for which tenderer or agency, and on which projects.

What a contact sees follows the visibility table: their projects' status before and after the
opening (never a member), and the report after the close (it comes with the report's issue)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from expertpool.accounts import users
from expertpool.accounts.models import User, UserRole
from expertpool.core import audit
from expertpool.core.errors import Forbidden, NotFound, ValidationFailed
from expertpool.core.texts import _l
from expertpool.experts.identity import InvalidIdentifier, check_credit_code
from expertpool.organisations.models import Organisation, OrganisationContact, OrganisationName
from expertpool.projects.models import Project


def _view(org: Organisation) -> dict[str, Any]:
    return {
        "credit_code": org.credit_code,
        "name": org.name,
        "other_names": [n.name for n in org.names],
        "tenderer": org.is_tenderer,
        "agency": org.is_agency,
        "employer": org.is_employer,
    }


def save_organisation(
    session: Session,
    *,
    actor: str,
    credit_code: str,
    name: str,
    other_names: Iterable[str] = (),
    is_tenderer: bool = False,
    is_agency: bool = False,
    is_employer: bool = False,
) -> Organisation:
    """Create an organisation or update the one with this credit code, all or nothing."""
    fields: dict[str, str] = {}
    try:
        code = check_credit_code(credit_code)
    except InvalidIdentifier as exc:
        fields["credit_code"] = str(exc)
        code = ""
    if not name.strip():
        fields["name"] = str(_l("Required."))
    if not (is_tenderer or is_agency or is_employer):
        fields["kinds"] = str(_l("Say whether it is a tenderer, an agency or an employer."))
    if fields:
        raise ValidationFailed(fields=fields)
    org = session.execute(
        select(Organisation).where(Organisation.credit_code == code)
    ).scalar_one_or_none()
    before = _view(org) if org else {}
    if org is None:
        org = Organisation(credit_code=code, name=name.strip())
        session.add(org)
    org.name = name.strip()
    org.is_tenderer, org.is_agency, org.is_employer = is_tenderer, is_agency, is_employer
    wanted = [n.strip() for n in other_names if n.strip() and n.strip() != org.name]
    org.names = [n for n in org.names if n.name in wanted]
    have = {n.name for n in org.names}
    for extra in dict.fromkeys(wanted):
        if extra not in have:
            org.names.append(OrganisationName(name=extra))
    session.flush()
    b, a = audit.diff(before, _view(org))
    if a:
        audit.record(
            session,
            actor=actor,
            action="organisation.save",
            object_type="organisation",
            object_id=org.id,
            before=b,
            after=a,
        )
    session.commit()
    return org


def set_contact(
    session: Session, *, actor: str, username: str, organisation_id: int | None
) -> User:
    """Make an account a contact of an organisation (None removes it)."""
    user = users.account_for_group(
        session,
        username,
        (UserRole.ORG_CONTACT,),
        str(_l("Only tenderer or agency contact accounts act for one.")),
    )
    link = session.get(OrganisationContact, user.id)
    before = {"organisation": link.organisation.credit_code if link else None}
    if organisation_id is None:
        if link is not None:
            session.delete(link)
        after: dict[str, Any] = {"organisation": None}
    else:
        org = session.get(Organisation, organisation_id)
        if org is None:
            raise NotFound()
        if link is None:
            session.add(OrganisationContact(user_id=user.id, organisation_id=org.id))
        else:
            link.organisation_id = org.id
        after = {"organisation": org.credit_code}
    if before != after:
        audit.record(
            session,
            actor=actor,
            action="organisation.contact",
            object_type="user",
            object_id=user.id,
            before=before,
            after=after,
        )
    session.commit()
    return user


def organisation_of(session: Session, user: User) -> Organisation | None:
    """The organisation a contact acts for."""
    if user.role is not UserRole.ORG_CONTACT:
        return None
    link = session.get(OrganisationContact, user.id)
    return link.organisation if link else None


def contacts(session: Session, organisation_id: int) -> list[User]:
    """The contact accounts of an organisation."""
    return list(
        session.execute(
            select(User)
            .join(OrganisationContact, OrganisationContact.user_id == User.id)
            .where(OrganisationContact.organisation_id == organisation_id)
            .order_by(User.username)
        ).scalars()
    )


def projects_of(session: Session, org: Organisation) -> list[Project]:
    """The projects where the organisation is the tenderer or the agency, newest first."""
    return list(
        session.execute(
            select(Project)
            .where(
                or_(
                    Project.tenderer_code == org.credit_code,
                    Project.agency_code == org.credit_code,
                )
            )
            .order_by(Project.evaluation_start_at.desc(), Project.id.desc())
        ).scalars()
    )


def role_on(org: Organisation | None, project: Project) -> str | None:
    """`tenderer` or `agency` when the organisation holds that place on the project."""
    if org is None:
        return None
    if project.tenderer_code == org.credit_code:
        return "tenderer"
    if project.agency_code == org.credit_code:
        return "agency"
    return None


def project_for_contact(session: Session, user: User, project_id: int) -> Project:
    """A project of the contact's organisation; another organisation's project is not found."""
    project = session.get(Project, project_id)
    if project is None or role_on(organisation_of(session, user), project) is None:
        raise NotFound()
    return project


def require_contact_of(session: Session, user: User, project: Project) -> str:
    """Refuse anyone but a contact of the project's tenderer or agency; returns which."""
    place = role_on(organisation_of(session, user), project)
    if place is None:
        raise Forbidden(_("You do not act for this project's tenderer or agency."))
    return place


def all_organisations(session: Session) -> list[Organisation]:
    """Every organisation by name."""
    return list(session.execute(select(Organisation).order_by(Organisation.name)).scalars())
