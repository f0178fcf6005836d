"""The drawn panel after sealing: invitations in rank order, replacement (§9), seats, viewing.

Invitations go out in the draw's transaction. When an invitee declines, does not answer,
withdraws, is removed or turns out booked, the next backup of the group is invited by §9 with
every skip logged; when the backups run out, a supplementary request (补抽) linked to its parent
is created and waits for an operator and a supervisor at a terminal. Names are shown only after
opening: supervisors see everyone, a centre's staff only the experts seated at their venues.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import draw
from expertpool.accounts.models import User, UserRole
from expertpool.core import audit
from expertpool.core.calendar import cst_date
from expertpool.core.db import utcnow
from expertpool.core.errors import Conflict, Forbidden, NotFound, must_exist
from expertpool.core.keys import KeyStore
from expertpool.core.pii import PiiCipher
from expertpool.core.texts import _l
from expertpool.core.tokens import ExpertTokens
from expertpool.draws import remote, sealing
from expertpool.draws.conflicts import related_pairs, related_to
from expertpool.draws.models import (
    Draw,
    DrawGroup,
    DrawInvitee,
    DrawRequestRecord,
    DrawRequestStatus,
    DrawStatus,
    InviteeStatus,
)
from expertpool.draws.snapshot import employers_in_snapshot
from expertpool.experts.models import Expert, ExpertLeave
from expertpool.notifications import context, invitations
from expertpool.notifications.context import InvitationCallbacks, NotifyContext, Seating
from expertpool.notifications.models import InvitationRecord, InvitationState
from expertpool.projects import venues
from expertpool.projects.models import Project, Seat, SeatBooking, VenueRecord

ENDED = {
    InviteeStatus.DECLINED,
    InviteeStatus.NO_RESPONSE,
    InviteeStatus.WITHDRAWN,
    InviteeStatus.REMOVED,
    InviteeStatus.UNAVAILABLE,
}
ACTOR = "draw"


def notify_invitee(
    session: Session,
    d: Draw,
    invitee: DrawInvitee,
    expert_id: int,
    now: datetime,
    ctx: NotifyContext,
) -> None:
    """Queue one invitation (SMS and call) in the outbox, in the caller's transaction.

    This is the contact path: the expert's name and phone are decrypted for this one invitee,
    and the decryption is recorded in the audit trail (without the name or number).
    """
    expert = must_exist(session.get(Expert, expert_id))
    audit.record(
        session,
        actor=ACTOR,
        action="draw.contact",
        object_type="draw",
        object_id=d.draw_id,
        after={"group": invitee.group_key, "invitee": invitee.id},
    )
    phone = ""
    if expert.phone_enc:
        phone = PiiCipher.from_keys(ctx.keys).decrypt(
            expert.phone_enc, table="expert", row_id=expert.id, column="phone"
        )
    if not phone:
        audit.record(
            session,
            actor=ACTOR,
            action="draw.no_phone",
            object_type="draw",
            object_id=d.draw_id,
            after={"invitee": invitee.id},
        )
        return
    group = next(g for g in json.loads(d.request_json)["groups"] if g["id"] == invitee.group_key)
    rank = invitee.position if invitee.is_primary else group["count"] + invitee.position
    invitations.enqueue_invitation(
        session,
        draw_id=d.draw_id,
        group_id=invitee.group_key,
        expert_id=expert_id,
        rank=rank,
        phone=phone,
        expert_name=expert.name,
        starts_at=d.request.evaluation_start_at,
        venue=_venue_label(session, d, expert, invitee.group_key, ctx.keys),
        now=now,
        ctx=ctx,
    )


def _venue_label(session: Session, d: Draw, expert: Expert, group_key: str, keys: KeyStore) -> str:
    """The place as the invitee hears it: where they will sit, the secondary venue picked for
    their group or the one of their own city in a remote evaluation, else the main centre's
    (first venue's name and address)."""
    project = must_exist(session.get(Project, d.project_id))
    found = _venues_for(session, d, project, expert, group_key, keys)
    if found:
        return f"{found[0].name} {found[0].address}".strip()
    return project.main_centre.name


REPLACEMENT_REASONS = {
    "declined": InviteeStatus.DECLINED,
    "no_response": InviteeStatus.NO_RESPONSE,
    "unreachable": InviteeStatus.NO_RESPONSE,
    "withdrawn": InviteeStatus.WITHDRAWN,
}


def on_replacement(
    session: Session, invitation: InvitationRecord, reason: str, ctx: NotifyContext
) -> None:
    """The outbox's replacement callback: the invitee leaves, the next backup is invited (no
    commit).

    An invitation that belongs to no draw of ours is only recorded as needing a replacement.
    """
    if (
        session.execute(
            select(Draw.id).where(Draw.draw_id == invitation.draw_id)
        ).scalar_one_or_none()
        is None
    ):
        audit.record(
            session,
            actor=context.ACTOR,
            action="invitation.replacement_requested",
            object_type="invitation",
            object_id=invitation.id,
            after={
                "draw_id": invitation.draw_id,
                "group_id": invitation.group_id,
                "rank": invitation.rank,
                "reason": reason,
            },
        )
        return
    status = REPLACEMENT_REASONS.get(reason, InviteeStatus.NO_RESPONSE)
    try:
        vacate(
            session,
            draw_id=invitation.draw_id,
            expert_token=invitation.expert_token,
            status=status,
            reason=reason,
            ctx=ctx,
            now=utcnow(),
        )
    except (Conflict, NotFound) as exc:
        audit.record(
            session,
            actor=ACTOR,
            action="draw.replacement_skipped",
            object_type="draw",
            object_id=invitation.draw_id,
            after={"reason": reason, "why": exc.code},
        )


def on_acceptance(session: Session, invitation: InvitationRecord, ctx: NotifyContext) -> Seating:
    """The outbox's seat callback: hold a seat for the accepting expert (no commit).

    Held: the venue to confirm. Not held (the expert took another seat meanwhile, or the venue is
    full): the invitee leaves the panel and the next backup is called, and the outbox tells the
    expert the place is no longer needed. An invitation that belongs to no draw of ours keeps its
    own venue.
    """
    if (
        session.execute(
            select(Draw.id).where(Draw.draw_id == invitation.draw_id)
        ).scalar_one_or_none()
        is None
    ):
        return Seating(is_held=True)
    try:
        inv = accept(
            session,
            draw_id=invitation.draw_id,
            expert_token=invitation.expert_token,
            ctx=ctx,
            now=utcnow(),
        )
    except (Conflict, NotFound) as exc:
        audit.record(
            session,
            actor=ACTOR,
            action="draw.seat_refused",
            object_type="draw",
            object_id=invitation.draw_id,
            after={"why": exc.code},
        )
        if exc.code == "no_free_seat":
            _release_unseated(session, invitation, ctx)
        return Seating(is_held=False)
    if inv.status is not InviteeStatus.ACCEPTED or inv.seat_booking_id is None:
        return Seating(is_held=False)
    booking = session.get(SeatBooking, inv.seat_booking_id)
    if booking is None:
        raise NotFound()
    invitation.seat_venue = booking.seat.venue.name
    invitation.seat_label = str(booking.seat.number)
    return Seating(
        is_held=True, venue=f"{booking.seat.venue.name} {booking.seat.venue.address}".strip()
    )


def _release_unseated(session: Session, invitation: InvitationRecord, ctx: NotifyContext) -> None:
    """No seat is free for an expert who accepted: they leave the panel and the next backup is
    called (who may find a seat freed meanwhile, or runs the group into a supplementary request).
    An invitee already closed holds nothing: there is nothing to release."""
    with contextlib.suppress(Conflict, NotFound):
        vacate(
            session,
            draw_id=invitation.draw_id,
            expert_token=invitation.expert_token,
            status=InviteeStatus.UNAVAILABLE,
            reason="no_free_seat",
            ctx=ctx,
            now=utcnow(),
        )


INVITATION_CALLBACKS = InvitationCallbacks(replace=on_replacement, seat=on_acceptance)
"""What the outbox does for a draw's invitations: a seat on acceptance, else the next backup."""


def _is_unavailable(
    session: Session, expert_ids: list[int], req: DrawRequestRecord, *, tokens: ExpertTokens
) -> set[int]:
    """Experts booked elsewhere or on leave during the evaluation window, among `expert_ids`."""
    if not expert_ids:
        return set()
    by_token = tokens.tokens(expert_ids)
    booked_tokens = set(
        session.execute(
            select(SeatBooking.expert_token).where(
                SeatBooking.expert_token.in_(list(by_token)),
                SeatBooking.released_at.is_(None),
                SeatBooking.starts_at < req.evaluation_end_at,
                SeatBooking.ends_at > req.evaluation_start_at,
            )
        ).scalars()
    )
    first, last = cst_date(req.evaluation_start_at), cst_date(req.evaluation_end_at)
    leave = set(
        session.execute(
            select(ExpertLeave.expert_id).where(
                ExpertLeave.expert_id.in_(expert_ids),
                ExpertLeave.start_on <= last,
                ExpertLeave.end_on >= first,
            )
        ).scalars()
    )
    return {by_token[t] for t in booked_tokens} | leave


def _employers(d: Draw, keys: KeyStore) -> dict[str, str]:
    """Employers from the committed snapshot (the data the draw used)."""
    return employers_in_snapshot(sealing.open_snapshot(d, keys))


def invite_primaries(
    session: Session,
    d: Draw,
    result: draw.DrawResult,
    *,
    employers: Mapping[str, str],
    now: datetime,
    ctx: NotifyContext,
) -> None:
    """Invite each group's primaries in rank order; one booked meanwhile is replaced (no commit)."""
    req = d.request
    primaries = [int(e) for g in result.groups for e in g.primaries]
    tokens = ExpertTokens(ctx.keys)
    busy = _is_unavailable(session, primaries, req, tokens=tokens)
    # Two related experts never both serve: the lower-ranked one (later group, then later rank)
    # is replaced by §9 like one booked meanwhile; the typed reason stays in the sealed record.
    pairs = related_pairs(session, primaries)
    kept: list[int] = []
    vacated: list[str] = []
    for g in result.groups:
        for position, expert in enumerate(g.primaries):
            inv = DrawInvitee(
                draw_pk=d.id,
                group_key=g.group,
                expert_token=tokens.token(expert),
                is_primary=True,
                position=position,
                invited_at=now,
                skipped=[],
            )
            if int(expert) in busy:
                inv.status, inv.reason, inv.answered_at = (
                    InviteeStatus.UNAVAILABLE,
                    "booked_meanwhile",
                    now,
                )
                vacated.append(g.group)
            elif related_to(pairs, int(expert), kept):
                inv.status, inv.reason, inv.answered_at = InviteeStatus.UNAVAILABLE, "conflict", now
                vacated.append(g.group)
            else:
                kept.append(int(expert))
            session.add(inv)
            session.flush()
            if inv.status is InviteeStatus.INVITED:
                notify_invitee(session, d, inv, int(expert), now, ctx)
    for group in vacated:
        _invite_next(session, d, result, group, employers=employers, now=now, ctx=ctx)


def _invite_next(
    session: Session,
    d: Draw,
    result: draw.DrawResult,
    group: str,
    *,
    employers: Mapping[str, str],
    now: datetime,
    ctx: NotifyContext,
) -> DrawInvitee | None:
    """Invite the next backup of a group by §9, or ask for a supplementary request when none is
    left.
    """
    request = draw.DrawRequest.from_json(sealing.open_request(d, ctx.keys))
    invitees = list(
        session.execute(select(DrawInvitee).where(DrawInvitee.draw_pk == d.id)).scalars()
    )
    tokens = ExpertTokens(ctx.keys)
    id_of = _ids_by_token(result, tokens)
    invited = {id_of[i.expert_token] for i in invitees}
    holding = {id_of[i.expert_token] for i in invitees if i.status.is_holding}
    removed = {id_of[i.expert_token] for i in invitees if i.status is InviteeStatus.REMOVED}
    backups = [int(e) for e in result.group(group).backups]
    unavailable = {str(e) for e in _is_unavailable(session, backups, d.request, tokens=tokens)}
    # A backup related to someone holding or invited to a seat is skipped (as §9 does for a
    # shared employer) and logged as a conflict; draw/ itself knows nothing of relations.
    seated = [int(e) for e in holding]
    pairs = related_pairs(session, [*seated, *backups])
    related = {str(b) for b in backups if related_to(pairs, b, seated)} - unavailable
    rep = draw.next_invitee(
        request,
        result,
        group,
        employers,
        invited=invited,
        holding=holding,
        unavailable=unavailable | related,
        removed=removed,
    )
    skipped = [
        {
            "expert": tokens.pseudonym(d.draw_id, s.expert_id),
            "reason": "conflict"
            if s.expert_id in related and s.reason is draw.SkipReason.UNAVAILABLE
            else s.reason.value,
        }
        for s in rep.skipped
    ]
    if rep.invitee is None:
        audit.record(
            session,
            actor=ACTOR,
            action="draw.backups_exhausted",
            object_type="draw",
            object_id=d.draw_id,
            after={
                "group": group,
                "skipped": len(skipped),
                "reasons": [s["reason"] for s in skipped],
            },
        )
        _request_supplement(session, d, group, now=now)
        return None
    inv = DrawInvitee(
        draw_pk=d.id,
        group_key=group,
        expert_token=tokens.token(rep.invitee),
        is_primary=False,
        position=list(result.group(group).backups).index(rep.invitee),
        invited_at=now,
        skipped=skipped,
    )
    session.add(inv)
    session.flush()
    audit.record(
        session,
        actor=ACTOR,
        action="draw.replacement",
        object_type="draw",
        object_id=d.draw_id,
        after={"group": group, "skipped": [s["reason"] for s in skipped]},
    )
    notify_invitee(session, d, inv, int(rep.invitee), now, ctx)
    return inv


def _request_supplement(
    session: Session, d: Draw, group: str, *, now: datetime
) -> DrawRequestRecord | None:
    """A supplementary request (补抽) for a group's vacant seats, linked to its parent (once)."""
    parent = d.request
    pending = (
        session.execute(
            select(DrawRequestRecord).where(
                DrawRequestRecord.parent_id == parent.id,
                DrawRequestRecord.status.in_(
                    [DrawRequestStatus.VALIDATED, DrawRequestStatus.COMMITTED]
                ),
            )
        )
        .scalars()
        .all()
    )
    if any(g.group_key == group for r in pending for g in r.groups):
        return None
    source = next(g for g in parent.groups if g.group_key == group)
    holding = (
        session.execute(
            select(DrawInvitee).where(
                DrawInvitee.draw_pk == d.id,
                DrawInvitee.group_key == group,
                DrawInvitee.status.in_([InviteeStatus.INVITED, InviteeStatus.ACCEPTED]),
            )
        )
        .scalars()
        .all()
    )
    vacant = source.count - len(holding)
    if vacant < 1:
        return None
    child = DrawRequestRecord(
        project_id=parent.project_id,
        lot_id=parent.lot_id,
        parent_id=parent.id,
        is_offsite=parent.is_offsite,
        distinct_employers=parent.distinct_employers,
        max_recent_draws=parent.max_recent_draws,
        frequency_window_days=parent.frequency_window_days,
        expert_count=vacant,
        committee_size=vacant,
        evaluation_start_at=parent.evaluation_start_at,
        evaluation_end_at=parent.evaluation_end_at,
        terminal_id=parent.terminal_id,
        requested_by_id=parent.requested_by_id,
        created_at=now,
        groups=[
            DrawGroup(
                position=0,
                group_key=group,
                specialties=list(source.specialties),
                regions_in=list(source.regions_in),
                regions_out=list(source.regions_out),
                count=vacant,
                backups=source.backups,
            )
        ],
    )
    session.add(child)
    session.flush()
    audit.record(
        session,
        actor=ACTOR,
        action="draw.supplement_requested",
        object_type="draw_request",
        object_id=child.id,
        after={"parent_id": parent.id, "draw_id": d.draw_id, "group": group, "count": vacant},
    )
    return child


def _ids_by_token(result: draw.DrawResult, tokens: ExpertTokens) -> dict[str, str]:
    """token -> expert id (text) of everyone the result names (primaries and backups)."""
    ids = {e for g in result.groups for e in (*g.primaries, *g.backups)}
    return {t: str(e) for t, e in tokens.tokens(ids).items()}


def _invitee(session: Session, d: Draw, expert_token: str) -> DrawInvitee:
    inv = session.execute(
        select(DrawInvitee)
        .where(DrawInvitee.draw_pk == d.id, DrawInvitee.expert_token == expert_token)
        .with_for_update()
    ).scalar_one_or_none()
    if inv is None:
        raise NotFound()
    return inv


def _locked_draw(session: Session, draw_id: str) -> Draw:
    d = session.execute(
        select(Draw).where(Draw.draw_id == draw_id).with_for_update()
    ).scalar_one_or_none()
    if d is None:
        raise NotFound()
    if d.status not in (DrawStatus.SEALED, DrawStatus.OPENED):
        raise Conflict(str(_l("This draw has no panel.")), code="no_panel")
    return d


def _result(session: Session, d: Draw, keys: KeyStore, purpose: str) -> draw.DrawResult:
    """The sealed result through the contact path (recorded in the audit trail, without names)."""
    audit.record(
        session,
        actor=ACTOR,
        action="draw.decrypt",
        object_type="draw",
        object_id=d.draw_id,
        after={"purpose": purpose},
    )
    return sealing.open_result(d, keys)


def vacate(
    session: Session,
    *,
    draw_id: str,
    expert_token: str,
    status: InviteeStatus,
    reason: str,
    ctx: NotifyContext,
    now: datetime,
) -> DrawInvitee | None:
    """An invitee leaves (declined, no response, withdrawn, removed, unavailable); no commit.

    The next backup is invited.

    Returns the new invitee, or None when the group's backups ran out (a supplementary request
    then waits at the terminal). A booking the invitee held is released. The invitee is named
    by the expert's token (`core/tokens.py`), as the stored rows are.
    """
    if status not in ENDED:
        raise Conflict(str(_l("Not a reason to leave the panel.")), code="bad_status")
    d = _locked_draw(session, draw_id)
    inv = _invitee(session, d, expert_token)
    if not inv.status.is_holding:
        raise Conflict(str(_l("This invitation is already closed.")), code="invitation_closed")
    if status is InviteeStatus.WITHDRAWN and inv.status is not InviteeStatus.ACCEPTED:
        status = InviteeStatus.DECLINED
    inv.status, inv.reason, inv.answered_at = status, reason[:500], now
    if inv.seat_booking_id is not None:
        venues.release_booking(session, inv.seat_booking_id)
    session.flush()
    project = must_exist(session.get(Project, d.project_id))
    if project.status.is_closed:
        return None  # a failed or cancelled project invites nobody else
    result = _result(session, d, ctx.keys, "replacement")
    return _invite_next(
        session, d, result, inv.group_key, employers=_employers(d, ctx.keys), now=now, ctx=ctx
    )


def record_answer(
    session: Session,
    *,
    draw_id: str,
    expert_id: int,
    answer: str,
    reason: str = "",
    ctx: NotifyContext,
    now: datetime,
) -> DrawInvitee | None:
    """Record an invitee's answer and its consequences (seat or replacement); commits.

    `answer` is accepted, declined, no_response, withdrawn, removed or unavailable. Returns the
    booking's invitee for an acceptance, the new invitee after a replacement, or None.
    """
    token = ExpertTokens(ctx.keys).token(expert_id)
    if answer == InviteeStatus.ACCEPTED.value:
        accepted = accept(session, draw_id=draw_id, expert_token=token, ctx=ctx, now=now)
        session.commit()
        return accepted
    try:
        status = InviteeStatus(answer)
    except ValueError:
        raise Conflict(str(_l("Unknown answer.")), code="bad_status") from None
    out = vacate(
        session,
        draw_id=draw_id,
        expert_token=token,
        status=status,
        reason=reason or answer,
        ctx=ctx,
        now=now,
    )
    session.commit()
    return out


def _venue_centres(project: Project, expert: Expert) -> list[int]:
    """Where an expert sits: their city's secondary venue for a remote evaluation, else the main
    one.
    """
    if project.is_remote:
        for centre in project.secondary_centres:
            if centre.region_code == expert.home_region:
                return [centre.id, project.main_centre_id]
    return [project.main_centre_id]


def accept(
    session: Session, *, draw_id: str, expert_token: str, ctx: NotifyContext, now: datetime
) -> DrawInvitee:
    """An invitee accepts: hold a free seat for the evaluation window (no commit).

    An expert already booked elsewhere at that time cannot take the seat: the invitation closes as
    unavailable and the next backup is invited (the returned invitee is then the closed one).
    """
    d = _locked_draw(session, draw_id)
    inv = _invitee(session, d, expert_token)
    if inv.status is InviteeStatus.ACCEPTED:
        return inv
    if inv.status is not InviteeStatus.INVITED:
        raise Conflict(str(_l("This invitation is already closed.")), code="invitation_closed")
    project = must_exist(session.get(Project, d.project_id))
    # Which expert it is (for the home city's venue) comes from the sealed result (contact path).
    id_of = _ids_by_token(_result(session, d, ctx.keys, "seat"), ExpertTokens(ctx.keys))
    expert = must_exist(session.get(Expert, int(id_of[expert_token])))
    booking = _book_seat(session, d, project, expert, expert_token, inv.group_key, ctx.keys)
    if booking is None:
        vacate(
            session,
            draw_id=draw_id,
            expert_token=expert_token,
            status=InviteeStatus.UNAVAILABLE,
            reason="booked_meanwhile",
            ctx=ctx,
            now=now,
        )
        return inv
    inv.status, inv.answered_at, inv.seat_booking_id = InviteeStatus.ACCEPTED, now, booking.id
    session.flush()
    return inv


def _venues_for(
    session: Session, d: Draw, project: Project, expert: Expert, group_key: str, keys: KeyStore
) -> list[VenueRecord]:
    """The venues where an invitee of this group may sit, in order of preference: the venue
    picked for a secondary venue's group (`draws/remote.py`), else by `_venue_centres`."""
    picked = remote.venue_of_group(d.request, keys, group_key)
    if picked is not None:
        venue = session.get(VenueRecord, picked)
        return [venue] if venue is not None else []
    return [
        v
        for centre_id in _venue_centres(project, expert)
        for v in venues.list_venues(session, centre_id=centre_id)
    ]


def _book_seat(
    session: Session,
    d: Draw,
    project: Project,
    expert: Expert,
    expert_token: str,
    group_key: str,
    keys: KeyStore,
) -> SeatBooking | None:
    """Hold a free seat for the request's evaluation window (no commit); None when the expert
    is booked elsewhere at that time, `Conflict` (no_free_seat) when no seat is free.
    """
    req = d.request
    for venue in _venues_for(session, d, project, expert, group_key, keys):
        for seat in venues.free_seats(
            session, venue.id, req.evaluation_start_at, req.evaluation_end_at
        ):
            try:
                with session.begin_nested():
                    made = venues.book_seats(
                        session,
                        [
                            venues.BookingWish(
                                seat_id=seat.id,
                                expert_token=expert_token,
                                starts_at=req.evaluation_start_at,
                                ends_at=req.evaluation_end_at,
                            )
                        ],
                        project_id=project.id,
                        draw_id=d.draw_id,
                    )
            except Conflict as exc:
                if exc.code == "expert_booked":
                    return None
                continue  # the seat went meanwhile: try the next one
            return made[0]
    raise Conflict(str(_l("No free seat at the venue for this evaluation.")), code="no_free_seat")


def seat_venue(session: Session, invitee: DrawInvitee) -> str | None:
    """The name of the venue where an accepted invitee sits."""
    if invitee.seat_booking_id is None:
        return None
    booking = session.get(SeatBooking, invitee.seat_booking_id)
    return booking.seat.venue.name if booking else None


def panel(session: Session, *, draw_id: str, viewer: User, keys: KeyStore) -> list[dict[str, Any]]:
    """After opening: the invitees, named; supervisors see all, staff those seated at their venues.

    Every view is recorded in the audit trail; commits.
    """
    d = session.execute(select(Draw).where(Draw.draw_id == draw_id)).scalar_one_or_none()
    if d is None:
        raise NotFound()
    if d.status is not DrawStatus.OPENED:
        raise Forbidden(str(_l("Names are shown only after the session opens.")), code="not_opened")
    id_of = _ids_by_token(_result(session, d, keys, "panel"), ExpertTokens(keys))
    found = session.execute(
        select(DrawInvitee, Seat.number, VenueRecord.name, VenueRecord.centre_id)
        .outerjoin(SeatBooking, SeatBooking.id == DrawInvitee.seat_booking_id)
        .outerjoin(Seat, Seat.id == SeatBooking.seat_id)
        .outerjoin(VenueRecord, VenueRecord.id == Seat.venue_id)
        .where(DrawInvitee.draw_pk == d.id)
        .order_by(DrawInvitee.group_key, DrawInvitee.id)
    ).all()
    names = dict(
        session.execute(
            select(Expert.id, Expert.name).where(Expert.id.in_([int(e) for e in id_of.values()]))
        ).all()
    )
    rows = [
        (
            inv,
            int(id_of[inv.expert_token]),
            names.get(int(id_of[inv.expert_token]), ""),
            number,
            venue,
            centre,
        )
        for inv, number, venue, centre in found
    ]
    if viewer.role is UserRole.SUPERVISOR:
        visible = rows
    elif viewer.role is UserRole.CENTRE_STAFF:
        visible = [r for r in rows if r[5] is not None and r[5] == viewer.centre_id]
    else:
        raise Forbidden()
    audit.record(
        session,
        actor=viewer.username,
        action="draw.panel_view",
        object_type="draw",
        object_id=draw_id,
        after={"rows": len(visible)},
    )
    session.commit()
    return [
        {
            "group": inv.group_key,
            "expert_id": expert_id,
            "name": name,
            "is_primary": inv.is_primary,
            "status": inv.status.value,
            "seat": number,
            "venue": venue,
        }
        for inv, expert_id, name, number, venue, _centre in visible
    ]


@dataclass(frozen=True)
class SeatedMember:
    """An accepted invitee of an opened draw with the seat they hold."""

    expert_id: int
    group: str
    rank: int
    is_primary: bool
    seat_booking_id: int


def seated_members(session: Session, d: Draw, keys: KeyStore) -> list[SeatedMember]:
    """The accepted invitees of an opened draw who hold a seat, in group and rank order.

    Only after opening: before it, the panel is sealed and this refuses.
    """
    if d.status is not DrawStatus.OPENED:
        raise Forbidden(str(_l("Names are shown only after the session opens.")), code="not_opened")
    id_of = _ids_by_token(_result(session, d, keys, "session"), ExpertTokens(keys))
    rows = session.execute(
        select(DrawInvitee)
        .where(
            DrawInvitee.draw_pk == d.id,
            DrawInvitee.status == InviteeStatus.ACCEPTED,
            DrawInvitee.seat_booking_id.is_not(None),
        )
        .order_by(DrawInvitee.group_key, DrawInvitee.is_primary.desc(), DrawInvitee.position)
    ).scalars()
    return [
        SeatedMember(
            expert_id=int(id_of[inv.expert_token]),
            group=inv.group_key,
            rank=inv.position,
            is_primary=inv.is_primary,
            seat_booking_id=int(inv.seat_booking_id or 0),
        )
        for inv in rows
        if inv.expert_token in id_of
    ]


def _invitation_of(session: Session, draw_id: str, expert_token: str) -> InvitationRecord | None:
    """The outbox's invitation of one invitee (the newest, should there be several)."""
    return session.execute(
        select(InvitationRecord)
        .where(
            InvitationRecord.draw_id == draw_id,
            InvitationRecord.expert_token == expert_token,
        )
        .order_by(InvitationRecord.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _draws_of(session: Session, project_id: int) -> list[Draw]:
    return list(
        session.execute(
            select(Draw).where(Draw.project_id == project_id).order_by(Draw.id).with_for_update()
        ).scalars()
    )


def close_panels(
    session: Session, project: Project, *, reason: str, now: datetime
) -> list[InvitationRecord]:
    """A failed or cancelled project's panels end (no commit): open invitations stop (their
    pending messages are cancelled, nobody else is invited), and the invitations of the experts
    who had accepted are returned so that they can be told. Bookings are released by the caller.
    """
    accepted: list[InvitationRecord] = []
    for d in _draws_of(session, project.id):
        for inv in d.invitees:
            if not inv.status.is_holding:
                continue
            invitation = _invitation_of(session, d.draw_id, inv.expert_token)
            if inv.status is InviteeStatus.ACCEPTED:
                if invitation is not None:
                    accepted.append(invitation)
                continue
            if invitation is not None:
                invitations.cancel_pending(session, invitation)
            inv.status, inv.reason, inv.answered_at = InviteeStatus.REMOVED, reason[:500], now
    session.flush()
    return accepted


def postpone_panels(
    session: Session, project: Project, *, ctx: NotifyContext, now: datetime
) -> list[InvitationRecord]:
    """Move every panel of a project to its new evaluation window (no commit).

    The panel stays: each accepted expert's seat moves to the new window; an expert booked
    elsewhere then (or left without a free seat) leaves as unavailable and the next backup is
    invited. Returns the invitations of the experts still holding a seat or an open invitation,
    to be told the new time (each may still withdraw, which invites the next backup).
    """
    told: list[InvitationRecord] = []
    for req in session.execute(
        select(DrawRequestRecord).where(DrawRequestRecord.project_id == project.id)
    ).scalars():  # every request, used or not, now serves the new window
        req.evaluation_start_at = project.evaluation_start_at
        req.evaluation_end_at = project.evaluation_end_at
    session.flush()
    for d in _draws_of(session, project.id):
        holding = [inv for inv in d.invitees if inv.status.is_holding]
        for inv in holding:
            invitation = _invitation_of(session, d.draw_id, inv.expert_token)
            if invitation is not None:
                invitation.starts_at = project.evaluation_start_at
            if inv.status is InviteeStatus.ACCEPTED and inv.seat_booking_id is not None:
                venues.release_booking(session, inv.seat_booking_id)
                session.flush()
                id_of = _ids_by_token(_result(session, d, ctx.keys, "seat"), ExpertTokens(ctx.keys))
                expert = must_exist(session.get(Expert, int(id_of[inv.expert_token])))
                try:
                    booking = _book_seat(
                        session, d, project, expert, inv.expert_token, inv.group_key, ctx.keys
                    )
                except Conflict:
                    booking = None
                if booking is None:
                    if invitation is not None:
                        invitations.cancel_pending(session, invitation)
                        invitation.state = InvitationState.WITHDRAWN
                        invitation.withdrawal_reason = "postponed_unavailable"
                    vacate(
                        session,
                        draw_id=d.draw_id,
                        expert_token=inv.expert_token,
                        status=InviteeStatus.UNAVAILABLE,
                        reason="postponed_unavailable",
                        ctx=ctx,
                        now=now,
                    )
                    continue
                inv.seat_booking_id = booking.id
            if invitation is not None:
                told.append(invitation)
    session.flush()
    return told
