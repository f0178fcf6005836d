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
from expertpool.core.calendar import CST, CalendarNotCovered, is_working_day
from expertpool.core.errors import Forbidden, NotFound
from expertpool.core.keys import KeyStore
from expertpool.core.texts import _l
from expertpool.departments.scope import expert_scope
from expertpool.draws.models import Draw, DrawGroup, DrawRequestRecord, DrawStatus, InviteeStatus
from expertpool.experts.labels import EXPERT_STATUS_LABELS, TITLE_LEVEL_LABELS
from expertpool.experts.models import Expert, ExpertStatus, TitleLevel
from expertpool.fees.models import FeeLine, FeeStatement, LineKind
from expertpool.projects.models import (
    CLOSED_STATUSES,
    Appointment,
    AppointmentStatus,
    Project,
    Terminal,
)
from expertpool.projects.projects import visible_projects
from expertpool.reference.models import Region, Specialty
from expertpool.rooms.models import EvaluationSession, RoomVacancy
from expertpool.statistics.sessions import SessionStats, session_stats
from expertpool.statistics.signals import (
    DrawEvent,
    FavourSignal,
    PairSignal,
    RateSignal,
    expert_pair_signals,
    favour_signals,
    pair_signals,
    rate_signals,
)
from expertpool.statistics.suppression import Published, publish, recoverable, suppress

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
    "checked_in": _l("Checked in"),
    "no_show": _l("No-show"),
    "under_1h": _l("Under 1 hour"),
    "1_4h": _l("1 to 4 hours"),
    "4_24h": _l("4 to 24 hours"),
    "24h_plus": _l("24 hours or more"),
    "under_2h": _l("Under 2 hours"),
    "2_4h": _l("2 to 4 hours"),
    "4_8h": _l("4 to 8 hours"),
    "8h_plus": _l("8 hours or more"),
    "unfinished": _l("Not finished"),
    "flags_0": _l("No deviation flag"),
    "flags_1_2": _l("1 or 2 flags"),
    "flags_3_plus": _l("3 flags or more"),
    "joined": _l("Joined the pool"),
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
    # a page shows eight pool figures: read the experts once per request
    cache = session.info.setdefault("statistics_experts", {})
    if user.id not in cache:
        cache[user.id] = _read_experts_in_scope(session, user)
    found: list[Expert] = cache[user.id]
    return found


def _read_experts_in_scope(session: Session, user: User) -> list[Expert]:
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
    if by == "time":
        months = _last_months(today, 12)
        counts = Counter(_month(e.activated_at) for e in experts if e.activated_at is not None)
        table = publish(
            [str(LABELS["joined"])],
            months,
            [[counts.get(m, 0) for m in months]],
            column_totals=False,
            threshold=rules()["suppress_below"],
        )
        return Figure(
            "pool_over_time", _("Experts joining the pool per month"), "line", table, False
        )
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


def _last_months(today: date, n: int) -> list[str]:
    year, month = today.year, today.month
    out = []
    for _i in range(n):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def _month(at: datetime) -> str:
    from_utc = at.timestamp() + 8 * 3600  # China Standard Time, no daylight saving
    shown = datetime.fromtimestamp(from_utc, tz=at.tzinfo) if at.tzinfo else at
    return f"{shown.year:04d}-{shown.month:02d}"


def _grid(
    key: str,
    title: str,
    chart: str,
    counts: dict[tuple[str, str], int],
    order: Sequence[str] | None = None,
) -> Figure:
    rows = sorted({r for r, _c in counts})
    present = {c for _r, c in counts}
    cols = [c for c in order if c in present] if order else sorted(present)
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


# Response times, sessions, no-shows, fees ------------------------------------------------------


def _band(value: float, bands: Sequence[tuple[float, str]], last: str) -> str:
    for upper, name in bands:
        if value < upper:
            return name
    return last


RESPONSE_BANDS = ((1.0, "under_1h"), (4.0, "1_4h"), (24.0, "4_24h"))
DURATION_BANDS = ((2.0, "under_2h"), (4.0, "2_4h"), (8.0, "4_8h"))


def response_times_figure(session: Session, user: User) -> Figure:
    """How long invitees of closed projects' draws took to answer (accept or decline), by centre."""
    projects = closed_projects(session, user)
    owner = {p.id: p.owner_centre_id for p in projects}
    centres = _centre_names(session)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for d in _closed_draws(session, projects):
        for inv in d.invitees:
            if inv.answered_at is None:
                continue
            hours = (inv.answered_at - inv.invited_at).total_seconds() / 3600
            band = _band(hours, RESPONSE_BANDS, "24h_plus")
            counts[(centres.get(owner[d.project_id], "?"), band)] += 1
    order = [b for _u, b in RESPONSE_BANDS] + ["24h_plus"]
    return _grid(
        "response_times", _("Time to answer an invitation, by centre"), "stacked", counts, order
    )


def _sessions(
    session: Session, user: User, keys: KeyStore | None
) -> tuple[list[Project], list[SessionStats]]:
    projects = closed_projects(session, user)
    if keys is None:
        return projects, []
    # one page shows several session figures: open the sealed states once per request
    cache = session.info.setdefault("statistics_sessions", {})
    key = (user.id, tuple(sorted(p.id for p in projects)))
    if key not in cache:
        cache[key] = session_stats(session, projects, keys)
    return projects, cache[key]


def sessions_figure(session: Session, user: User, keys: KeyStore | None, *, by: str) -> Figure:
    """Sessions of closed projects: per month by centre, by duration, by deviation flags raised
    on scores, and expert seats checked in against no-shows, each by centre."""
    projects, stats = _sessions(session, user, keys)
    by_id = {p.id: p for p in projects}
    centres = _centre_names(session)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for st in stats:
        project = by_id[st.project_id]
        centre = centres.get(project.owner_centre_id, "?")
        if by == "month":
            counts[(_month(st.closed_at or project.evaluation_start_at), centre)] += 1
        elif by == "duration":
            minutes = st.minutes
            band = (
                "unfinished" if minutes is None else _band(minutes / 60, DURATION_BANDS, "8h_plus")
            )
            counts[(centre, band)] += 1
        elif by == "deviations":
            band = (
                "flags_0"
                if st.deviations == 0
                else ("flags_1_2" if st.deviations <= 2 else "flags_3_plus")
            )
            counts[(centre, band)] += 1
        else:
            counts[(centre, "checked_in")] += st.experts - st.no_shows
            counts[(centre, "no_show")] += st.no_shows
    if by == "month":
        return _grid("sessions_by_month", _("Sessions per month by centre"), "stacked", counts)
    if by == "duration":
        order = [b for _u, b in DURATION_BANDS] + ["8h_plus", "unfinished"]
        return _grid(
            "session_durations", _("Session durations by centre"), "stacked", counts, order
        )
    if by == "deviations":
        order = ["flags_0", "flags_1_2", "flags_3_plus"]
        return _grid(
            "session_deviations",
            _("Sessions by deviation flags raised, by centre"),
            "stacked",
            counts,
            order,
        )
    return _grid(
        "no_shows", _("Expert seats checked in and no-shows, by centre"), "stacked", counts
    )


def fees_figure(session: Session, user: User) -> Figure:
    """Gross fees (yuan) of closed projects' sessions per month of the close, by centre. A cell
    is hidden when it sums fewer than 5 fee lines, with the complements the line counts need."""
    projects = closed_projects(session, user)
    by_id = {p.id: p for p in projects}
    centres = _centre_names(session)
    amounts: dict[tuple[str, str], int] = defaultdict(int)
    lines: dict[tuple[str, str], int] = defaultdict(int)
    if by_id:
        for statement, line in session.execute(
            select(FeeStatement, FeeLine)
            .join(FeeLine, FeeLine.statement_id == FeeStatement.id)
            .where(FeeStatement.project_id.in_(list(by_id)))
        ):
            project = by_id[statement.project_id or 0]
            cell = (_month(statement.closed_at), centres.get(project.owner_centre_id, "?"))
            amounts[cell] += line.gross_fen
            if line.kind is LineKind.FEE:
                lines[cell] += 1
    rows = sorted({r for r, _c in lines})
    cols = sorted({c for _r, c in lines})
    count_grid = [[lines.get((r, c), 0) for c in cols] for r in rows]
    yuan = [[round(amounts.get((r, c), 0) / 100) for c in cols] for r in rows]
    hidden = suppress(count_grid, threshold=rules()["suppress_below"]) if rows else set()
    grid_hidden = bool(recoverable(hidden, count_grid, True)) if rows else False
    cells = tuple(
        tuple(None if (i, j) in hidden or grid_hidden else v for j, v in enumerate(row))
        for i, row in enumerate(yuan)
    )
    grand = sum(sum(r) for r in yuan)
    few = sum(sum(r) for r in count_grid) < rules()["suppress_below"]
    table = Published(
        tuple(rows),
        tuple(cols),
        cells,
        tuple(None if grid_hidden else sum(r) for r in yuan),
        tuple(None if grid_hidden else sum(r[j] for r in yuan) for j in range(len(cols))),
        None if few else grand,
    )
    return Figure(
        "fees_by_month", _("Gross fees per month by centre (yuan)"), "stacked", table, True
    )


FIGURES: dict[str, Callable[..., Figure]] = {
    "draws_by_month": draws_figure,
    "invitation_outcomes": outcomes_figure,
    "response_times": lambda s, u, k: response_times_figure(s, u),
    "sessions_by_month": lambda s, u, k: sessions_figure(s, u, k, by="month"),
    "session_durations": lambda s, u, k: sessions_figure(s, u, k, by="duration"),
    "session_deviations": lambda s, u, k: sessions_figure(s, u, k, by="deviations"),
    "no_shows": lambda s, u, k: sessions_figure(s, u, k, by="no_shows"),
    "fees_by_month": lambda s, u, k: fees_figure(s, u),
}
FIGURES["draws_by_month"] = lambda s, u, k: draws_figure(s, u)
FIGURES["invitation_outcomes"] = lambda s, u, k: outcomes_figure(s, u)


POOL_KEYS = {
    "pool_status": ("status", 1),
    "pool_title": ("title", 1),
    "pool_age": ("age", 1),
    "pool_city": ("city", 1),
    "pool_over_time": ("time", 1),
    "pool_specialty_1": ("specialty", 1),
    "pool_specialty_2": ("specialty", 2),
    "pool_specialty_3": ("specialty", 3),
}


def figure_keys(user: User) -> list[str]:
    """The figures this reader may see, in page order."""
    keys = list(POOL_KEYS) if user.role in POOL_ROLES else []
    return [*keys, *FIGURES] if user.role in STATISTICS_ROLES else []


def figure(
    session: Session, user: User, key: str, *, today: date, keys: KeyStore | None = None
) -> Figure:
    """One figure by its key, for this reader (NotFound for an unknown key). The session figures
    open the sealed room states with `keys`."""
    if key in POOL_KEYS:
        by, level = POOL_KEYS[key]
        return pool_figure(session, user, by=by, level=level, today=today)
    if key in FIGURES:
        return FIGURES[key](session, user, keys)
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
            project = by_id[d.project_id]
            events.append(
                DrawEvent(
                    groups.get(key, ()),
                    project.tenderer_code,
                    frozenset(tokens),
                    agency=project.agency_code,
                )
            )
    return events


def expert_tenderer_signals(session: Session, user: User) -> list[PairSignal]:
    """The expert-tenderer pairs far above chance among the reader's closed draws."""
    return pair_signals(pair_signal_events(session, user), alpha=float(rules()["signals"]["alpha"]))


def expert_agency_signals(session: Session, user: User) -> list[PairSignal]:
    """The expert-agency pairs far above chance among the reader's closed draws."""
    alpha = float(rules()["signals"]["alpha"])
    return pair_signals(pair_signal_events(session, user), alpha=alpha, party="agency")


def expert_expert_signals(session: Session, user: User) -> list[PairSignal]:
    """Two experts who sat together far above chance among the reader's closed draws."""
    alpha = float(rules()["signals"]["alpha"])
    return expert_pair_signals(pair_signal_events(session, user), alpha=alpha)


def favour_signals_of(session: Session, user: User, keys: KeyStore) -> list[FavourSignal]:
    """Experts whose scores favoured the same bidder organisation across the reader's closed
    projects' sessions."""
    _require(user, frozenset({UserRole.SUPERVISOR}))
    _projects, stats = _sessions(session, user, keys)
    prefs = [p for st in stats for p in st.preferences]
    return favour_signals(prefs, alpha=float(rules()["signals"]["alpha"]))


RATE_KINDS = ("direct_appointment", "replacement", "supplementary", "abandoned")
RATE_LABELS = {
    "direct_appointment": _l("Projects with a direct appointment"),
    "replacement": _l("Projects with a member replaced in the room"),
    "supplementary": _l("Projects with a supplementary draw"),
    "abandoned": _l("Projects with an abandoned draw"),
    "out_of_hours": _l("Draws out of hours"),
}


def centre_rate_signals(session: Session, user: User) -> list[RateSignal]:
    """Centres whose closed projects had direct appointments, replacements in the room,
    supplementary draws or abandoned draws far more often than the other centres' projects."""
    _require(user, frozenset({UserRole.SUPERVISOR}))
    projects = closed_projects(session, user)
    ids = [p.id for p in projects]
    flagged: dict[str, set[int]] = {k: set() for k in RATE_KINDS}
    if ids:
        flagged["direct_appointment"] = set(
            session.execute(
                select(Appointment.project_id).where(
                    Appointment.project_id.in_(ids),
                    Appointment.status == AppointmentStatus.APPROVED,
                )
            ).scalars()
        )
        flagged["replacement"] = {
            pid
            for pid in session.execute(
                select(EvaluationSession.project_id)
                .join(RoomVacancy, RoomVacancy.session_id == EvaluationSession.id)
                .where(EvaluationSession.project_id.in_(ids))
            ).scalars()
            if pid is not None
        }
        flagged["supplementary"] = set(
            session.execute(
                select(DrawRequestRecord.project_id).where(
                    DrawRequestRecord.project_id.in_(ids), DrawRequestRecord.parent_id.is_not(None)
                )
            ).scalars()
        )
        flagged["abandoned"] = set(
            session.execute(
                select(Draw.project_id).where(
                    Draw.project_id.in_(ids), Draw.status == DrawStatus.ABANDONED
                )
            ).scalars()
        )
    centres = _centre_names(session)
    counts: dict[str, dict[str, tuple[int, int]]] = {}
    for kind in RATE_KINDS:
        per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for p in projects:
            cell = per[centres.get(p.owner_centre_id, "?")]
            cell[0] += p.id in flagged[kind]
            cell[1] += 1
        counts[kind] = {c: (x, n) for c, (x, n) in per.items()}
    return rate_signals(counts, alpha=float(rules()["signals"]["alpha"]))


def is_out_of_hours(at: datetime) -> bool:
    """A moment outside the working hours of the rules file, or on a day off (China time)."""
    hours = rules()["signals"]["working_hours"]
    local = at.astimezone(CST)
    try:
        working = is_working_day(local.date())
    except CalendarNotCovered:
        working = local.weekday() < 5
    start, end = int(hours["start"]), int(hours["end"])
    return not working or not (start <= local.hour < end)


def terminal_signals(session: Session, user: User) -> list[RateSignal]:
    """Terminals used for draws out of hours far more often than the other terminals."""
    _require(user, frozenset({UserRole.SUPERVISOR}))
    projects = closed_projects(session, user)
    names = {
        t.id: f"{t.name} ({c})"
        for t, c in session.execute(
            select(Terminal, Centre.name).join(Centre, Centre.id == Terminal.centre_id)
        )
    }
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for d in _closed_draws(session, projects):
        if d.drawn_at is None:
            continue
        cell = per[names.get(d.terminal_id, str(d.terminal_id))]
        cell[0] += is_out_of_hours(d.drawn_at)
        cell[1] += 1
    counts = {"out_of_hours": {t: (x, n) for t, (x, n) in per.items()}}
    return rate_signals(counts, alpha=float(rules()["signals"]["alpha"]))


@dataclass(frozen=True)
class AllSignals:
    """Every signal of the reader's closed projects, for the page and the API."""

    expert_tenderer: list[PairSignal]
    expert_agency: list[PairSignal]
    expert_expert: list[PairSignal]
    favour: list[FavourSignal]
    centre_rates: list[RateSignal]
    terminals: list[RateSignal]


def all_signals(session: Session, user: User, keys: KeyStore) -> AllSignals:
    """Every signal, read once from the reader's closed projects."""
    _require(user, frozenset({UserRole.SUPERVISOR}))
    events = pair_signal_events(session, user)
    alpha = float(rules()["signals"]["alpha"])
    return AllSignals(
        pair_signals(events, alpha=alpha),
        pair_signals(events, alpha=alpha, party="agency"),
        expert_pair_signals(events, alpha=alpha),
        favour_signals_of(session, user, keys),
        centre_rate_signals(session, user),
        terminal_signals(session, user),
    )
