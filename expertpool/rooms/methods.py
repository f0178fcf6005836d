"""Scoring methods built in an editor: item rows to a room score form, the checks the regime's
rules make (total points, price weight), the bidders as rows, and a centre's templates.

Staff never type JSON or CSV: the editor posts one row of fields per item (`items-<n>-<field>`)
and per bidder (`bidders-<n>-<field>`); :func:`parse_items` and :func:`parse_bidders` turn them
into the room's :class:`~evaluation_room.scoring.ScoreForm` and bids, or into field-level
translated errors keyed by those field names. A refused save saves nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from evaluation_room._codec import decode, encode
from evaluation_room.errors import RoomError
from evaluation_room.scoring import (
    PRICE_FORMULAS,
    REVIEW_CATEGORIES,
    Bid,
    Category,
    ItemKind,
    ScoreForm,
    ScoreItem,
    formula_names,
    formula_params,
    price_weight,
    quantize,
    validate_form,
)
from expertpool.core import audit
from expertpool.core.db import utcnow
from expertpool.core.errors import NotFound, ValidationFailed
from expertpool.core.texts import translated
from expertpool.regimes.models import LegalRegime
from expertpool.regimes.rules import RuleSet
from expertpool.rooms.models import ScoringTemplate

KINDS = ("goods", "services", "works")
REGIMES = tuple(r.value for r in LegalRegime)
MAX_ITEMS = 60
MAX_BIDDERS = 200
MAX_POINTS = Decimal(1000)
ROW = re.compile(r"^(items|bidders)-(\d{1,3})-([a-z_]+)$")
CHECK = re.compile(r"^bidders-(\d{1,3})-check-([A-Za-z0-9_-]{1,40})$")


def _rows(data: Mapping[str, str], prefix: str) -> list[dict[str, str]]:
    """The submitted rows of `prefix` in index order (a row with a `remove` flag is dropped)."""
    rows: dict[int, dict[str, str]] = {}
    for key, value in data.items():
        m = ROW.match(key)
        if m and m.group(1) == prefix:
            rows.setdefault(int(m.group(2)), {})[m.group(3)] = str(value)
        c = CHECK.match(key) if prefix == "bidders" else None
        if c:
            rows.setdefault(int(c.group(1)), {})["check-" + c.group(2)] = str(value)
    return [rows[i] for i in sorted(rows) if not rows[i].get("remove")]


def _number(raw: str, field: str, errors: dict[str, str], default: str | None = None) -> Decimal:
    text = (raw or "").strip() or (default or "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        errors[field] = translated("Enter a number.")
        return Decimal(0)
    if not value.is_finite() or value < 0 or value > MAX_POINTS:
        errors[field] = translated("Enter a number from 0 to 1000.")
        return Decimal(0)
    return value


def _is_blank(row: Mapping[str, str]) -> bool:
    return not any(
        (row.get(k) or "").strip() for k in ("name", "minimum", "maximum", "criteria", "formula")
    )


def parse_items(data: Mapping[str, str]) -> tuple[ScoreForm | None, dict[str, str]]:
    """The score form the item rows describe, or None and the errors by field name.

    Kinds: ``pass_fail`` (qualification or compliance; a qualification item is reviewed by the
    committee unless the purchaser reviewed it), ``subjective`` (points from a range, in steps)
    and ``objective`` (computed by a registered formula from its parameters). Item ids are kept
    from the rows (hidden fields) or made from the row's position.
    """
    errors: dict[str, str] = {}
    items: list[ScoreItem] = []
    rows = [r for r in _rows(data, "items") if not _is_blank(r)]
    if len(rows) > MAX_ITEMS:
        return None, {"items": translated("At most %(n)s items.", n=MAX_ITEMS)}
    used: set[str] = set()
    for n, row in enumerate(rows):
        f = f"items-{n}-"
        item_id = (row.get("item_id") or "").strip()
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", item_id) or item_id in used:
            item_id = f"i{n + 1}"
            while item_id in used:
                item_id += "x"
        used.add(item_id)
        name = (row.get("name") or "").strip()
        if not name or len(name) > 100:
            errors[f + "name"] = translated("Name the item (at most 100 characters).")
        criteria = (row.get("criteria") or "").strip()
        if len(criteria) > 1000:
            errors[f + "criteria"] = translated("At most 1000 characters.")
        try:
            category = Category(row.get("category") or "")
        except ValueError:
            errors[f + "category"] = translated("Choose a category.")
            continue
        try:
            kind = ItemKind(row.get("kind") or "")
        except ValueError:
            errors[f + "kind"] = translated("Choose a kind.")
            continue
        if kind is ItemKind.PASS_FAIL:
            if category not in REVIEW_CATEGORIES:
                errors[f + "kind"] = translated(
                    "Only qualification and compliance items are pass/fail."
                )
                continue
            by_committee = category is Category.COMPLIANCE or row.get("by_committee") != "purchaser"
            items.append(
                ScoreItem(
                    item_id,
                    name,
                    kind,
                    Decimal(0),
                    Decimal(0),
                    category=category,
                    criteria=criteria,
                    by_committee=by_committee,
                )
            )
            continue
        if category in REVIEW_CATEGORIES:
            errors[f + "kind"] = translated("Qualification and compliance items are pass/fail.")
            continue
        minimum = _number(row.get("minimum", ""), f + "minimum", errors, "0")
        maximum = _number(row.get("maximum", ""), f + "maximum", errors)
        step = _number(row.get("step", ""), f + "step", errors, "0.5")
        weight = _number(row.get("weight", ""), f + "weight", errors, "1")
        if f + "maximum" not in errors and not minimum < maximum:
            errors[f + "maximum"] = translated("The maximum must be above the minimum.")
        elif f + "step" not in errors and (step <= 0 or (maximum - minimum) % step != 0):
            errors[f + "step"] = translated("The step must be above 0 and divide the range.")
        if f + "weight" not in errors and weight <= 0:
            errors[f + "weight"] = translated("The weight must be above 0.")
        formula: str | None = None
        params: dict[str, str] = {}
        if kind is ItemKind.OBJECTIVE:
            formula = row.get("formula") or ""
            if formula not in formula_names():
                errors[f + "formula"] = translated("Choose a formula.")
                continue
            if (formula in PRICE_FORMULAS) != (category is Category.PRICE):
                errors[f + "formula"] = translated(
                    "A price formula scores the price category, and only it."
                )
            for p in formula_params(formula):
                raw = (row.get("param_" + p) or "").strip()
                if raw:
                    value = _number(raw, f"{f}param_{p}", errors)
                    params[p] = str(value)
        elif category is Category.PRICE:
            errors[f + "kind"] = translated("The price is scored by a formula (objective).")
        items.append(
            ScoreItem(
                item_id,
                name,
                kind,
                minimum,
                maximum,
                step,
                weight,
                formula,
                params,
                category=category,
                criteria=criteria,
            )
        )
    form = ScoreForm(tuple(items))
    if not errors and not form.scored:
        errors["items"] = translated("Add at least one item that gives points.")
    if not errors:
        try:
            validate_form(form)
        except RoomError:
            errors["items"] = translated("The items are not valid: check each row.")
    return (None if errors else form), errors


@dataclass(frozen=True)
class MethodSummary:
    """What the editor shows beside the rows: totals and the regime's checks."""

    total: Decimal
    price_weight: Decimal | None
    price_range: tuple[int, int] | None
    fixed_total: Decimal | None
    stages: tuple[str, ...]

    @property
    def total_text(self) -> str:
        """The total as people write it (100, 99.5)."""
        return f"{self.total.normalize():f}"


def summarise(form: ScoreForm, rules: RuleSet | None, kind: str) -> MethodSummary:
    """Totals of a form and the ranges its rules allow."""
    weight = price_weight(form)
    return MethodSummary(
        total=form.total_points,
        price_weight=quantize(weight, 2) if weight is not None else None,
        price_range=rules.price_weight_pct.get(kind) if rules else None,
        fixed_total=rules.method_total_points if rules else None,
        stages=tuple(c.value for c in form.stages),
    )


def rule_errors(form: ScoreForm, rules: RuleSet | None, kind: str) -> dict[str, str]:
    """Field errors for a form the rules refuse: total points and the price weight's range."""
    if rules is None:
        return {}
    s = summarise(form, rules, kind)
    errors: dict[str, str] = {}
    if s.fixed_total is not None and s.total != s.fixed_total:
        errors["total"] = translated(
            "The items add up to %(total)s points; the rules require %(fixed)s.",
            total=s.total,
            fixed=s.fixed_total,
        )
    if s.price_range is not None:
        lo, hi = s.price_range
        if s.price_weight is None or not Decimal(lo) <= s.price_weight <= Decimal(hi):
            errors["price_weight"] = translated(
                "The price weight is %(weight)s %%; the rules allow %(lo)s %% to %(hi)s %%.",
                weight=s.price_weight if s.price_weight is not None else 0,
                lo=lo,
                hi=hi,
            )
    return errors


def item_rows(form: ScoreForm | None) -> list[dict[str, str]]:
    """The editor's rows for a form (strings, as the fields show them)."""
    if form is None:
        return []
    rows = []
    for it in form.items:
        row = {
            "item_id": it.item_id,
            "name": it.name,
            "category": (it.category or _guess_category(it)).value,
            "kind": it.kind.value,
            "minimum": str(it.minimum) if it.kind is not ItemKind.PASS_FAIL else "",
            "maximum": str(it.maximum) if it.kind is not ItemKind.PASS_FAIL else "",
            "step": str(it.step) if it.kind is ItemKind.SUBJECTIVE else "",
            "weight": str(it.weight) if it.kind is not ItemKind.PASS_FAIL else "",
            "formula": it.formula or "",
            "criteria": it.criteria,
            "by_committee": "committee" if it.by_committee else "purchaser",
        }
        for p, v in it.params.items():
            row["param_" + p] = v
        rows.append(row)
    return rows


def _guess_category(it: ScoreItem) -> Category:
    """The category of an item saved before categories existed."""
    if it.formula in PRICE_FORMULAS:
        return Category.PRICE
    return Category.TECHNICAL


def purchaser_checks(form: ScoreForm | None) -> list[ScoreItem]:
    """The qualification items the purchaser reviewed: each bidder's outcome is entered."""
    if form is None:
        return []
    return [
        i
        for i in form.items
        if i.kind is ItemKind.PASS_FAIL
        and i.category is Category.QUALIFICATION
        and not i.by_committee
    ]


def parse_bidders(
    data: Mapping[str, str], checks: Sequence[ScoreItem]
) -> tuple[list[Bid] | None, dict[str, str]]:
    """The bids the bidder rows describe (code, name, price, small enterprise, and the
    purchaser's qualification checks), or None and the errors by field name."""
    errors: dict[str, str] = {}
    bids: list[Bid] = []
    rows = [
        r
        for r in _rows(data, "bidders")
        if any((r.get(k) or "").strip() for k in ("code", "name", "price"))
    ]
    if len(rows) > MAX_BIDDERS:
        return None, {"bidders": translated("At most %(n)s bidders.", n=MAX_BIDDERS)}
    seen: set[str] = set()
    for n, row in enumerate(rows):
        f = f"bidders-{n}-"
        code = (row.get("code") or "").strip()
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", code):
            errors[f + "code"] = translated("A code of letters, digits, - or _ (at most 40).")
        elif code in seen:
            errors[f + "code"] = translated("Each bidder needs its own code.")
        seen.add(code)
        name = (row.get("name") or "").strip()
        if not name or len(name) > 200:
            errors[f + "name"] = translated("Name the bidder (at most 200 characters).")
        raw = (row.get("price") or "").strip().replace(",", "")
        try:
            price = Decimal(raw)
            if not price.is_finite() or price <= 0 or price >= Decimal(10) ** 13:
                raise InvalidOperation
        except InvalidOperation:
            errors[f + "price"] = translated("Enter the bid price in yuan (above 0).")
            price = Decimal(1)
        outcome = {c.item_id: row.get("check-" + c.item_id, "pass") != "fail" for c in checks}
        small = row.get("small") in ("1", "on", "true")
        bids.append(Bid(code, name, price, outcome, small))
    if not errors and not bids:
        errors["bidders"] = translated("Add at least one bidder.")
    return (None if errors else bids), errors


def bidder_rows(bids: Sequence[Mapping[str, Any]] | None) -> list[dict[str, str]]:
    """The editor's rows for the room's bids (as the snapshot gives them)."""
    rows = []
    for b in bids or []:
        row = {
            "code": str(b["bidder_code"]),
            "name": str(b["bidder_name"]),
            "price": str(b["price"]),
            "small": "1" if b.get("is_small_enterprise") else "",
        }
        for k, ok in (b.get("checks") or {}).items():
            row["check-" + k] = "pass" if ok else "fail"
        rows.append(row)
    return rows


# --- templates --------------------------------------------------------------------------------


def templates_of(session: Session, centre_id: int | None) -> list[ScoringTemplate]:
    """The centre's templates by name."""
    if centre_id is None:
        return []
    return list(
        session.execute(
            select(ScoringTemplate)
            .where(ScoringTemplate.centre_id == centre_id)
            .order_by(ScoringTemplate.name)
        ).scalars()
    )


def get_template(session: Session, centre_id: int | None, template_id: int) -> ScoringTemplate:
    """A template of the centre (another centre's is not found)."""
    row = session.get(ScoringTemplate, template_id)
    if row is None or centre_id is None or row.centre_id != centre_id:
        raise NotFound()
    return row


def template_form(row: ScoringTemplate) -> ScoreForm:
    """The template's score form."""
    form: ScoreForm = decode(ScoreForm, json.loads(row.form))
    return form


def save_template(
    session: Session,
    *,
    centre_id: int | None,
    name: str,
    regime: str,
    kind: str,
    form: ScoreForm,
    actor: str,
    template_id: int | None = None,
) -> ScoringTemplate:
    """Create (or, with `template_id`, replace) a centre's template; commits.

    The form is already checked by the caller (:func:`parse_items`, :func:`rule_errors`).
    """
    name = name.strip()
    errors: dict[str, str] = {}
    if centre_id is None:
        errors["template_name"] = translated("Your account belongs to no centre.")
    if not name or len(name) > 100:
        errors["template_name"] = translated("Name the template (at most 100 characters).")
    if kind not in KINDS:
        errors["kind"] = translated("Choose what is procured.")
    if regime not in REGIMES:
        errors["regime"] = translated("Choose the legal regime.")
    clash = session.execute(
        select(ScoringTemplate.id).where(
            ScoringTemplate.centre_id == centre_id, ScoringTemplate.name == name
        )
    ).scalar_one_or_none()
    if clash is not None and clash != template_id:
        errors["template_name"] = translated("The centre already has a template of this name.")
    if errors:
        raise ValidationFailed(fields=errors)
    assert centre_id is not None
    if template_id is not None:
        row = get_template(session, centre_id, template_id)
    else:
        row = ScoringTemplate(centre_id=centre_id, created_by=actor, created_at=utcnow())
        session.add(row)
    row.name, row.kind, row.regime = name, kind, regime
    row.form = json.dumps(encode(form), ensure_ascii=False, sort_keys=True)
    row.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="scoring_template.saved",
        object_type="scoring_template",
        object_id=row.id,
        after={"name": name, "kind": kind, "centre_id": centre_id, "items": len(form.items)},
    )
    session.commit()
    return row
