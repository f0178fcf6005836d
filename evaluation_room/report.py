"""The evaluation report as data, and its canonical digest (what members sign).

The *body* holds everything the committee decided (scores by alias, aggregates, ranking,
flags, amendments); its digest is ``sha256`` over canonical JSON (:mod:`draw.cjson`, the one
canonical JSON of the code base: keys sorted, no whitespace, UTF-8) of the body converted by
:func:`evaluation_room._codec.encode` (decimals as strings, datetimes ISO-8601, enums by
value). Members sign the body's digest; the final report adds the signatures and its own
digest, which goes into the audit trail.

:func:`body_from_state` gathers the body's sections from a room's state (members, sheets and
flags by alias; bid corrections and score amendments as versions); :func:`final_report` adds
the signatures, in alias order, to the body frozen when signing started.
"""

from __future__ import annotations

from typing import Any

from draw import cjson
from evaluation_room._codec import encode
from evaluation_room.errors import IllegalTransition
from evaluation_room.state import (
    RoomState,
    alias_of,
    current_bids,
    find_participant,
    room_results,
)
from evaluation_room.views import low_score_reasons

REPORT_VERSION = 1


def canonical_json(data: Any) -> bytes:
    """Serialise ``data`` canonically: the room's types encoded, then :func:`draw.cjson.dumps`.

    A type the codec does not know (floats included) raises ``TypeError``; an integer beyond
    2^53 or a lone surrogate raises :class:`draw.errors.NotCanonical`.
    """
    return cjson.dumps(encode(data))


def digest(data: Any) -> str:
    """Return the hex sha256 of the canonical JSON of ``data``."""
    return cjson.digest(encode(data))


def build_report_body(
    *,
    room_id: str,
    project: dict[str, str],
    form: Any,
    bids: Any,
    members: list[dict[str, Any]],
    sheets: dict[str, Any],
    results: Any,
    flags: list[dict[str, Any]],
    amendments: list[dict[str, Any]],
    leader_alias: str | None,
    finalised_at: Any,
) -> dict[str, Any]:
    """Assemble the report body from the room's data; members and sheets appear by alias only."""
    body: dict[str, Any] = encode(
        {
            "report_version": REPORT_VERSION,
            "room_id": room_id,
            "project": project,
            "form": form,
            "bids": bids,
            "members": members,
            "leader": leader_alias,
            "sheets": sheets,
            "results": results,
            "flags": flags,
            "amendments": amendments,
            "finalised_at": finalised_at,
        }
    )
    return body


def build_final_report(body: dict[str, Any], signatures: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the body with the signatures, the body's digest and the whole report's digest."""
    report = {"body": body, "body_digest": digest(body), "signatures": encode(signatures)}
    report["report_digest"] = digest(report)
    return report


def body_from_state(s: RoomState) -> dict[str, Any]:
    """Assemble the report body from a room's current state (see :func:`build_report_body`)."""
    members = [
        {
            "alias": p.alias,
            "status": p.status,
            "replaces": alias_of(s, p.replaces),
            "removal_reason": p.removal_reason,
            # How the member was checked in: by SMS code, or by the venue host checking the ID
            # card in person (and why), with when.
            "check_in": {
                "method": p.check_in.method,
                "in_person_reason": p.check_in.in_person_reason,
                "at": p.check_in.checked_in_at,
            },
        }
        for p in s.participants
        if p.role.is_committee
    ]
    sheets = {
        alias_of(s, m) or m: {"scores": sh.current(), "is_voided": sh.voided_at is not None}
        for m, sh in s.sheets.items()
        if sh.submitted_at is not None
    }
    flags = [
        {
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
    ]
    body = build_report_body(
        room_id=s.room_id,
        project=s.project,
        form=s.form,
        bids=current_bids(s),
        members=members,
        sheets=sheets,
        results=room_results(s),
        flags=flags,
        amendments=_amendments(s),
        leader_alias=alias_of(s, s.leader_id),
        finalised_at=s.finalised_at,
    )
    # Sections added with the review stages and low-score reasons appear only when there is
    # something to say, so a report of a session without them keeps its earlier shape.
    review = _review_section(s)
    if review:
        body["review"] = encode(review)
    reasons = low_score_reasons(s)
    if reasons:
        body["low_score_reasons"] = encode(reasons)
    return body


def _review_section(s: RoomState) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for st in s.stages:
        if st.concluded_at is None:
            continue
        out.append(
            {
                "stage": st.stage,
                "bidders": st.bidders,
                "passed": st.passed,
                "failed": [
                    {
                        "bidder_code": b,
                        "item_id": f.item_id,
                        "fails": f.fails,
                        "members": f.members,
                        "reasons": f.reasons,
                    }
                    for b, items in st.failed.items()
                    for f in items
                ],
                "concluded_at": st.concluded_at,
            }
        )
    return out


def frozen_body(s: RoomState) -> dict[str, Any]:
    """The report body frozen when signing started (raises :class:`IllegalTransition` before)."""
    if s.report_body is None:
        raise IllegalTransition("the report is fixed when signing starts")
    return s.report_body


def final_report(s: RoomState) -> dict[str, Any]:
    """The frozen body with the signatures (in alias order) and the digests."""
    sigs = [
        {
            "member": sig.alias,
            "signed_at": sig.signed_at,
            "report_digest": sig.report_digest,
            "verdict": sig.verdict,
            "reasons": sig.reasons,
            "is_refusal": sig.is_refusal,
        }
        for sig in sorted(s.signatures.values(), key=lambda sig: _alias_number(s, sig.member_id))
    ]
    return build_final_report(frozen_body(s), sigs)


def _alias_number(s: RoomState, participant_id: str) -> int:
    return find_participant(s, participant_id).alias_number or 0


def _amendments(s: RoomState) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for member_id, sheet in sorted(s.sheets.items()):
        for bidder, items in sorted(sheet.entries.items()):
            for item_id, versions in sorted(items.items()):
                for v in versions[1:]:
                    out.append(
                        {
                            "member": alias_of(s, member_id),
                            "bidder_code": bidder,
                            "item_id": item_id,
                            "value": v.value,
                            "reason": v.reason,
                            "note": v.note,
                            "set_at": v.set_at,
                        }
                    )
    for code, bid_versions in sorted(s.bids.items()):
        for bv in bid_versions[1:]:
            out.append(
                {
                    "bidder_code": code,
                    "bid": bv.bid,
                    "reason": bv.reason,
                    "note": bv.note,
                    "entered_at": bv.entered_at,
                }
            )
    return out
