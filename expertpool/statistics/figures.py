"""The figures: counts read from the database, scoped to the reader, suppressed for publication.

Two rules hold for every figure here (docs/statistics.md):

- anything about draws, invitations and panels counts only the draws of **closed** projects
  (awarded, failed, cancelled: `ProjectStatus.is_closed`), so no figure moves while a panel is
  sealed, and nothing counted can be tied to an open project;
- every table goes through `suppression.publish`: cells under 5 and their complements are hidden.

Scope: centre staff see their centre's closed draws only; supervisors the projects their
department supervises and the experts it covers; the system administrator the province.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from expertpool.accounts.models import Centre, User, UserRole
from expertpool.core.errors import Forbidden, NotFound
from expertpool.core.texts import _l
from expertpool.departments.scope import expert_scope
from expertpool.draws.models import Draw, DrawGroup, DrawRequestRecord, DrawStatus, InviteeStatus
from expertpool.experts.labels import EXPERT_STATUS_LABELS, TITLE_LEVEL_LABELS
from expertpool.experts.models import Expert, ExpertStatus, TitleLevel
from expertpool.projects.models import CLOSED_STATUSES, Project
from expertpool.projects.projects import visible_projects
from expertpool.reference.models import Region, Specialty
from expertpool.statistics.signals import DrawEvent, PairSignal, pair_signals
from expertpool.statistics.suppression import Published, publish

RULES_FILE = Path(__file__).parent / "data" / "statistics-rules-v1.json"
AGE_BANDS = ((0, 40), (40, 50), (50, 60), (60, 70), (70, 200))
QUALIFYING_TITLES = (TitleLevel.FULL_SENIOR, TitleLevel.DEPUTY_SENIOR, TitleLevel.EQUIVALENT)
LABELS: dict[str, object] = {
    **EXPERT_STATUS_LABELS,
    **TITLE_LEVEL_LABELS,
    "invited": _l("Invited"),
    "accepted": _l("Accepted"),
    "declined": _l("Declined"),
    "no_response": _l("No response"),
    "withdrawn": _l("Withdrawn"),
    "unavailable": _l("Unavailable"),
    "?": _l("Not given"),
}
STATISTICS_ROLES = frozenset({UserRole.SUPERVISOR, UserRole.ADMIN, UserRole.CENTRE_STAFF})
POOL_ROLES = frozenset({UserRole.SUPERVISOR, UserRole.ADMIN})


@dataclass(frozen=True)
class Figure:
    """A published table with what it shows."""

    key: str
    title: str
    chart: str  # bar | line | stacked
    table: Published
    closed_only: bool

    def as_json(self) -> dict[str, Any]:
        """The figure as the API answers it."""
        t = self.table
        return {
            "key": self.key,
            "title": self.title,
            "chart": self.chart,
            "closed_only": self.closed_only,
            "suppressed_below": rules()["suppress_below"],
            "rows": list(t.rows),
            "columns": list(t.columns),
            "column_labels": [str(LABELS.get(c, c)) for c in t.columns],
            "cells": [list(r) for r in t.cells],
            "row_totals": list(t.row_totals),
            "column_totals": None if t.column_totals is None else list(t.column_totals),
            "total": t.total,
        }


def rules() -> dict[str, Any]:
    """The statistics rules in force (versioned data with their sources)."""
    data: dict[str, Any] = json.loads(RULES_FILE.read_text(encoding="utf-8"))
    return data


def _require(user: User, allowed: frozenset[UserRole]) -> None:
    if user.role not in allowed:
        raise Forbidden(_("You may not see these statistics."), code="statistics_forbidden")


def _series(key: str, title: str, counts: Counter[str], order: Sequence[str]) -> Figure:
    labels = [k for k in order if counts.get(k)] or list(order)
    values = [[counts.get(k, 0) for k in labels]]
    table = publish(
        [title], labels, values, column_totals=False, threshold=rules()["suppress_below"]
    )
    return Figure(key, title, "bar", table, closed_only=False)


# The pool -------------------------------------------------------------------------------------


def _experts_in_scope(session: Session, user: User) -> list[Expert]:
    rows = list(
        session.execute(
            select(Expert)
            .where(Expert.status.not_in([ExpertStatus.DRAFT]))
            .options(selectinload(Expert.specialties))
        ).scalars()
    )
    if user.role is not UserRole.SUPERVISOR:
        return rows
    scope = expert_scope(session, user)
    if scope is None:
        return []
    return [
        e
        for e in rows
        if (
            e.home_region.startswith(scope.region_prefix)
            if e.home_region
            else scope.takes_unknown_region
        )
        and any(c.startswith(scope.specialty_prefixes) for c in e.specialty_codes)
    ]


def _age(birth: date | None, today: date) -> str:
    if birth is None:
        return "?"
    years = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    for low, high in AGE_BANDS:
        if low <= years < high:
            return f"{low}-{high - 1}" if high < 200 else f"{low}+"
    return "?"


def _city(region: str | None) -> str:
    return f"{region[:4]}00" if region else "?"


def pool_figure(session: Session, user: User, *, by: str, level: int, today: date) -> Figure:
    """The pool (experts in it: active, on leave, suspended) by one dimension; `status` counts
    every record past the draft."""
    _require(user, POOL_ROLES)
    experts = _experts_in_scope(session, user)
    live = [e for e in experts if e.is_in_pool]
    names = _names(session)
    if by == "status":
        counts = Counter(str(e.status) for e in experts)
        return _series(
            "pool_status", _("Experts by status"), counts, [s.value for s in ExpertStatus]
        )
    if by == "title":
        counts = Counter(str(e.title_level or "?") for e in live)
        order = [t.value for t in TitleLevel] + ["?"]
        return _series("pool_title", _("Pool by title level"), counts, order)
    if by == "age":
        counts = Counter(_age(e.birth_date, today) for e in live)
        order = [f"{lo}-{hi - 1}" if hi < 200 else f"{lo}+" for lo, hi in AGE_BANDS] + ["?"]
        return _series("pool_age", _("Pool by age band"), counts, order)
    if by == "city":
        counts = Counter(names.get(_city(e.home_region), _city(e.home_region)) for e in live)
        return _series("pool_city", _("Pool by city"), counts, sorted(counts))
    if by == "specialty":
        width = 2 * level - 1  # A, A01, A0101
        counts = Counter(
            names.get(code, code) for e in live for code in {c[:width] for c in e.specialty_codes}
        )
        return _series(
            f"pool_specialty_{level}",
            _("Pool by specialty (level %(level)s)", level=level),
            counts,
            sorted(counts),
        )
    raise NotFound(_("No such figure."), code="figure_not_found")


def _names(session: Session) -> dict[str, str]:
    names = {r.code: r.name for r in session.execute(select(Region)).scalars()}
    names.update(
        {s.code: f"{s.code} {s.name}" for s in session.execute(select(Specialty)).scalars()}
    )
    return names


# Closed draws ---------------------------------------------------------------------------------


def closed_projects(session: Session, user: User) -> list[Project]:
    """The closed projects the reader may count: never an open one."""
    _require(user, STATISTICS_ROLES)
    return [p for p in visible_projects(session, user) if p.status in CLOSED_STATUSES]


def _closed_draws(session: Session, projects: list[Project]) -> list[Draw]:
    ids = [p.id for p in projects]
    if not ids:
        return []
    return list(
        session.execute(
            select(Draw)
            .where(Draw.project_id.in_(ids), Draw.drawn_at.is_not(None))
            .options(selectinload(Draw.invitees))
        ).scalars()
    )


def _centre_names(session: Session) -> dict[int, str]:
    return {c.id: c.name for c in session.execute(select(Centre)).scalars()}


def draws_figure(session: Session, user: User) -> Figure:
    """Draws made per month (China time) by the centre owning the project, closed projects only."""
    projects = closed_projects(session, user)
    owner = {p.id: p.owner_centre_id for p in projects}
    centres = _centre_names(session)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for d in _closed_draws(session, projects):
        if d.status in (DrawStatus.ABANDONED, DrawStatus.FAILED) or d.drawn_at is None:
            continue
        month = _month(d.drawn_at)
        counts[(month, centres.get(owner[d.project_id], "?"))] += 1
    return _grid("draws_by_month", _("Draws per month by centre"), "stacked", counts)


def outcomes_figure(session: Session, user: User) -> Figure:
    """Invitation outcomes (accepted, declined, no response, ...) by centre, closed projects."""
    projects = closed_projects(session, user)
    owner = {p.id: p.owner_centre_id for p in projects}
    centres = _centre_names(session)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for d in _closed_draws(session, projects):
        for inv in d.invitees:
            counts[(centres.get(owner[d.project_id], "?"), str(inv.status))] += 1
    return _grid("invitation_outcomes", _("Invitation outcomes by centre"), "stacked", counts)


def _month(at: datetime) -> str:
    from_utc = at.timestamp() + 8 * 3600  # China Standard Time, no daylight saving
    shown = datetime.fromtimestamp(from_utc, tz=at.tzinfo) if at.tzinfo else at
    return f"{shown.year:04d}-{shown.month:02d}"


def _grid(key: str, title: str, chart: str, counts: dict[tuple[str, str], int]) -> Figure:
    rows = sorted({r for r, _c in counts})
    cols = sorted({c for _r, c in counts})
    values = [[counts.get((r, c), 0) for c in cols] for r in rows]
    if not rows:
        rows, cols, values = [], [], []
    table = publish(rows, cols, values, threshold=rules()["suppress_below"])
    return Figure(key, title, chart, table, closed_only=True)


# Shortage -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shortage:
    """Drawable experts against twelve closed months of demand, for one specialty and city."""

    specialty: str
    city: str
    drawable: int
    demand: int
    ratio: float | None
    is_warning: bool


def shortages(session: Session, user: User, *, today: date) -> list[Shortage]:
    """Specialty (level 2) × city: experts who could be drawn (status and qualifications only)
    against seats requested by closed projects' draws over the last twelve months."""
    _require(user, POOL_ROLES)
    cfg = rules()["shortage"]
    width = 2 * cfg["specialty_level"] - 1
    drawable: Counter[tuple[str, str]] = Counter()
    for e in _experts_in_scope(session, user):
        if e.status is ExpertStatus.ACTIVE and e.title_level in QUALIFYING_TITLES:
            for code in {c[:width] for c in e.specialty_codes}:
                drawable[(code, _city(e.home_region))] += 1
    demand: Counter[tuple[str, str]] = Counter()
    projects = closed_projects(session, user)
    by_id = {p.id: p for p in projects}
    since = today.toordinal() - 365
    if projects:
        rows = session.execute(
            select(DrawRequestRecord, DrawGroup)
            .join(DrawGroup, DrawGroup.request_id == DrawRequestRecord.id)
            .where(DrawRequestRecord.project_id.in_(list(by_id)))
        ).all()
        for req, group in rows:
            if req.evaluation_start_at.date().toordinal() < since:
                continue
            city = _city(by_id[req.project_id].owner_centre.region_code)
            for code in {c[:width] for c in group.specialties}:
                demand[(code, city)] += group.count
    names = _names(session)
    multiple = float(cfg["warning_multiple"])
    found = []
    for key in sorted(set(demand) | {k for k in drawable if k in demand}):
        d, n = demand[key], drawable[key]
        ratio = None if d == 0 else n / d
        found.append(
            Shortage(
                names.get(key[0], key[0]),
                names.get(key[1], key[1]),
                n,
                d,
                ratio,
                d > 0 and n < multiple * d,
            )
        )
    return sorted(found, key=lambda s: (not s.is_warning, s.ratio or 0.0, s.specialty, s.city))


FIGURES: dict[str, Callable[..., Figure]] = {
    "draws_by_month": draws_figure,
    "invitation_outcomes": outcomes_figure,
}


POOL_KEYS = {
    "pool_status": ("status", 1),
    "pool_title": ("title", 1),
    "pool_age": ("age", 1),
    "pool_city": ("city", 1),
    "pool_specialty_1": ("specialty", 1),
    "pool_specialty_2": ("specialty", 2),
    "pool_specialty_3": ("specialty", 3),
}


def figure_keys(user: User) -> list[str]:
    """The figures this reader may see, in page order."""
    keys = list(POOL_KEYS) if user.role in POOL_ROLES else []
    return [*keys, *FIGURES] if user.role in STATISTICS_ROLES else []


def figure(session: Session, user: User, key: str, *, today: date) -> Figure:
    """One figure by its key, for this reader (NotFound for an unknown key)."""
    if key in POOL_KEYS:
        by, level = POOL_KEYS[key]
        return pool_figure(session, user, by=by, level=level, today=today)
    if key in FIGURES:
        return FIGURES[key](session, user)
    raise NotFound(_("No such figure."), code="figure_not_found")


# Signals --------------------------------------------------------------------------------------


def pair_signal_events(session: Session, user: User) -> list[DrawEvent]:
    """One event per group of each closed draw the supervisor may read: the group's specialties
    as the stratum, the tenderer, and the keyed tokens of those who accepted a seat."""
    _require(user, frozenset({UserRole.SUPERVISOR}))
    projects = closed_projects(session, user)
    by_id = {p.id: p for p in projects}
    events = []
    for d in _closed_draws(session, projects):
        groups = {g.group_key: tuple(sorted(g.specialties)) for g in d.request.groups}
        seated: dict[str, set[str]] = defaultdict(set)
        for inv in d.invitees:
            if inv.status is InviteeStatus.ACCEPTED:
                seated[inv.group_key].add(inv.expert_token)
        for key, tokens in seated.items():
            events.append(
                DrawEvent(groups.get(key, ()), by_id[d.project_id].tenderer_code, frozenset(tokens))
            )
    return events


def expert_tenderer_signals(session: Session, user: User) -> list[PairSignal]:
    """The expert-tenderer pairs far above chance among the reader's closed draws."""
    return pair_signals(pair_signal_events(session, user), alpha=float(rules()["signals"]["alpha"]))
