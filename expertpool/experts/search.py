"""Staff search over the pool: filters, pages and counts per specialty and city."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, select, true
from sqlalchemy.orm import Session, selectinload

from expertpool.core.errors import ValidationFailed
from expertpool.core.texts import translated
from expertpool.experts.models import Expert, ExpertSpecialty, ExpertStatus

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


@dataclass(frozen=True)
class _Filters:
    """The parsed filters: those on the specialty rows (prefix and the copied status and city) and
    the rest.
    """

    prefix: str | None
    city: str | None
    status: ExpertStatus | None
    on_expert: list[ColumnElement[bool]]  # title and name: only on `expert`


def _filters(
    specialty: str | None, city: str | None, status: str | None, title: str | None, name: str | None
) -> _Filters:
    prefix = (specialty or "").strip().upper() or None
    if prefix and not prefix.isalnum():
        raise ValidationFailed(
            fields={
                "specialty": str(translated("Unknown specialty codes: %(codes)s", codes=prefix))
            }
        )
    state = None
    if status:
        try:
            state = ExpertStatus(status)
        except ValueError:
            raise ValidationFailed(fields={"status": str(translated("Unknown status."))}) from None
    on_expert: list[ColumnElement[bool]] = []
    if title:
        on_expert.append(Expert.title.like("%" + title.strip() + "%"))
    if name:
        on_expert.append(Expert.name.like(name.strip() + "%"))
    return _Filters(prefix, (city or "").strip() or None, state, on_expert)


def _expert_conds(f: _Filters) -> list[ColumnElement[bool]]:
    """Conditions on `expert` alone (no specialty prefix)."""
    conds = list(f.on_expert)
    if f.city:
        conds.append(Expert.home_region == f.city)
    if f.status:
        conds.append(Expert.status == f.status)
    return conds


def _specialty_rows(f: _Filters, *columns: Any) -> Select[Any]:
    """`columns` over the specialty rows that match, read from the copied status and city.

    The filter on status, city and code prefix is one range of an `expert_specialty` index; title
    and name, when given, add a join with `expert`.
    """
    ES = ExpertSpecialty
    stmt = select(*columns).select_from(ES)
    if f.prefix:
        stmt = stmt.where(prefix_match(ES.code, f.prefix))
    if f.city:
        stmt = stmt.where(ES.home_region == f.city)
    if f.status:
        stmt = stmt.where(ES.status == f.status)
    if f.on_expert:
        stmt = stmt.join(Expert, Expert.id == ES.expert_id).where(*f.on_expert)
    return stmt


# Above this many matches a page is read by walking experts in name order and probing their
# specialties (dense matches: the first 20 come quickly); below it, the matching ids are collected
# from the specialty index and sorted (sparse matches: walking would visit too many experts).
WALK_ABOVE = 1000


def search(
    session: Session,
    *,
    specialty: str | None = None,
    city: str | None = None,
    status: str | None = None,
    title: str | None = None,
    name: str | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
    with_counts: bool = True,
) -> SearchPage:
    """Find experts by specialty prefix, city, status, title and name (name prefix), sorted by name.

    With a specialty prefix the figures come from the specialty rows and their copied status and
    city (an index range, see `ExpertSpecialty`); without one, from `expert` directly. The total is
    the sum of the counts per city (each expert has one city), so it costs no query of its own.
    """
    f = _filters(specialty, city, status, title, name)
    page = max(1, page)
    per_page = max(1, min(per_page, 200))
    ES = ExpertSpecialty
    city_stmt: Select[str | None, int]
    if f.prefix:
        city_stmt = (
            _specialty_rows(f, ES.home_region, func.count(ES.expert_id.distinct()))
            .group_by(ES.home_region)
            .order_by(ES.home_region)
        )
    else:
        city_stmt = (
            select(Expert.home_region, func.count())
            .where(*_expert_conds(f))
            .group_by(Expert.home_region)
            .order_by(Expert.home_region)
        )
    by_city = [(c or "", n) for c, n in session.execute(city_stmt)]
    total = sum(n for _, n in by_city)
    matching: ColumnElement[bool]
    if not f.prefix:
        matching = and_(true(), *_expert_conds(f))
    elif total > WALK_ABOVE:
        matching = and_(
            exists().where(ES.expert_id == Expert.id, prefix_match(ES.code, f.prefix)),
            *_expert_conds(f),
        )
    else:
        matching = Expert.id.in_(_specialty_rows(f, ES.expert_id))
    items = (
        list(
            session.execute(
                select(Expert)
                .where(matching)
                .options(selectinload(Expert.specialties))
                .order_by(Expert.name, Expert.id)
                .offset((page - 1) * per_page)
                .limit(per_page)
            ).scalars()
        )
        if total
        else []
    )
    by_specialty: list[tuple[str, int]] = []
    if with_counts and total:
        by_specialty = [
            (c, n)
            for c, n in session.execute(
                _specialty_rows(f, ES.code, func.count())
                .group_by(ES.code)
                .order_by(func.count().desc(), ES.code)
                .limit(30)
            )
        ]
    return SearchPage(items, total, page, per_page, by_specialty, by_city if with_counts else [])
