"""What each participant of a room may see: the per-viewer snapshot and the visible scores.

Members see each other only as aliases; before every member has submitted nobody sees anyone
else's subjective scores (nor aggregates, flags or results); hosts see real names of members
booked at their venue once opened; supervisors see every name once opened; before opening
nobody sees another member's name. Every function returns JSON-serialisable data.
"""

from __future__ import annotations

from typing import Any

from evaluation_room._codec import encode
from evaluation_room.errors import ScoresHidden
from evaluation_room.model import (
    SCORES_VISIBLE_PHASES,
    SETUP_PHASES,
    FlagStatus,
    Participant,
    Phase,
    Role,
    Status,
)
from evaluation_room.scoring import Bid, objective_scores
from evaluation_room.state import (
    RoomState,
    active_sheets,
    alias_of,
    current_bids,
    effective_phase,
    find_active,
    find_participant,
    main_venue,
    room_results,
    submitted_scores,
)


def snapshot(s: RoomState, viewer_id: str) -> dict[str, Any]:
    """Return what ``viewer_id`` may see now, as JSON-serialisable data with ``seq``."""
    viewer = find_participant(s, viewer_id)
    phase = effective_phase(s)
    base: dict[str, Any] = {
        "room_id": s.room_id,
        "seq": s.seq,
        "phase": s.phase,
        "paused_from": s.paused_from,
        "pause_reason": s.pause_reason,
        "project": s.project,
        "viewer": {
            "participant_id": viewer.participant_id,
            "role": viewer.role,
            "alias": viewer.alias,
            "name": viewer.name,
            "venue_id": viewer.venue_id,
            "status": viewer.status,
            "is_leader": viewer.participant_id == s.leader_id,
            "last_request": s.requests.get(viewer.participant_id, 0),
        },
    }
    if viewer.status is not Status.ACTIVE:
        minimal: dict[str, Any] = encode(base)
        return minimal
    is_opened = phase is not Phase.SCHEDULED
    is_main_host = viewer.role is Role.HOST and viewer.venue_id == main_venue(s).venue_id
    venues = s.venues
    if viewer.role is Role.HOST and not is_opened:
        venues = [v for v in s.venues if v.venue_id == viewer.venue_id]
    base["venues"] = venues
    base["hosts"] = [
        {"name": p.name, "venue_id": p.venue_id}
        for p in s.participants
        if p.role is Role.HOST and any(v.venue_id == p.venue_id for v in venues)
    ]
    base["members"] = _members_view(s, viewer, is_opened)
    if viewer.role is Role.SUPERVISOR or is_main_host:
        base["pending_removals"] = [
            {
                "participant_id": r.member_id,
                "member": alias_of(s, r.member_id),
                "reason": r.reason,
                "proposed_at": r.proposed_at,
            }
            for r in s.pending_removals.values()
        ]
    base["form"] = s.form
    base["bids"] = current_bids(s) if (is_opened or is_main_host) else None
    base["scoring_bidders"] = s.scoring_bidders
    base["election"] = _election_view(s, viewer)
    base["leader"] = alias_of(s, s.leader_id)
    if viewer.role.is_committee:
        sheet = s.sheets.get(viewer.participant_id)
        base["my_sheet"] = (
            {
                "scores": sheet.current(),
                "reasons": sheet.reasons,
                "submitted_at": sheet.submitted_at,
            }
            if sheet and sheet.voided_at is None
            else None
        )
    is_visible = phase in SCORES_VISIBLE_PHASES
    base["objective"] = (
        objective_scores(
            s.form,
            _scoring_bids(s),
            s.settings.scoring.decimals,
            s.settings.scoring.small_enterprise_deduction_pct,
        )
        if s.form and phase not in SETUP_PHASES
        else None
    )
    base["scores"] = (
        {alias_of(s, m): sc for m, sc in submitted_scores(s).items()} if is_visible else None
    )
    base["results"] = room_results(s) if is_visible else None
    base["flags"] = (
        [
            {
                "flag_id": f.flag_id
                if f.member_id == viewer_id or not viewer.role.is_committee
                else None,
                "member": alias_of(s, f.member_id),
                "bidder_code": f.bidder_code,
                "item_id": f.item_id,
                "score": f.score,
                "mean": f.mean,
                "deviation_pct": f.deviation_pct,
                "status": f.status,
                "explanation": f.explanation,
            }
            for f in s.flags.values()
            if f.status is not FlagStatus.VOIDED
        ]
        if is_visible
        else None
    )
    base["stages"] = _stages_view(s, viewer)
    base["low_score_reason_pct"] = s.settings.scoring.low_score_reason_pct
    base["low_score_reasons"] = low_score_reasons(s) if is_visible else None
    base["report_digest"] = s.report_digest
    base["final_report_digest"] = s.final_report_digest
    base["signatures"] = [
        {
            "member": sig.alias,
            "verdict": sig.verdict,
            "reasons": sig.reasons,
            "signed_at": sig.signed_at,
            "is_refusal": sig.is_refusal,
        }
        for sig in s.signatures.values()
    ]
    out: dict[str, Any] = encode(base)
    return out


def visible_scores(s: RoomState, viewer_id: str) -> dict[str, Any]:
    """Every member's current scores by alias, or :class:`ScoresHidden` before all submit."""
    find_active(s, viewer_id)
    if effective_phase(s) not in SCORES_VISIBLE_PHASES:
        raise ScoresHidden("scores are shown once every member has submitted")
    scores = {alias_of(s, m): sc for m, sc in submitted_scores(s).items()}
    out: dict[str, Any] = encode(scores)
    return out


def low_score_reasons(s: RoomState) -> list[dict[str, Any]]:
    """The short reasons members gave for low scores, by alias (shown once all submitted)."""
    out: list[dict[str, Any]] = []
    for m, sheet in active_sheets(s).items():
        if sheet.submitted_at is None:
            continue
        current = sheet.current()
        for bidder, items in sorted(sheet.reasons.items()):
            for item_id, reason in sorted(items.items()):
                if item_id in current.get(bidder, {}):
                    out.append(
                        {
                            "member": alias_of(s, m),
                            "bidder_code": bidder,
                            "item_id": item_id,
                            "score": current[bidder][item_id],
                            "reason": reason,
                        }
                    )
    return out


def _stages_view(s: RoomState, viewer: Participant) -> list[dict[str, Any]]:
    """The review stages: who has submitted, the viewer's own marks, and once concluded the
    outcome with every fail reason (members by alias; nobody sees another's marks before)."""
    seated = {p.participant_id for p in s.participants if p.status is Status.ACTIVE}
    out: list[dict[str, Any]] = []
    for st in s.stages:
        mine = st.sheets.get(viewer.participant_id)
        entry: dict[str, Any] = {
            "stage": st.stage,
            "bidders": st.bidders,
            "submitted": sorted(
                alias_of(s, m) or ""
                for m, sh in st.sheets.items()
                if m in seated and sh.submitted_at is not None
            ),
            "my_marks": mine.marks if mine is not None else None,
            "is_concluded": st.concluded_at is not None,
            "passed": st.passed if st.concluded_at is not None else None,
            "failed": st.failed if st.concluded_at is not None else None,
        }
        out.append(entry)
    return out


def _scoring_bids(s: RoomState) -> list[Bid]:
    return [b for b in current_bids(s) if b.bidder_code in s.scoring_bidders]


def _codes_exhausted(s: RoomState, p: Participant) -> bool:
    ci, st = p.check_in, s.settings
    locked = ci.code is not None and ci.code.attempts >= st.code_max_attempts
    return ci.codes_issued >= st.code_max_issues or locked


def _members_view(s: RoomState, viewer: Participant, is_opened: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    submitted = set(submitted_scores(s))
    for p in s.participants:
        if not p.role.is_committee:
            continue
        is_self = p.participant_id == viewer.participant_id
        if not is_opened and not is_self:
            if viewer.role.is_committee:
                continue
            if viewer.role is Role.HOST and p.venue_id != viewer.venue_id:
                continue
        entry: dict[str, Any] = {
            "alias": p.alias,
            "status": p.status,
            "is_checked_in": p.is_checked_in,
            "has_submitted": p.participant_id in submitted,
            "has_signed": p.participant_id in s.signatures,
            "is_leader": p.participant_id == s.leader_id,
            "replaces": alias_of(s, p.replaces),
        }
        if not viewer.role.is_committee:
            entry.update(
                participant_id=p.participant_id,
                role=p.role,
                venue_id=p.venue_id,
                seat=p.check_in.seat or p.seat,
                has_valid_code=p.check_in.code_verified_at is not None,
                codes_exhausted=_codes_exhausted(s, p),
                check_in_method=p.check_in.method,
            )
        shows_name = is_self or (
            is_opened
            and (
                viewer.role is Role.SUPERVISOR
                or (viewer.role is Role.HOST and p.venue_id == viewer.venue_id)
            )
        )
        if shows_name:
            entry["name"] = p.name
        out.append(entry)
    return out


def _election_view(s: RoomState, viewer: Participant) -> dict[str, Any] | None:
    e = s.election
    if e is None:
        return None
    return {
        "electorate": [alias_of(s, m) for m in e.electorate],
        # Whom one may vote for: the electorate, or only the experts where the regime's rules do
        # not let a tenderer's representative lead (the vote menu lists exactly these).
        "candidates": [
            alias_of(s, m) for m in (e.electorate if e.eligible is None else e.eligible)
        ],
        "rounds": [
            {
                "number": r.number,
                "voted": [alias_of(s, m) for m in r.votes],
                "my_vote": alias_of(s, r.votes.get(viewer.participant_id)),
                "counts": {alias_of(s, k): v for k, v in r.counts.items()} or None,
            }
            for r in e.rounds
        ],
        "leader": alias_of(s, e.leader),
        "decided_by": e.decided_by,
    }
