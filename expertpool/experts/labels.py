"""Translated labels of the expert pages: statuses, title levels, avoidances, decisions."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from flask import Blueprint

from expertpool.core.texts import _l

EXPERT_STATUS_LABELS = {
    "draft": _l("Draft"),
    "submitted": _l("Submitted"),
    "under_review": _l("Under review"),
    "returned": _l("Returned for changes"),
    "in_publicity": _l("In publicity"),
    "active": _l("Active"),
    "rejected": _l("Rejected"),
    "on_leave": _l("On leave"),
    "suspended": _l("Suspended"),
    "retired": _l("Retired"),
    "removed": _l("Removed"),
}
TITLE_LEVEL_LABELS = {
    "full_senior": _l("Full senior"),
    "deputy_senior": _l("Deputy senior"),
    "equivalent": _l("Equivalent professional level"),
    "intermediate": _l("Intermediate"),
    "junior": _l("Junior"),
}
AVOIDANCE_LABELS = {"declared": _l("Own tie"), "relative": _l("Relative's organisation")}
RELATIVE_KIND_LABELS = {
    "spouse": _l("Spouse"),
    "parent": _l("Parent"),
    "child": _l("Child"),
    "sibling": _l("Sibling"),
    "other": _l("Other near relative"),
}
DECISION_LABELS = {
    "approve": _l("Approved"),
    "return": _l("Returned for changes"),
    "reject": _l("Rejected"),
}
STEP_LABELS = {
    "department": _l("Reviewing department"),
    "industry": _l("Industry department"),
    "pool_office": _l("Provincial pool office"),
}
OBJECTION_LABELS = {
    "open": _l("Open"),
    "upheld": _l("Upheld"),
    "dismissed": _l("Dismissed"),
}


def _label(table: Mapping[str, object]) -> Callable[[str], str]:
    def label(value: str) -> str:
        return str(table.get(value, value))

    return label


def register_filters(bp: Blueprint) -> None:
    """Install the label filters of the expert pages (for every page of the app)."""
    bp.add_app_template_filter(_label(EXPERT_STATUS_LABELS), "expert_status_label")
    bp.add_app_template_filter(_label(TITLE_LEVEL_LABELS), "title_level_label")
    bp.add_app_template_filter(_label(AVOIDANCE_LABELS), "avoidance_label")
    bp.add_app_template_filter(_label(DECISION_LABELS), "decision_label")
    bp.add_app_template_filter(_label(RELATIVE_KIND_LABELS), "relative_kind_label")
    bp.add_app_template_filter(_label(STEP_LABELS), "step_label")
    bp.add_app_template_filter(_label(OBJECTION_LABELS), "objection_label")
