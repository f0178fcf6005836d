"""The JSON API of statistics (under /api/v1): published figures, shortages and signals.

Every figure about draws and invitations counts closed projects only and hides cells under 5
with their complements (`figures`, `suppression`); nothing here moves while a panel is sealed.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask_babel import gettext as _
from pydantic import Field

from expertpool.accounts.access import require_user, roles
from expertpool.accounts.models import UserRole
from expertpool.core.api import PREFIX, Out, PageMeta, PageQuery, operation, page_of, query
from expertpool.core.errors import NotFound
from expertpool.core.state import db, now, state
from expertpool.statistics import figures
from expertpool.statistics.signals import FavourSignal, PairSignal, RateSignal

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


class KindSignalOut(Out):
    """One signal of any kind: a pair (expert and tenderer, agency or other expert), an expert
    favouring a bidder organisation, or a unit (centre, terminal) with an unusual rate."""

    kind: str
    subject: str = Field(description="The expert's keyed token, the centre or the terminal.")
    other: str = Field(description="The tenderer, agency, other expert's token, bidder or event.")
    observed: int
    out_of: int | None = Field(description="Sessions or opportunities, for favour and rates.")
    expected: float
    p_value: float
    threshold: float
    explanation: str


class KindSignalList(PageMeta):
    """Signals of one kind, strongest first."""

    items: list[KindSignalOut]


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
    fig = figures.figure(db(), require_user(), key, today=now().date(), keys=state().keys)
    return jsonify(fig.as_json())


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


SIGNAL_KINDS = (
    "expert-tenderer",
    "expert-agency",
    "expert-expert",
    "favour",
    "centre-rates",
    "terminals",
)


@bp.route("/statistics/signals/<kind>")
@roles(R.SUPERVISOR)
@operation(tags=TAGS, scope="statistics:read", query=PageQuery, HTTP_200=KindSignalList)
def signals_of_kind(kind: str) -> Any:
    """One kind of signal of the supervisor's closed projects (expert-tenderer, expert-agency,
    expert-expert, favour, centre-rates, terminals), with its numbers in plain words."""
    if kind not in SIGNAL_KINDS:
        raise NotFound(_("No such signal."), code="signal_not_found")
    user = require_user()
    found = figures.all_signals(db(), user, state().keys)
    by_kind: dict[str, list[Any]] = {
        "expert-tenderer": found.expert_tenderer,
        "expert-agency": found.expert_agency,
        "expert-expert": found.expert_expert,
        "favour": found.favour,
        "centre-rates": found.centre_rates,
        "terminals": found.terminals,
    }
    items = by_kind[kind]
    return jsonify(page_of(items, query(PageQuery), lambda s: _any_signal(kind, s)))


def _any_signal(kind: str, s: PairSignal | FavourSignal | RateSignal) -> dict[str, Any]:
    if isinstance(s, PairSignal):
        return {
            "kind": kind,
            "subject": s.expert,
            "other": s.tenderer,
            "observed": s.observed,
            "out_of": None,
            "expected": s.expected,
            "p_value": s.p_value,
            "threshold": s.threshold,
            "explanation": _(
                "Of %(n)s draws, one sat on %(m)s and the other on %(k)s: about %(e)s meetings "
                "by chance, %(x)s observed.",
                n=s.draws,
                m=s.expert_draws,
                k=s.tenderer_draws,
                e=round(s.expected, 1),
                x=s.observed,
            ),
        }
    if isinstance(s, FavourSignal):
        return {
            "kind": kind,
            "subject": s.expert,
            "other": s.bidder,
            "observed": s.observed,
            "out_of": s.sessions,
            "expected": s.expected,
            "p_value": s.p_value,
            "threshold": s.threshold,
            "explanation": _(
                "The expert scored this bidder in %(n)s sessions and favoured it in %(x)s; "
                "chance gives about %(e)s.",
                n=s.sessions,
                x=s.observed,
                e=round(s.expected, 1),
            ),
        }
    return {
        "kind": kind,
        "subject": s.unit,
        "other": s.kind,
        "observed": s.observed,
        "out_of": s.total,
        "expected": s.expected,
        "p_value": s.p_value,
        "threshold": s.threshold,
        "explanation": _(
            "%(x)s of %(n)s here, against a rate of %(r)s%% everywhere else: about %(e)s expected.",
            x=s.observed,
            n=s.total,
            r=round(s.rate_elsewhere * 100, 1),
            e=round(s.expected, 1),
        ),
    }
