"""Loading the department table and placing reviewers and supervisors in departments."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.accounts import users
from expertpool.accounts.models import User, UserRole
from expertpool.core import audit
from expertpool.core.errors import NotFound
from expertpool.core.texts import _l
from expertpool.departments.models import Department, DepartmentField, DepartmentMember

MEMBER_ROLES = (UserRole.REVIEWER, UserRole.SUPERVISOR)


def load_departments(
    session: Session, table: dict[str, Any], cities: Iterable[tuple[str, str]], *, actor: str
) -> int:
    """Add the departments of `table` that do not exist yet: the provincial ones and, for each
    city `(region_code, name)`, the city ones. Existing departments keep their names. Returns how
    many were added."""
    province = "440000"
    wanted: list[tuple[str, str, DepartmentField, str]] = [
        (f"{province}-{row['field']}", row["name"], DepartmentField(row["field"]), province)
        for row in table["province"]
    ]
    for region, city in cities:
        wanted += [
            (
                f"{region}-{row['field']}",
                row["name"].format(city=city),
                DepartmentField(row["field"]),
                region,
            )
            for row in table["city"]
        ]
    have = set(session.execute(select(Department.code)).scalars())
    added = 0
    for code, name, field, region in wanted:
        if code in have:
            continue
        session.add(Department(code=code, name=name, field=field, region_code=region))
        added += 1
    if added:
        audit.record(
            session,
            actor=actor,
            action="department.load",
            object_type="department",
            object_id=table.get("version", ""),
            after={"added": added},
        )
    session.commit()
    return added


def by_code(session: Session, code: str) -> Department:
    """A department by its code."""
    dept = session.execute(select(Department).where(Department.code == code)).scalar_one_or_none()
    if dept is None:
        raise NotFound()
    return dept


def assign(session: Session, *, actor: str, username: str, department_id: int | None) -> User:
    """Place a reviewer or supervisor in a department (None removes them from theirs)."""
    user = users.account_for_group(
        session,
        username,
        MEMBER_ROLES,
        str(_l("Only reviewers and supervisors belong to a department.")),
    )
    member = session.get(DepartmentMember, user.id)
    before = {"department": member.department.code if member else None}
    if department_id is None:
        if member is not None:
            session.delete(member)
        after: dict[str, Any] = {"department": None}
    else:
        dept = session.get(Department, department_id)
        if dept is None:
            raise NotFound()
        if member is None:
            session.add(DepartmentMember(user_id=user.id, department_id=dept.id))
        else:
            member.department_id = dept.id
        after = {"department": dept.code}
    if before != after:
        audit.record(
            session,
            actor=actor,
            action="department.member",
            object_type="user",
            object_id=user.id,
            before=before,
            after=after,
        )
    session.commit()
    return user


def members(session: Session, department_id: int) -> list[User]:
    """The accounts of a department, by username."""
    return list(
        session.execute(
            select(User)
            .join(DepartmentMember, DepartmentMember.user_id == User.id)
            .where(DepartmentMember.department_id == department_id)
            .order_by(User.username)
        ).scalars()
    )
