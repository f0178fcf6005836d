"""Secondary venues picked at random and hidden (远程异地评标 副场随机抽取).

When a remote project's draw request is made, before any commitment, the system picks one
secondary venue for each remote group among the centres (other than the main venue's) that have
enough free seats (工位) over the evaluation window at that moment, and limits the group to that
venue's city with its quota (the group's count). The pick is:

- random yet verifiable: the seed is SHA-256 over the draw ledger's head (fixed before the pick),
  the request id and a fresh nonce; the ledger records H(nonce) and H(pick document) at the pick,
  and the whole document (nonce, offers, picked venues) at the opening, so an auditor recomputes
  the pick with `pick_venues` and checks both digests (`verify_pick`);
- hidden: the document is sealed under the sealing key; the request's rows and every page show
  the remote groups as `remote-1`, `remote-2`, ... ("secondary venue 1..N") with no region, and
  their commitment counts are withheld from everybody, the operator included, until the opening.

`pick_venues` and `verify_pick` are pure (standard library only).
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from draw import cjson
from expertpool.accounts.models import Centre
from expertpool.core.keys import KeyStore
from expertpool.draws import ledger as draw_ledger
from expertpool.draws import sealing
from expertpool.draws.models import DrawRequestRecord, LedgerKind
from expertpool.projects import venues
from expertpool.projects.models import Project, SecondaryVenue, VenueRecord

VERSION = "remote-pick-v1"
REMOTE_PREFIX = "remote-"


def is_remote_group(group_key: str) -> bool:
    """Whether a group id is an opaque secondary-venue group (`remote-1`, ...)."""
    return group_key.startswith(REMOTE_PREFIX)


def remote_key(n: int) -> str:
    """The opaque id of the n-th secondary-venue group (1-based)."""
    return f"{REMOTE_PREFIX}{n}"


@dataclass(frozen=True)
class Offer:
    """One venue that may host a secondary-venue group: its centre's city and free seats."""

    venue_id: int
    centre: str  # the centre's region code (its city)
    free: int

    def to_json(self) -> dict[str, Any]:
        """As recorded in the pick document."""
        return {"venue_id": self.venue_id, "centre": self.centre, "free": self.free}


def seed_of(ledger_head: str, request_id: int, nonce: str) -> str:
    """The pick's seed: SHA-256 over the ledger head, the request id and the nonce."""
    return cjson.digest([VERSION, ledger_head, request_id, nonce])


def pick_venues(seed: str, quotas: Sequence[int], offers: Sequence[Offer]) -> list[Offer]:
    """For each quota in order, one venue with at least that many free seats, at most one per
    centre and never the same twice: the index is SHA-256(seed, group number) modulo the number
    of venues that qualify, taken in (centre, venue id) order. Raises `LookupError` when some
    quota finds no venue."""
    ordered = sorted(offers, key=lambda o: (o.centre, o.venue_id))
    used: set[str] = set()
    out: list[Offer] = []
    for n, quota in enumerate(quotas, start=1):
        fit = [o for o in ordered if o.free >= quota and o.centre not in used]
        if not fit:
            raise LookupError(n)
        index = int(cjson.digest([VERSION, seed, n]), 16) % len(fit)
        chosen = fit[index]
        used.add(chosen.centre)
        out.append(chosen)
    return out


def verify_pick(doc: dict[str, Any], *, pick_digest: str, nonce_digest: str) -> list[str]:
    """Recompute a revealed pick document against the digests recorded at the pick; returns the
    problems (empty when it holds)."""
    problems = []
    if cjson.digest(doc) != pick_digest:
        problems.append("the document does not match the digest recorded at the pick")
    if cjson.digest([VERSION, doc["nonce"]]) != nonce_digest:
        problems.append("the nonce does not match the digest recorded at the pick")
    seed = seed_of(doc["ledger_head"], doc["request_id"], doc["nonce"])
    if seed != doc["seed"]:
        problems.append("the seed is not derived from the ledger head, request and nonce")
    offers = [Offer(o["venue_id"], o["centre"], o["free"]) for o in doc["offers"]]
    try:
        again = pick_venues(seed, [g["quota"] for g in doc["groups"]], offers)
    except LookupError:
        return [*problems, "the offers do not fill every quota"]
    if [o.venue_id for o in again] != [g["venue_id"] for g in doc["groups"]]:
        problems.append("the picked venues differ from the recomputed ones")
    return problems


# The application side --------------------------------------------------------------------------


def offers_for(
    session: Session, project: Project, starts_at: datetime, ends_at: datetime
) -> list[Offer]:
    """Every venue of another centre than the main venue's, with its free seats over the window
    (computed from the seat catalogue and the live bookings)."""
    out = []
    for v in session.execute(
        select(VenueRecord).join(Centre).where(VenueRecord.centre_id != project.main_centre_id)
    ).scalars():
        free = len(venues.free_seats(session, v.id, starts_at, ends_at))
        if free:
            out.append(Offer(v.id, v.centre.region_code, free))
    return out


def _ad_label(request_id: int) -> str:
    return f"request-{request_id}"


def pick_for_request(
    session: Session,
    req: DrawRequestRecord,
    quotas: Sequence[int],
    *,
    keys: KeyStore,
    operator: str,
) -> dict[str, Any]:
    """Pick the secondary venues of a flushed request, seal the document on the request and record
    the pick in the draw ledger (no commit). Raises `LookupError(n)` when the n-th quota finds no
    venue with enough free seats."""
    project = req.project
    head = draw_ledger.head_hash(session)  # locks the head: nothing is appended meanwhile
    nonce = secrets.token_hex(32)
    seed = seed_of(head, req.id, nonce)
    offers = offers_for(session, project, req.evaluation_start_at, req.evaluation_end_at)
    picked = pick_venues(seed, quotas, offers)
    rows = {
        v.id: v
        for v in session.execute(
            select(VenueRecord).where(VenueRecord.id.in_([o.venue_id for o in picked]))
        ).scalars()
    }
    doc: dict[str, Any] = {
        "version": VERSION,
        "request_id": req.id,
        "project_code": project.code,
        "window": [req.evaluation_start_at.isoformat(), req.evaluation_end_at.isoformat()],
        "ledger_head": head,
        "nonce": nonce,
        "seed": seed,
        "offers": [o.to_json() for o in sorted(offers, key=lambda o: (o.centre, o.venue_id))],
        "groups": [
            {
                "group": remote_key(n),
                "quota": quota,
                "venue_id": o.venue_id,
                "centre": o.centre,
                "name": rows[o.venue_id].name,
                "address": rows[o.venue_id].address,
            }
            for n, (quota, o) in enumerate(zip(quotas, picked, strict=True), start=1)
        ],
    }
    clear = cjson.dumps(doc)
    req.remote_enc = sealing.seal_value(keys.sealing_key(), _ad_label(req.id), "remote", clear)
    draw_ledger.append_entry(
        session,
        draw_id=_ad_label(req.id),
        project_id=project.id,
        kind=LedgerKind.PICK,
        payload={
            "request_id": req.id,
            "version": VERSION,
            "ledger_head": head,
            "groups": [remote_key(n) for n in range(1, len(quotas) + 1)],
            "nonce_digest": cjson.digest([VERSION, nonce]),
            "pick_digest": cjson.digest(doc),
            "pick_enc": base64.b64encode(
                sealing.seal_value(keys.sealing_key(), _ad_label(req.id), "remote-ledger", clear)
            ).decode("ascii"),
        },
        operator=operator,
        terminal_id=req.terminal_id,
        request_id=req.id,
    )
    return doc


def open_pick(req: DrawRequestRecord, keys: KeyStore) -> dict[str, Any] | None:
    """The sealed pick document of a request (None when it has no remote groups). A
    supplementary request (补抽) for a secondary venue's group serves the venue its parent's pick
    chose."""
    holder: DrawRequestRecord | None = req
    session = object_session(req)
    while holder is not None and holder.remote_enc is None and holder.parent_id is not None:
        holder = session.get(DrawRequestRecord, holder.parent_id) if session else None
    if holder is None or holder.remote_enc is None:
        return None
    found: dict[str, Any] = json.loads(
        sealing.open_value(keys.sealing_key(), _ad_label(holder.id), "remote", holder.remote_enc)
    )
    return found


def regions_by_group(req: DrawRequestRecord, keys: KeyStore) -> dict[str, list[str]]:
    """Each remote group's city (its `regions_in`), from the sealed pick."""
    doc = open_pick(req, keys)
    return {g["group"]: [g["centre"]] for g in doc["groups"]} if doc else {}


def venue_of_group(req: DrawRequestRecord, keys: KeyStore, group_key: str) -> int | None:
    """The venue picked for a remote group (None for another group)."""
    if not is_remote_group(group_key):
        return None
    doc = open_pick(req, keys)
    for g in doc["groups"] if doc else []:
        if g["group"] == group_key:
            return int(g["venue_id"])
    return None


def reveal(session: Session, req: DrawRequestRecord, keys: KeyStore) -> dict[str, Any] | None:
    """At the opening: the picked venues' centres become the project's secondary venues (so the
    session seats their hosts and the project shows them) and the document is returned for the
    ledger's `opened` entry (no commit)."""
    doc = open_pick(req, keys)
    if doc is None:
        return None
    project = req.project
    have = {sv.centre_id for sv in project.secondary_venues}
    for g in doc["groups"]:
        venue = session.get(VenueRecord, int(g["venue_id"]))
        if venue is not None and venue.centre_id not in have:
            project.secondary_venues.append(SecondaryVenue(centre_id=venue.centre_id))
            have.add(venue.centre_id)
    session.flush()
    return doc


def withhold(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    """A commitment (or sealed record holding one) with the remote groups' eligible counts and
    digests taken out: what anyone may see before the opening."""
    if doc is None:
        return None
    out = dict(doc)
    if "commit" in out and isinstance(out["commit"], dict):
        out["commit"] = withhold(out["commit"])
    if isinstance(out.get("eligible"), list):
        out["eligible"] = [
            {"group": e["group"], "count": None, "digest": None}
            if is_remote_group(str(e.get("group", "")))
            else e
            for e in out["eligible"]
        ]
    return out
