"""The evaluation report as data, and its canonical digest (what members sign).

The *body* holds everything the committee decided (scores by alias, aggregates, ranking,
flags, amendments); its digest is ``sha256`` over canonical JSON (:mod:`draw.cjson`, the one
canonical JSON of the code base: keys sorted, no whitespace, UTF-8) of the body converted by
:func:`evaluation_room._codec.encode` (decimals as strings, datetimes ISO-8601, enums by
value). Members sign the body's digest; the final report adds the signatures and its own
digest, which goes into the audit trail.
"""

from __future__ import annotations

from typing import Any

from draw import cjson
from evaluation_room._codec import encode

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
