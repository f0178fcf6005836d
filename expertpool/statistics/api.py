"""The JSON API of statistics (under /api/v1): published figures, shortages and signals.

Every figure about draws and invitations counts closed projects only and hides cells under 5
with their complements (`figures`, `suppression`); nothing here moves while a panel is sealed.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from pydantic import Field

from expertpool.accounts.access import require_user, roles
from expertpool.accounts.models import UserRole
from expertpool.core.api import PREFIX, Out, PageMeta, PageQuery, operation, page_of, query
from expertpool.core.state import db, now
from expertpool.statistics import figures
from expertpool.statistics.signals import PairSignal

bp = Blueprint("statistics_api", __name__, url_prefix=PREFIX)
TAGS = ["statistics"]
R = UserRole


class FigureOut(Out):
    """A published table: hidden cells are null; totals are exact unless the grid was hidden."""

    key: str
    title: str
    chart: str
    closed_only: bool = Field(description="Counts only closed (awarded, failed, cancelled).")
    suppressed_below: int
    rows: list[str]
    columns: list[str]
    column_labels: list[str]
    cells: list[list[int | None]]
    row_totals: list[int | None]
    column_totals: list[int | None] | None
    total: int | None


class FigureList(PageMeta):
    """The figures the caller may read."""

    items: list[str]


class ShortageOut(Out):
    """One specialty and city: drawable experts against twelve closed months of demand."""

    specialty: str
    city: str
    drawable: int
    demand: int
    ratio: float | None
    is_warning: bool


class ShortageList(PageMeta):
    """Shortages, warnings first."""

    items: list[ShortageOut]


class SignalOut(Out):
    """An expert (by keyed token) met a tenderer more often than random draws make plausible."""

    expert_token: str
    tenderer: str
    observed: int
    expected: float
    p_value: float
    threshold: float


class SignalList(PageMeta):
    """Signals, strongest first."""

    items: list[SignalOut]


@bp.route("/statistics/figures")
@roles(R.SUPERVISOR, R.ADMIN, R.CENTRE_STAFF)
@operation(tags=TAGS, scope="statistics:read", query=PageQuery, HTTP_200=FigureList)
def figure_list() -> Any:
    """The keys of the figures the caller may read."""
    return jsonify(page_of(figures.figure_keys(require_user()), query(PageQuery), str))


@bp.route("/statistics/figures/<key>")
@roles(R.SUPERVISOR, R.ADMIN, R.CENTRE_STAFF)
@operation(tags=TAGS, scope="statistics:read", HTTP_200=FigureOut)
def figure(key: str) -> Any:
    """One figure, scoped to the caller, closed projects only, small cells hidden."""
    return jsonify(figures.figure(db(), require_user(), key, today=now().date()).as_json())


@bp.route("/statistics/shortages")
@roles(R.SUPERVISOR, R.ADMIN)
@operation(tags=TAGS, scope="statistics:read", query=PageQuery, HTTP_200=ShortageList)
def shortages() -> Any:
    """Specialty × city: drawable experts against demand, with warnings first."""
    items = figures.shortages(db(), require_user(), today=now().date())
    return jsonify(page_of(items, query(PageQuery), lambda s: dict(s.__dict__)))


@bp.route("/statistics/signals")
@roles(R.SUPERVISOR)
@operation(tags=TAGS, scope="statistics:read", query=PageQuery, HTTP_200=SignalList)
def signals() -> Any:
    """Expert-tenderer pairs far above chance in the supervisor's closed projects."""
    found = figures.expert_tenderer_signals(db(), require_user())
    return jsonify(page_of(found, query(PageQuery), _signal))


def _signal(s: PairSignal) -> dict[str, Any]:
    return {
        "expert_token": s.expert,
        "tenderer": s.tenderer,
        "observed": s.observed,
        "expected": s.expected,
        "p_value": s.p_value,
        "threshold": s.threshold,
    }
