"""Translated labels of regimes, methods, rules, rule statuses and project outcomes."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from flask import Blueprint

from expertpool.core.texts import _l

REGIME_LABELS = {
    "*": _l("Every regime"),
    "tendering_law": _l("Tendering and Bidding Law (招标投标法)"),
    "government_procurement": _l("Government Procurement Law (政府采购法)"),
    "land": _l("Land use rights (土地使用权)"),
    "mining_rights": _l("Mining rights (矿业权)"),
    "state_assets": _l("State-owned assets (国有产权)"),
    "medical_consumables": _l("Medical consumables (医用耗材)"),
}
METHOD_LABELS = {
    "*": _l("Every method"),
    "open_tender": _l("Open tender (公开招标)"),
    "invited_tender": _l("Invited tender (邀请招标)"),
    "competitive_negotiation": _l("Competitive negotiation (竞争性谈判)"),
    "competitive_consultation": _l("Competitive consultation (竞争性磋商)"),
    "request_for_quotation": _l("Request for quotation (询价)"),
    "single_source": _l("Single source (单一来源)"),
    "framework_agreement": _l("Framework agreement (框架协议)"),
}
RULE_LABELS = {
    "committee_min_members": _l("Committee: minimum members"),
    "committee_large_min_members": _l("Committee: minimum for large or complex projects"),
    "committee_large_budget_cny": _l(
        "Committee: budget (yuan) from which the larger minimum applies"
    ),
    "committee_large_when_complex": _l("Committee: the larger minimum applies to complex projects"),
    "committee_odd": _l("Committee: odd number of members"),
    "expert_share": _l("Committee: smallest share of experts"),
    "representative_may_lead": _l("Leader: a purchaser's representative may lead"),
    "draw_lead_working_days": _l("Draw: at most this many working days before the evaluation"),
    "draw_timing_exempt": _l("Draw: this method is exempt from the timing rule"),
    "draw_timing_exempt_offsite": _l("Draw: off-site evaluation is exempt from the timing rule"),
    "scoring_methods": _l("Scoring methods allowed"),
    "price_weight_pct": _l("Price weight range (%) by kind, comprehensive scoring"),
    "small_enterprise_deduction_pct": _l("Price deduction for small and micro enterprises (%)"),
    "tie_rule": _l("Tie rule of the ranking"),
    "review_majority": _l("Majority rule of the review stages"),
    "low_score_reason_pct": _l("Share of an item's points below which a score needs a reason"),
    "method_total_points": _l("Points a comprehensive scoring method adds up to"),
    "max_candidates": _l("Ranked candidates in the report (at most)"),
    "report_contents": _l("Mandatory contents of the report"),
    "qualification_paths": _l("Qualification paths (title levels and years)"),
}
RULE_STATUS_LABELS = {
    "quoted": _l("Quoted from the official text"),
    "commonly_cited": _l("As commonly cited, not checked against the official text"),
    "local_practice": _l("Provincial or common practice, not checked against an official text"),
}
OUTCOME_LABELS = {
    "too_few_bids": _l("Too few bids (流标)"),
    "all_rejected": _l("Every bid rejected (废标)"),
}


def _label(table: Mapping[str, object]) -> Callable[[str], str]:
    def label(value: str) -> str:
        return str(table.get(value, value))

    return label


def register_filters(bp: Blueprint) -> None:
    """Install the label filters (for every page of the app)."""
    bp.add_app_template_filter(_label(REGIME_LABELS), "regime_label")
    bp.add_app_template_filter(_label(METHOD_LABELS), "method_label")
    bp.add_app_template_filter(_label(RULE_LABELS), "rule_label")
    bp.add_app_template_filter(_label(RULE_STATUS_LABELS), "rule_status_label")
    bp.add_app_template_filter(_label(OUTCOME_LABELS), "outcome_label")
