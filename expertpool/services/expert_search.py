"""Staff search over the pool: filters, pages and counts per specialty and city."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.orm import Session, selectinload

from expertpool.errors import ValidationFailed
from expertpool.models import Expert, ExpertSpecialty, ExpertStatus
from expertpool.services.texts import _l

PER_PAGE = 20


def prefix_match(column: Any, prefix: str) -> ColumnElement[bool]:
    """Codes starting with `prefix`: a range the index can use, plus LIKE for exactness."""
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return and_(column >= prefix, column < upper, column.like(prefix + "%"))


@dataclass(frozen=True)
class SearchPage:
    """One page of results with the total and counts per specialty and city."""

    items: list[Expert]
    total: int
    page: int
    per_page: int
    by_specialty: list[tuple[str, int]]
    by_city: list[tuple[str, int]]

    @property
    def pages(self) -> int:
        """Number of pages."""
        return max(1, -(-self.total // self.per_page))


def _filters(specialty: str | None, city: str | None, status: str | None, title: str | None,
             name: str | None) -> tuple[list[ColumnElement[bool]], str | None]:
    conds: list[ColumnElement[bool]] = []
    prefix = (specialty or "").strip().upper() or None
    if prefix and not prefix.isalnum():
        raise ValidationFailed(fields={"specialty": str(_l("Unknown specialty codes: %(codes)s", codes=prefix))})
    if prefix:
        conds.append(Expert.id.in_(select(ExpertSpecialty.expert_id).where(prefix_match(ExpertSpecialty.code, prefix))))
    if city:
        conds.append(Expert.home_region == city.strip())
    if status:
        try:
            conds.append(Expert.status == ExpertStatus(status))
        except ValueError:
            raise ValidationFailed(fields={"status": str(_l("Unknown status."))}) from None
    if title:
        conds.append(Expert.title.like("%" + title.strip() + "%"))
    if name:
        conds.append(Expert.name.like(name.strip() + "%"))
    return conds, prefix


def search(session: Session, *, specialty: str | None = None, city: str | None = None, status: str | None = None,
           title: str | None = None, name: str | None = None, page: int = 1, per_page: int = PER_PAGE,
           with_counts: bool = True) -> SearchPage:
    """Find experts by specialty prefix, city, status, title and name (name prefix)."""
    conds, prefix = _filters(specialty, city, status, title, name)
    page = max(1, page)
    per_page = max(1, min(per_page, 200))
    base: Select[Any] = select(Expert.id).where(*conds)
    total = session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    items = list(session.execute(
        select(Expert).where(*conds).options(selectinload(Expert.specialties))
        .order_by(Expert.name, Expert.id).offset((page - 1) * per_page).limit(per_page)).scalars())
    by_specialty: list[tuple[str, int]] = []
    by_city: list[tuple[str, int]] = []
    if with_counts:
        spec_stmt = (select(ExpertSpecialty.code, func.count()).join(Expert, Expert.id == ExpertSpecialty.expert_id)
                     .where(*conds))
        if prefix:
            spec_stmt = spec_stmt.where(prefix_match(ExpertSpecialty.code, prefix))
        by_specialty = [(c, n) for c, n in session.execute(
            spec_stmt.group_by(ExpertSpecialty.code).order_by(func.count().desc(), ExpertSpecialty.code).limit(30))]
        by_city = [(c or "", n) for c, n in session.execute(
            select(Expert.home_region, func.count()).where(*conds).group_by(Expert.home_region)
            .order_by(Expert.home_region))]
    return SearchPage(items, total, page, per_page, by_specialty, by_city)
