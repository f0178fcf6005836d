"""Who falls under which department: reviewers see applications of their field and region,
supervisors the projects their department supervises. Every check takes plain values so that the
features that own applications and projects can call it without this package knowing them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.accounts.models import User, UserRole
from expertpool.core.errors import Forbidden
from expertpool.departments.coverage import coverage, region_covers
from expertpool.departments.models import Department, DepartmentField, DepartmentMember


def department_of(session: Session, user: User) -> Department | None:
    """The department a reviewer or supervisor belongs to (None for everyone else)."""
    if user.role not in (UserRole.REVIEWER, UserRole.SUPERVISOR):
        return None
    return session.execute(
        select(Department)
        .join(DepartmentMember, DepartmentMember.department_id == Department.id)
        .where(DepartmentMember.user_id == user.id)
    ).scalar_one_or_none()


@dataclass(frozen=True)
class ExpertScope:
    """The experts a department covers: specialty-code prefixes and a region code."""

    specialty_prefixes: tuple[str, ...]
    region_code: str

    @property
    def region_prefix(self) -> str:
        """The leading digits every covered home region starts with."""
        code = self.region_code
        return code[:2] if code.endswith("0000") else code[:4] if code.endswith("00") else code

    @property
    def takes_unknown_region(self) -> bool:
        """Whether experts who gave no home region fall under it (the province's only)."""
        return self.region_code.endswith("0000")


def expert_scope(session: Session, user: User) -> ExpertScope | None:
    """What a reviewer's or supervisor's department covers among experts (None: nothing)."""
    dept = department_of(session, user)
    if dept is None:
        return None
    return ExpertScope(coverage()[dept.field].specialty_prefixes, dept.region_code)


def may_review(
    session: Session, user: User, specialty_codes: Iterable[str], home_region: str | None
) -> bool:
    """Whether a reviewer may see and decide an application with these specialties and region
    (and whether a supervisor's department covers such an expert)."""
    dept = department_of(session, user)
    if dept is None:
        return False
    return coverage()[dept.field].reviews(specialty_codes) and region_covers(
        dept.region_code, home_region
    )


def require_review(
    session: Session, user: User, specialty_codes: Iterable[str], home_region: str | None
) -> None:
    """Refuse a reviewer acting outside their department's field and region."""
    if not may_review(session, user, specialty_codes, home_region):
        raise Forbidden(
            _("This application is outside your department's field or region."),
            code="outside_department",
        )


def may_supervise(
    session: Session,
    user: User,
    *,
    kind: str,
    region: str,
    department_id: int | None,
) -> bool:
    """Whether a supervisor supervises a project of this kind, owned in `region`, assigned to
    the department `department_id` (None for projects made before departments existed).

    The assigned department supervises; so do departments of the same field above it, and the
    coordinating (development and reform) department whose region covers the project. A project
    without an assigned department falls to every department whose field covers its kind.
    """
    dept = department_of(session, user)
    if dept is None or not region_covers(dept.region_code, region):
        return False
    if department_id is None:
        return kind in coverage()[dept.field].project_kinds
    if dept.id == department_id:
        return True
    assigned = session.get(Department, department_id)
    if assigned is None or not region_covers(dept.region_code, assigned.region_code):
        return False
    return dept.field in (assigned.field, DepartmentField.COORDINATION)


def require_supervise(
    session: Session, user: User, *, kind: str, region: str, department_id: int | None
) -> None:
    """Refuse a supervisor acting on a project their department does not supervise."""
    if not may_supervise(session, user, kind=kind, region=region, department_id=department_id):
        raise Forbidden(
            _("Your department does not supervise this project."), code="outside_department"
        )


def departments_for_project(session: Session, kind: str, region: str) -> list[Department]:
    """The departments a project of this kind in this region may be assigned to."""
    rows = session.execute(select(Department).order_by(Department.code)).scalars()
    return [
        d
        for d in rows
        if region_covers(d.region_code, region) and kind in coverage()[d.field].project_kinds
    ]


def departments_in_region(session: Session, region: str) -> list[Department]:
    """The departments whose region covers `region`, provincial first."""
    rows = session.execute(select(Department).order_by(Department.code)).scalars()
    found = [d for d in rows if region_covers(d.region_code, region)]
    return sorted(found, key=lambda d: (not d.region_code.endswith("0000"), d.code))
