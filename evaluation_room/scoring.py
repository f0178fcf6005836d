"""Score forms, sheet validation, objective formulas (plug-ins), aggregates, ranking and flags.

Every score and price is a :class:`~decimal.Decimal`; floats are refused at the door. Objective
items are computed by formulas looked up by name in a registry (:func:`register_formula`), so a
province adds its own formula without touching the room. Intermediate values are never rounded;
each item score, each aggregate and each total is rounded half-up to ``decimals`` places.

Ranking: higher total first. Equal totals are ordered by the configured tie rule, which the app
takes from the project's rules: ``price`` (lower evaluated price first; equal total and price are
tied, as government procurement says) or ``price_then_technical`` (then higher subjective,
technical, score). Bidders still equal are tied: they share a rank, and nothing arbitrary such as
the bidder code separates them. Bidders ranked up to ``max_candidates`` (3) are the candidates.

The evaluated price is the bid price less ``small_enterprise_deduction_pct`` % for a bid from a
declared small or micro enterprise; price formulas and the tie rule use it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

from evaluation_room.errors import InvalidInput, InvalidScore, UnknownFormula

ScoreInput = str | int | Decimal
Entries = Mapping[str, Mapping[str, Decimal]]
"""Scores of one sheet: bidder code -> item id -> score."""


class ItemKind(StrEnum):
    """Whether an item is computed by the system, scored by each member, or marked pass/fail
    in a review stage before scoring."""

    OBJECTIVE = "objective"
    SUBJECTIVE = "subjective"
    PASS_FAIL = "pass_fail"


class Category(StrEnum):
    """What an item of a scoring method judges; qualification and compliance are reviewed
    (pass/fail) before scoring, the others are scored."""

    QUALIFICATION = "qualification"
    COMPLIANCE = "compliance"
    TECHNICAL = "technical"
    COMMERCIAL = "commercial"
    PRICE = "price"


REVIEW_CATEGORIES = (Category.QUALIFICATION, Category.COMPLIANCE)
"""The review stages, in the order they run: 资格审查, then 符合性审查."""


@dataclass(frozen=True)
class ScoreItem:
    """One line of a score form: range, step and weight; objective items name a formula."""

    item_id: str
    name: str
    kind: ItemKind
    minimum: Decimal
    maximum: Decimal
    step: Decimal = Decimal("0.5")
    weight: Decimal = Decimal(1)
    formula: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    category: Category | None = None
    """None in forms made before categories existed (read as technical or price)."""
    criteria: str = ""
    """The 评分标准: what earns the points (or passes), shown next to the box."""
    by_committee: bool = True
    """For a qualification item: whether the committee reviews it (else the purchaser did,
    and its outcome arrives with the bid's checks)."""

    def param(self, name: str, default: Decimal) -> Decimal:
        """Return a numeric formula parameter, or ``default`` when absent."""
        raw = self.params.get(name)
        if raw is None:
            return default
        try:
            return Decimal(raw)
        except InvalidOperation as exc:
            raise InvalidInput(
                f"parameter {name} of item {self.item_id} is not a number",
                fields={f"{self.item_id}.{name}": "not a number"},
            ) from exc


@dataclass(frozen=True)
class ScoreForm:
    """The score form of a project: an ordered list of items."""

    items: tuple[ScoreItem, ...]

    def item(self, item_id: str) -> ScoreItem:
        """Return the item with this id or raise :class:`InvalidScore`."""
        for it in self.items:
            if it.item_id == item_id:
                return it
        raise InvalidScore(f"unknown item {item_id}", fields={item_id: "unknown item"})

    @property
    def subjective(self) -> tuple[ScoreItem, ...]:
        """The items each member scores."""
        return tuple(i for i in self.items if i.kind is ItemKind.SUBJECTIVE)

    @property
    def objective(self) -> tuple[ScoreItem, ...]:
        """The items the system computes."""
        return tuple(i for i in self.items if i.kind is ItemKind.OBJECTIVE)

    @property
    def scored(self) -> tuple[ScoreItem, ...]:
        """The items that give points (objective and subjective)."""
        return tuple(i for i in self.items if i.kind is not ItemKind.PASS_FAIL)

    def review_items(self, stage: Category) -> tuple[ScoreItem, ...]:
        """The pass/fail items the committee reviews in ``stage``."""
        return tuple(
            i
            for i in self.items
            if i.kind is ItemKind.PASS_FAIL and i.category is stage and i.by_committee
        )

    @property
    def stages(self) -> tuple[Category, ...]:
        """The review stages the committee runs before scoring, in order."""
        return tuple(c for c in REVIEW_CATEGORIES if self.review_items(c))

    @property
    def total_points(self) -> Decimal:
        """The most a bid can score: each scored item's maximum times its weight."""
        return sum((i.maximum * i.weight for i in self.scored), Decimal(0))


@dataclass(frozen=True)
class Bid:
    """An opened bid of the lot: bidder, price and the outcome of each qualification check."""

    bidder_code: str
    bidder_name: str
    price: Decimal
    checks: dict[str, bool] = field(default_factory=dict)
    is_small_enterprise: bool = False

    @property
    def is_qualified(self) -> bool:
        """True when every qualification check passed (bids failing one are excluded)."""
        return all(self.checks.values())

    @property
    def failed_checks(self) -> list[str]:
        """Names of the failed qualification checks, sorted."""
        return sorted(k for k, ok in self.checks.items() if not ok)


class RankingTieRule(StrEnum):
    """How equal totals are ordered (bidders still equal are tied)."""

    PRICE = "price"
    PRICE_THEN_TECHNICAL = "price_then_technical"


PRICE_FORMULAS = frozenset({"lowest_price", "works_deviation_rate"})
"""Objective formulas that score the price: their share of the form is the price weight."""


@dataclass(frozen=True)
class ScoringSettings:
    """Scoring settings (configurable per province; the app passes the project's rules)."""

    decimals: int = 2
    drops_extremes: bool = False
    drop_extremes_min_members: int = 7
    deviation_threshold_pct: Decimal = Decimal(30)
    max_candidates: int = 3
    tie_rule: RankingTieRule = RankingTieRule.PRICE_THEN_TECHNICAL
    small_enterprise_deduction_pct: Decimal = Decimal(0)
    price_weight_pct: tuple[Decimal, Decimal] | None = None
    """The allowed range of the price weight (%), or None when the rules set none."""
    low_score_reason_pct: Decimal | None = None
    """A subjective score below this share (%) of the item's maximum needs a short reason;
    None: no reason is asked for."""


# --- values ---------------------------------------------------------------------------------


def parse_score(value: object) -> Decimal:
    """Parse a score given as a string, int or Decimal; floats and bools are refused."""
    if isinstance(value, bool | float):
        raise ValueError("send scores as decimal strings, not floating-point numbers")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation as exc:
            raise ValueError("not a number") from exc
    else:
        raise ValueError("not a number")
    if not result.is_finite():
        raise ValueError("not a finite number")
    return result


def quantize(value: Decimal, decimals: int) -> Decimal:
    """Round half-up to ``decimals`` places."""
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def check_value(item: ScoreItem, value: Decimal) -> str | None:
    """Return why ``value`` is not acceptable for ``item``, or None when it is."""
    if value < item.minimum or value > item.maximum:
        return f"must be between {item.minimum} and {item.maximum}"
    if (value - item.minimum) % item.step != 0:
        return f"must be a multiple of {item.step} from {item.minimum}"
    return None


def validate_form(form: ScoreForm) -> None:
    """Check a form: unique ids, sane ranges and steps, registered formulas for objective items."""
    problems: dict[str, str] = {}
    seen: set[str] = set()
    for it in form.items:
        if it.item_id in seen or not it.item_id or "." in it.item_id:
            problems[it.item_id] = "item ids must be unique, non-empty and contain no dot"
        seen.add(it.item_id)
        if it.kind is ItemKind.PASS_FAIL:
            if it.category not in REVIEW_CATEGORIES:
                problems[it.item_id] = "pass/fail items belong to qualification or compliance"
            elif it.formula is not None:
                problems[it.item_id] = "pass/fail items take no formula"
            continue
        if it.category in REVIEW_CATEGORIES:
            problems[it.item_id] = "qualification and compliance items are pass/fail"
        elif not it.minimum < it.maximum:
            problems[it.item_id] = "minimum must be below maximum"
        elif it.step <= 0 or (it.maximum - it.minimum) % it.step != 0:
            problems[it.item_id] = "step must be positive and divide the range"
        elif it.weight <= 0:
            problems[it.item_id] = "weight must be positive"
        elif it.kind is ItemKind.OBJECTIVE and (it.formula is None or it.formula not in _FORMULAS):
            problems[it.item_id] = f"objective items need a registered formula, got {it.formula!r}"
        elif it.kind is ItemKind.SUBJECTIVE and it.formula is not None:
            problems[it.item_id] = "subjective items take no formula"
    if not form.scored:
        problems["items"] = "a form needs at least one scored item"
    if problems:
        raise InvalidInput("the score form is invalid", fields=problems)


def validate_bids(bids: Sequence[Bid]) -> None:
    """Check bids: unique bidder codes and positive prices."""
    problems: dict[str, str] = {}
    seen: set[str] = set()
    for b in bids:
        if b.bidder_code in seen or not b.bidder_code or "." in b.bidder_code:
            problems[b.bidder_code] = "bidder codes must be unique, non-empty and contain no dot"
        seen.add(b.bidder_code)
        if not b.price.is_finite() or b.price <= 0:
            problems[f"{b.bidder_code}.price"] = "price must be positive"
    if problems:
        raise InvalidInput("the bids are invalid", fields=problems)


def parse_entries(
    form: ScoreForm, bidder_codes: Sequence[str], raw: Mapping[str, Mapping[str, object]]
) -> dict[str, dict[str, Decimal]]:
    """Validate raw subjective scores (bidder -> item -> value); raise :class:`InvalidScore`.

    Every offending entry is reported in ``fields`` under ``"<bidder>.<item>"``.
    """
    problems: dict[str, str] = {}
    out: dict[str, dict[str, Decimal]] = {}
    if not isinstance(raw, Mapping):
        raise InvalidScore(
            "scores must map bidder codes to items", fields={"scores": "not a mapping"}
        )
    subjective = {i.item_id: i for i in form.subjective}
    for bidder, items in raw.items():
        if bidder not in bidder_codes:
            problems[str(bidder)] = "not a qualified bidder of this lot"
            continue
        if not isinstance(items, Mapping):
            problems[str(bidder)] = "must map item ids to scores"
            continue
        for item_id, value in items.items():
            key = f"{bidder}.{item_id}"
            item = subjective.get(item_id)
            if item is None:
                problems[key] = "not a subjective item of this form"
                continue
            try:
                score = parse_score(value)
            except ValueError as exc:
                problems[key] = str(exc)
                continue
            why = check_value(item, score)
            if why:
                problems[key] = why
                continue
            out.setdefault(bidder, {})[item_id] = score
    if problems:
        raise InvalidScore("some scores are invalid", fields=problems)
    return out


def missing_entries(
    form: ScoreForm, bidder_codes: Sequence[str], entries: Entries
) -> dict[str, str]:
    """Return ``"<bidder>.<item>" -> "missing"`` for each subjective score not yet given."""
    return {
        f"{b}.{i.item_id}": "missing"
        for b in bidder_codes
        for i in form.subjective
        if i.item_id not in entries.get(b, {})
    }


def needs_reason(item: ScoreItem, value: Decimal, share_pct: Decimal | None) -> bool:
    """Whether a subjective score is low enough to need a short reason: below ``share_pct`` %
    of the item's maximum (never when the rules set no share)."""
    if share_pct is None or item.kind is not ItemKind.SUBJECTIVE:
        return False
    return value * 100 < item.maximum * share_pct


def missing_reasons(
    form: ScoreForm,
    entries: Entries,
    reasons: Mapping[str, Mapping[str, str]],
    share_pct: Decimal | None,
) -> dict[str, str]:
    """Return ``"<bidder>.<item>.reason" -> "required"`` for each low score without a reason."""
    out: dict[str, str] = {}
    for bidder, items in entries.items():
        for item_id, value in items.items():
            item = form.item(item_id)
            has_reason = bool(reasons.get(bidder, {}).get(item_id, "").strip())
            if needs_reason(item, value, share_pct) and not has_reason:
                out[f"{bidder}.{item_id}.reason"] = "required"
    return out


# --- formulas -------------------------------------------------------------------------------

Formula = Callable[[ScoreItem, Sequence[Bid]], dict[str, Decimal]]
"""A formula receives the item and the qualified bids and returns a raw score per bidder code."""

_FORMULAS: dict[str, Formula] = {}
_PARAMS: dict[str, tuple[str, ...]] = {}


def register_formula(name: str, params: tuple[str, ...] = ()) -> Callable[[Formula], Formula]:
    """Register an objective-item formula under ``name`` (decorator), with the names of the
    numeric parameters it reads (an editor offers exactly these)."""

    def wrap(fn: Formula) -> Formula:
        if name in _FORMULAS and _FORMULAS[name] is not fn:
            raise ValueError(f"formula {name!r} is already registered")
        _FORMULAS[name] = fn
        _PARAMS[name] = params
        return fn

    return wrap


def formula_params(name: str) -> tuple[str, ...]:
    """The parameters a registered formula reads (empty for an unknown one)."""
    return _PARAMS.get(name, ())


def formula_names() -> list[str]:
    """Names of the registered formulas, sorted."""
    return sorted(_FORMULAS)


def get_formula(name: str) -> Formula:
    """Return the formula registered under ``name`` or raise :class:`UnknownFormula`."""
    try:
        return _FORMULAS[name]
    except KeyError:
        raise UnknownFormula(f"no formula named {name!r}", fields={"formula": name}) from None


@register_formula("lowest_price")
def lowest_price(item: ScoreItem, bids: Sequence[Bid]) -> dict[str, Decimal]:
    """Government procurement: benchmark = lowest compliant bid; score = benchmark / bid × points.

    ``points`` (parameter) defaults to the item's maximum, i.e. price weight × 100.
    """
    if not bids:
        return {}
    points = item.param("points", item.maximum)
    benchmark = min(b.price for b in bids)
    return {b.bidder_code: benchmark / b.price * points for b in bids}


@register_formula("works_deviation_rate", ("coefficient", "e_above", "e_below"))
def works_deviation_rate(item: ScoreItem, bids: Sequence[Bid]) -> dict[str, Decimal]:
    """Works: benchmark = mean of compliant bids × ``coefficient``; deduct per 1 % of deviation.

    A bid d % above the benchmark scores ``maximum − e_above × d``, one d % below scores
    ``maximum − e_below × d``; the result is clamped to the item's range (floored at its
    minimum, normally 0). Defaults: coefficient 1, e_above 1, e_below 0.5.
    """
    if not bids:
        return {}
    coefficient = item.param("coefficient", Decimal(1))
    e_above = item.param("e_above", Decimal(1))
    e_below = item.param("e_below", Decimal("0.5"))
    benchmark = sum((b.price for b in bids), Decimal(0)) / len(bids) * coefficient
    out: dict[str, Decimal] = {}
    for b in bids:
        rate = (b.price - benchmark) / benchmark * 100
        deduction = e_above * rate if rate > 0 else e_below * -rate
        out[b.bidder_code] = item.maximum - deduction
    return out


def evaluated_price(bid: Bid, deduction_pct: Decimal) -> Decimal:
    """The price the evaluation uses: less the deduction for a small or micro enterprise."""
    if bid.is_small_enterprise and deduction_pct:
        return bid.price * (100 - deduction_pct) / 100
    return bid.price


def price_weight(form: ScoreForm) -> Decimal | None:
    """The price items' share of the form's maximum (%), or None when no item scores the price."""
    total = form.total_points
    price = sum(
        (i.maximum * i.weight for i in form.objective if i.formula in PRICE_FORMULAS), Decimal(0)
    )
    if not price or not total:
        return None
    return price * 100 / total


def check_price_weight(form: ScoreForm, allowed: tuple[Decimal, Decimal] | None) -> None:
    """Refuse a form whose price weight is outside the allowed range (when the rules set one)."""
    weight = price_weight(form)
    if allowed is None or weight is None:
        return
    lo, hi = allowed
    if not lo <= weight <= hi:
        raise InvalidInput(
            f"the price weight is {quantize(weight, 2)} %; it must be from {lo} % to {hi} %",
            fields={"price_weight": f"from {lo} % to {hi} %"},
        )


def objective_scores(
    form: ScoreForm, bids: Sequence[Bid], decimals: int, deduction_pct: Decimal = Decimal(0)
) -> dict[str, dict[str, Decimal]]:
    """Compute every objective item for the qualified bids: bidder -> item -> rounded score.

    Formulas see each bid at its evaluated price (the small-enterprise deduction applied).
    """
    qualified = [
        replace(b, price=evaluated_price(b, deduction_pct)) for b in bids if b.is_qualified
    ]
    out: dict[str, dict[str, Decimal]] = {b.bidder_code: {} for b in qualified}
    for item in form.objective:
        if item.formula is None:  # validate_form refuses such a form; a stored one may be older
            raise UnknownFormula(f"objective item {item.item_id} names no formula")
        raw = get_formula(item.formula)(item, qualified)
        for code, value in raw.items():
            clamped = min(max(value, item.minimum), item.maximum)
            out[code][item.item_id] = quantize(clamped, decimals)
    return out


# --- aggregates, totals, ranking ------------------------------------------------------------


@dataclass(frozen=True)
class BidderResult:
    """Scores of one qualified bidder: objective items, subjective aggregates and totals."""

    bidder_code: str
    price: Decimal
    objective: dict[str, Decimal]
    subjective: dict[str, Decimal]
    objective_total: Decimal
    subjective_total: Decimal
    total: Decimal
    evaluated_price: Decimal


@dataclass(frozen=True)
class RankedBidder:
    """A place in the ranking; ``decided_by`` names the rule that put it below the previous one."""

    rank: int
    bidder_code: str
    total: Decimal
    decided_by: str | None


@dataclass(frozen=True)
class Excluded:
    """A bidder excluded from scoring: a qualification check failed before the session, or
    the committee failed it in a review stage (``stage``, with the members' reasons)."""

    bidder_code: str
    failed_checks: list[str]
    stage: str = "checks"
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Results:
    """Aggregates, totals and ranking of a lot; ``candidates`` are the first places (≤ 3)."""

    bidders: list[BidderResult]
    ranking: list[RankedBidder]
    candidates: list[str]
    excluded: list[Excluded]
    has_dropped_extremes: bool


def aggregate(scores: Sequence[Decimal], drop_extremes: bool) -> Decimal:
    """Mean of the members' scores, without one highest and one lowest when ``drop_extremes``."""
    values = sorted(scores)
    if drop_extremes:
        values = values[1:-1]
    if not values:
        raise ValueError("no scores to aggregate")
    return sum(values, Decimal(0)) / len(values)


def compute_results(
    form: ScoreForm,
    bids: Sequence[Bid],
    sheets: Mapping[str, Entries],
    settings: ScoringSettings,
    review_failures: Sequence[Excluded] = (),
) -> Results:
    """Compute aggregates, totals and the ranking from the submitted sheets (member -> entries).

    Bidders in ``review_failures`` (failed by the committee in a review stage) are left out
    of the scores and listed as excluded with their reasons.
    """
    d = settings.decimals
    deduction = settings.small_enterprise_deduction_pct
    failed = {e.bidder_code for e in review_failures}
    bids = [b for b in bids if b.bidder_code not in failed]
    objective = objective_scores(form, bids, d, deduction)
    drop = settings.drops_extremes and len(sheets) >= settings.drop_extremes_min_members
    bidders: list[BidderResult] = []
    for bid in bids:
        if not bid.is_qualified:
            continue
        code = bid.bidder_code
        subj: dict[str, Decimal] = {}
        for item in form.subjective:
            values = [s[code][item.item_id] for s in sheets.values()]
            subj[item.item_id] = quantize(aggregate(values, drop), d)
        weights = {i.item_id: i.weight for i in form.items}
        obj_total = quantize(
            sum((v * weights[k] for k, v in objective[code].items()), Decimal(0)), d
        )
        subj_total = quantize(sum((v * weights[k] for k, v in subj.items()), Decimal(0)), d)
        bidders.append(
            BidderResult(
                code,
                bid.price,
                objective[code],
                subj,
                obj_total,
                subj_total,
                obj_total + subj_total,
                evaluated_price(bid, deduction),
            )
        )
    ranking = rank_bidders(bidders, settings.tie_rule)
    excluded = [Excluded(b.bidder_code, b.failed_checks) for b in bids if not b.is_qualified]
    excluded += list(review_failures)
    candidates = [r.bidder_code for r in ranking if r.rank <= settings.max_candidates]
    return Results(bidders, ranking, candidates, excluded, drop)


def rank_bidders(
    bidders: Sequence[BidderResult],
    tie_rule: RankingTieRule = RankingTieRule.PRICE_THEN_TECHNICAL,
) -> list[RankedBidder]:
    """Order bidders by total, then by the tie rule; bidders equal on every key share a rank
    (``decided_by`` is then ``tied``). Tied bidders are listed by code for display only.
    """
    technical = tie_rule is RankingTieRule.PRICE_THEN_TECHNICAL

    def key(r: BidderResult) -> tuple[Decimal, Decimal, Decimal]:
        return (-r.total, r.evaluated_price, -r.subjective_total if technical else Decimal(0))

    ordered = sorted(bidders, key=lambda r: (key(r), r.bidder_code))
    out: list[RankedBidder] = []
    for pos, r in enumerate(ordered):
        decided_by: str | None = None
        rank = pos + 1
        if pos:
            prev = ordered[pos - 1]
            if prev.total != r.total:
                decided_by = "total"
            elif prev.evaluated_price != r.evaluated_price:
                decided_by = "price"
            elif technical and prev.subjective_total != r.subjective_total:
                decided_by = "subjective_total"
            else:
                decided_by, rank = "tied", out[-1].rank
        out.append(RankedBidder(rank, r.bidder_code, r.total, decided_by))
    return out


# --- deviation flags ------------------------------------------------------------------------


@dataclass(frozen=True)
class Deviation:
    """A member's item score beyond the threshold around the item's mean (all members, no drop)."""

    member_id: str
    bidder_code: str
    item_id: str
    score: Decimal
    mean: Decimal
    deviation_pct: Decimal | None


def find_deviations(
    form: ScoreForm,
    bidder_codes: Sequence[str],
    sheets: Mapping[str, Entries],
    threshold_pct: Decimal,
    decimals: int = 2,
) -> list[Deviation]:
    """Return every subjective score farther than ``threshold_pct`` % from its item mean.

    The comparison uses the unrounded mean; a mean of 0 flags every non-zero score (its
    percentage is then None). Reported means and percentages are rounded.
    """
    out: list[Deviation] = []
    for code in bidder_codes:
        for item in form.subjective:
            values = {m: s[code][item.item_id] for m, s in sheets.items()}
            if not values:
                continue
            mean = sum(values.values(), Decimal(0)) / len(values)
            for member_id in sorted(values):
                score = values[member_id]
                gap = abs(score - mean)
                if mean == 0:
                    if score != 0:
                        out.append(
                            Deviation(
                                member_id, code, item.item_id, score, quantize(mean, decimals), None
                            )
                        )
                elif gap * 100 > abs(mean) * threshold_pct:
                    pct = quantize(gap / abs(mean) * 100, decimals)
                    out.append(
                        Deviation(
                            member_id, code, item.item_id, score, quantize(mean, decimals), pct
                        )
                    )
    return out
