"""Reading departments and the regions they are made for."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.departments.models import Department
from expertpool.reference.models import Region


def city_regions(session: Session) -> list[tuple[str, str]]:
    """The cities of the loaded region table, as `(code, name)`."""
    rows = session.execute(
        select(Region.code, Region.name).where(Region.level == 2).order_by(Region.code)
    )
    return [(code, name) for code, name in rows]


def all_departments(session: Session) -> list[Department]:
    """Every department, provincial first, then by city and field."""
    rows = list(session.execute(select(Department)).scalars())
    return sorted(rows, key=lambda d: (not d.region_code.endswith("0000"), d.code))


def region_names(session: Session) -> dict[str, str]:
    """Region names by code, for showing departments' regions."""
    return {code: name for code, name in session.execute(select(Region.code, Region.name))}
