"""One truth per invitation (#19 item 4): a confirmation goes out only when the seat is held in
the same transaction; an acceptance that can no longer be seated ends `not_needed`, the expert is
told so, and the next backup is invited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from expertpool.core.db import utcnow
from expertpool.core.tokens import ExpertTokens
from expertpool.draws import sealing
from expertpool.draws.models import DrawInvitee, InviteeStatus
from expertpool.notifications import invitations, outbox
from expertpool.notifications.models import (
    InvitationRecord,
    InvitationState,
    OutboxKind,
    OutboxMessage,
)
from expertpool.projects import venues
from expertpool.projects.models import SeatBooking
from tests.integration.draws.conftest import EVALUATION, NOW, Setup, add_experts, make_setup

pytestmark = pytest.mark.integration


def _invitation(setup: Setup, draw_id: str, expert_id: int) -> InvitationRecord:
    token = ExpertTokens(setup.keys).token(expert_id)
    return setup.session.execute(
        select(InvitationRecord).where(
            InvitationRecord.draw_id == draw_id, InvitationRecord.expert_token == token
        )
    ).scalar_one()


def _kinds(setup: Setup, invitation: InvitationRecord) -> list[OutboxKind]:
    return list(
        setup.session.execute(
            select(OutboxMessage.kind).where(OutboxMessage.invitation_id == invitation.id)
        ).scalars()
    )


def test_an_acceptance_that_cannot_be_seated_is_released_and_never_confirmed(
    setup: Setup,
) -> None:
    add_experts(setup.app, 8)
    d = setup.full_draw(groups=[{"specialties": ["A01"], "count": 5, "backups": 3}])
    result = sealing.open_result(d, setup.keys)
    first, second = (int(e) for e in result.groups[0].primaries[:2])
    tokens = ExpertTokens(setup.keys)
    s = setup.session

    # The first primary accepts: the seat is held and the confirmation names its venue.
    accepted = _invitation(setup, d.draw_id, first)
    assert invitations.move(
        s, accepted, InvitationState.ACCEPTED, now=NOW, ctx=setup.notify_ctx, via="sms"
    )
    s.commit()
    assert accepted.state is InvitationState.ACCEPTED and accepted.seat_label
    assert OutboxKind.CONFIRMATION_SMS in _kinds(setup, accepted)

    # The second primary took a seat elsewhere for the same time before answering.
    other = venues.create_venue(s, actor="t", centre_code="440300", name="深圳评标室", seats=2)
    venues.book_seats(
        s,
        [
            venues.BookingWish(
                other.seats[0].id, tokens.token(second), EVALUATION, EVALUATION + timedelta(hours=1)
            )
        ],
    )
    s.commit()
    late = _invitation(setup, d.draw_id, second)
    assert invitations.move(
        s, late, InvitationState.ACCEPTED, now=NOW, ctx=setup.notify_ctx, via="sms"
    )
    s.commit()
    assert late.state is InvitationState.NOT_NEEDED
    kinds = _kinds(setup, late)
    assert OutboxKind.CONFIRMATION_SMS not in kinds and OutboxKind.RELEASE_SMS in kinds
    # They hold exactly the one seat they had; the draw's next backup is invited instead.
    held = s.execute(
        select(SeatBooking).where(
            SeatBooking.expert_token == tokens.token(second), SeatBooking.released_at.is_(None)
        )
    ).scalars()
    assert [b.seat_id for b in held] == [other.seats[0].id]
    statuses = dict(
        s.execute(
            select(DrawInvitee.expert_token, DrawInvitee.status).where(DrawInvitee.draw_pk == d.id)
        ).all()
    )
    assert statuses[tokens.token(second)] is InviteeStatus.UNAVAILABLE
    assert statuses[tokens.token(int(result.groups[0].backups[0]))] is InviteeStatus.INVITED
    # Asking again changes nothing: the invitation is closed.
    assert not invitations.move(
        s, late, InvitationState.ACCEPTED, now=NOW, ctx=setup.notify_ctx, via="sms"
    )


def test_a_full_venue_releases_the_expert_instead_of_confirming(
    app: Flask, make_user: Callable[..., Any]
) -> None:
    setup = make_setup(app, make_user, seats=1, project_code="FULL-1")
    try:
        add_experts(app, 8, start=300)
        d = setup.full_draw(groups=[{"specialties": ["A01"], "count": 5, "backups": 3}])
        first, second = (int(e) for e in sealing.open_result(d, setup.keys).groups[0].primaries[:2])
        s = setup.session
        for expert in (first, second):
            invitations.move(
                s,
                _invitation(setup, d.draw_id, expert),
                InvitationState.ACCEPTED,
                now=NOW,
                ctx=setup.notify_ctx,
                via="sms",
            )
            s.commit()
        seated, released = (
            _invitation(setup, d.draw_id, first),
            _invitation(setup, d.draw_id, second),
        )
        assert seated.state is InvitationState.ACCEPTED
        assert released.state is InvitationState.NOT_NEEDED
        assert OutboxKind.CONFIRMATION_SMS not in _kinds(setup, released)
        assert OutboxKind.RELEASE_SMS in _kinds(setup, released)
    finally:
        app.extensions["expertpool"].clock = utcnow


def test_in_a_remote_evaluation_every_message_names_the_place_where_the_expert_sits(
    setup: Setup,
) -> None:
    from expertpool.accounts.models import Centre
    from expertpool.projects.models import Project, SecondaryVenue

    s = setup.session
    sz = s.execute(select(Centre).where(Centre.region_code == "440300")).scalar_one()
    project = s.get(Project, setup.project_id)
    project.is_remote = True
    project.secondary_venues.append(SecondaryVenue(centre=sz))
    s.commit()
    venues.create_venue(s, actor="t", centre_code="440300", name="深圳副场评标室", seats=20)
    shenzhen = set(add_experts(setup.app, 6, start=1600, region="440300"))
    add_experts(setup.app, 6, start=1700, region="440100")
    d = setup.full_draw()
    result = sealing.open_result(d, setup.keys)
    for expert in (int(e) for e in result.groups[0].primaries):
        invitation = _invitation(setup, d.draw_id, expert)
        expected = "深圳副场评标室" if expert in shenzhen else "广州评标室"
        assert invitation.venue.startswith(expected), (expert, invitation.venue)
        invitations.move(
            s, invitation, InvitationState.ACCEPTED, now=NOW, ctx=setup.notify_ctx, via="sms"
        )
        s.commit()
        bodies = [
            outbox.message_body(setup.notify_ctx, m)
            for m in s.execute(
                select(OutboxMessage).where(
                    OutboxMessage.invitation_id == invitation.id,
                    OutboxMessage.kind.in_(
                        [OutboxKind.INVITATION_SMS, OutboxKind.CONFIRMATION_SMS]
                    ),
                )
            ).scalars()
        ]
        assert len(bodies) == 2 and all(expected in (b or "") for b in bodies), bodies
