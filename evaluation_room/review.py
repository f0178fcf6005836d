"""The review stages before scoring: qualification review (资格审查) and compliance review
(符合性审查).

In each stage every seated member marks each remaining bidder pass or fail on each of the
stage's items, with a reason for every fail, and submits. When the last member has submitted,
the stage concludes item by item under the regime's majority rule (rules as data, passed in as
``RoomSettings.review_majority``): ``simple_majority`` fails an item when more than half of the
members failed it, ``two_thirds`` when at least two thirds did. A bidder failing any item leaves
the evaluation; its failed items and the members' reasons are kept for the report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from evaluation_room.errors import InvalidInput
from evaluation_room.scoring import Category, Excluded, ScoreForm

MAJORITY_RULES = ("simple_majority", "two_thirds")
MAX_REASON = 500


def is_failed(fails: int, members: int, rule: str) -> bool:
    """Whether ``fails`` fail marks out of ``members`` fail the item under ``rule``."""
    if rule == "two_thirds":
        return fails * 3 >= members * 2 and fails > 0
    if rule == "simple_majority":
        return fails * 2 > members
    raise ValueError(f"unknown majority rule {rule!r}")


@dataclass
class ReviewMark:
    """One member's mark on one bidder and item; a fail carries its reason."""

    passed: bool
    reason: str = ""


@dataclass
class ReviewSheet:
    """A member's marks in one stage (bidder -> item -> mark) and when they were submitted."""

    member_id: str
    marks: dict[str, dict[str, ReviewMark]] = field(default_factory=dict)
    submitted_at: datetime | None = None


@dataclass
class FailedItem:
    """An item the committee failed a bidder on, with the fail count and the reasons given."""

    item_id: str
    fails: int
    members: int
    reasons: list[str]


@dataclass
class ReviewStage:
    """One review stage: the bidders it reviews, the members' sheets and its conclusion."""

    stage: Category
    bidders: list[str]
    started_at: datetime
    sheets: dict[str, ReviewSheet] = field(default_factory=dict)
    concluded_at: datetime | None = None
    failed: dict[str, list[FailedItem]] = field(default_factory=dict)
    """bidder -> the items it failed (empty for a bidder that passed)."""

    @property
    def passed(self) -> list[str]:
        """The bidders that passed every item (after the conclusion)."""
        return [b for b in self.bidders if not self.failed.get(b)]


def parse_marks(
    form: ScoreForm, stage: Category, bidders: Sequence[str], raw: object
) -> dict[str, dict[str, ReviewMark]]:
    """Validate a complete set of marks for ``stage``: every bidder and item, ``passed`` a
    boolean, a reason (at most 500 characters) for each fail; raise :class:`InvalidInput`
    with every offending ``"<bidder>.<item>"``."""
    if not isinstance(raw, Mapping):
        raise InvalidInput("marks must map bidder codes to items", fields={"marks": "mapping"})
    items = form.review_items(stage)
    problems: dict[str, str] = {}
    out: dict[str, dict[str, ReviewMark]] = {}
    for bidder in raw:
        if bidder not in bidders:
            problems[str(bidder)] = "not a bidder of this stage"
    for bidder in bidders:
        row = raw.get(bidder)
        for item in items:
            key = f"{bidder}.{item.item_id}"
            mark = row.get(item.item_id) if isinstance(row, Mapping) else None
            if not isinstance(mark, Mapping) or not isinstance(mark.get("passed"), bool):
                problems[key] = "mark pass or fail"
                continue
            reason = mark.get("reason", "")
            if not isinstance(reason, str) or len(reason) > MAX_REASON:
                problems[key] = f"a reason of at most {MAX_REASON} characters"
                continue
            if not mark["passed"] and not reason.strip():
                problems[key] = "a fail needs a reason"
                continue
            out.setdefault(bidder, {})[item.item_id] = ReviewMark(
                mark["passed"], reason.strip() if not mark["passed"] else ""
            )
    if problems:
        raise InvalidInput("some marks are missing or invalid", fields=problems)
    return out


def conclude(
    stage: ReviewStage, form: ScoreForm, sheets: Mapping[str, ReviewSheet], rule: str
) -> dict[str, list[FailedItem]]:
    """The stage's conclusion from the submitted sheets: bidder -> failed items (possibly [])."""
    members = len(sheets)
    out: dict[str, list[FailedItem]] = {}
    for bidder in stage.bidders:
        failed: list[FailedItem] = []
        for item in form.review_items(stage.stage):
            marks = [sh.marks[bidder][item.item_id] for sh in sheets.values()]
            fails = [m for m in marks if not m.passed]
            if is_failed(len(fails), members, rule):
                failed.append(
                    FailedItem(item.item_id, len(fails), members, [m.reason for m in fails])
                )
        out[bidder] = failed
    return out


def review_exclusions(stages: Sequence[ReviewStage]) -> list[Excluded]:
    """The bidders the concluded stages failed, with the items and the reasons, for results."""
    out: list[Excluded] = []
    for st in stages:
        if st.concluded_at is None:
            continue
        for bidder in st.bidders:
            items = st.failed.get(bidder) or []
            if items:
                reasons = [f"{f.item_id}: {r}" for f in items for r in f.reasons]
                out.append(Excluded(bidder, [f.item_id for f in items], st.stage.value, reasons))
    return out
