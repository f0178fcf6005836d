"""A real draw, end to end through the fake Twilio API.

Scripted answers fill the panel from the backups in rank order.

The draw runs at a terminal as usual; its invitations go through the outbox, the dispatcher and
the real `twilio` client (`TwilioNotifier`) to the loopback fake, whose scripted calls come back
through the app's signed webhooks. Time is compressed: each dispatcher pass runs a little over
one call-retry interval later than the previous one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from expertpool.core.calendar import CST
from expertpool.core.db import utcnow
from expertpool.core.tokens import ExpertTokens
from expertpool.draws import protocol as draws
from expertpool.draws import sealing
from expertpool.draws.models import DrawInvitee, InviteeStatus
from expertpool.notifications import dispatcher as notifications
from expertpool.notifications.models import InvitationRecord, InvitationState
from expertpool.notifications.notifier import services_of
from tests.fakes.twilio_api import FAKE_AUTH_TOKEN, FakeTwilioApi, client_transport, fake_twilio_api
from tests.integration.draws.conftest import Setup, add_experts, expert_phone, make_setup
from tests.integration.notifications.conftest import wire_twilio

__all__ = ["fake_twilio_api"]

pytestmark = pytest.mark.integration

POOL = 10


@pytest.fixture()
def live_setup(
    app: Flask, make_user: Callable[..., Any], fake_twilio_api: FakeTwilioApi
) -> Iterator[Setup]:
    """A ready project evaluated tomorrow morning, drawn now, the app on the fake Twilio API."""
    now = utcnow()
    tomorrow = now.astimezone(CST).date() + timedelta(days=1)
    evaluation = datetime.combine(tomorrow, time(9, 0), tzinfo=CST)
    restore = wire_twilio(app, fake_twilio_api)
    try:
        yield make_setup(app, make_user, now=now, evaluation=evaluation)
    finally:
        restore()
        app.extensions["expertpool"].clock = utcnow


def _phone(n_of: dict[int, int], expert_id: str) -> str:
    return "+86" + expert_phone(n_of[int(expert_id)])


def test_scripted_answers_fill_a_drawn_panel_of_five_exactly_from_the_backups_in_rank_order(
    live_setup: Setup, fake_twilio_api: FakeTwilioApi
) -> None:
    s, api = live_setup, fake_twilio_api
    ids = add_experts(s.app, POOL)
    n_of = {expert_id: n for n, expert_id in enumerate(ids, start=1)}
    d = s.full_draw(groups=[{"specialties": ["A01"], "count": 5, "backups": 3}])
    assert d.status.value == "sealed", d.reason
    result = sealing.open_result(d, s.keys).group("g1")
    primaries, backups = list(result.primaries), list(result.backups)
    assert len(primaries) == 5 and len(backups) == 3
    scripts = [["accept"], ["accept"], ["decline"], ["machine", "accept"], ["silence"] * 4]
    for expert_id, outcomes in zip(primaries, scripts, strict=True):
        api.script_calls(_phone(n_of, expert_id), *outcomes)
    for expert_id in backups:
        api.script_calls(_phone(n_of, expert_id), "accept")

    st = s.app.extensions["expertpool"]
    transport = client_transport(s.app.test_client(), FAKE_AUTH_TOKEN)
    retry = st.config.call_retry_minutes
    start = utcnow()
    for step in range(10):
        s.session.commit()  # the test's own transaction must not hold SQLite's write lock
        notifications.dispatch_once(
            st.sessions,
            services_of(s.app).notifier,
            start + timedelta(minutes=step * (retry + 1)),
            "w1",
            50,
            ctx=services_of(s.app).ctx,
        )
        api.play_calls(transport)

    session = s.session
    session.expire_all()
    id_of = {t: str(e) for t, e in ExpertTokens(s.keys).tokens(ids).items()}
    invitees = {id_of[i.expert_token]: i for i in session.execute(select(DrawInvitee)).scalars()}
    assert {e: invitees[e].status for e in primaries} == {
        primaries[0]: InviteeStatus.ACCEPTED,
        primaries[1]: InviteeStatus.ACCEPTED,
        primaries[2]: InviteeStatus.DECLINED,
        primaries[3]: InviteeStatus.ACCEPTED,
        primaries[4]: InviteeStatus.NO_RESPONSE,
    }
    # The decline brought the first backup, the silence the second; the third was never called.
    assert invitees[backups[0]].status is InviteeStatus.ACCEPTED
    assert invitees[backups[1]].status is InviteeStatus.ACCEPTED
    assert backups[2] not in invitees
    assert invitees[backups[0]].invited_at < invitees[backups[1]].invited_at
    accepted = sorted(
        (i for i in invitees.values() if i.status is InviteeStatus.ACCEPTED),
        key=lambda i: (not i.is_primary, i.position),
    )
    assert [id_of[i.expert_token] for i in accepted] == [
        primaries[0],
        primaries[1],
        primaries[3],
        backups[0],
        backups[1],
    ]
    assert all(i.seat_booking_id is not None for i in accepted)
    assert draws.progress(draws.get_draw(session, d.draw_id)) == [
        {"group": "g1", "seats": 5, "accepted": 5, "invited": 0}
    ]

    # The outbox agrees, call by call: the machine twice, the silent one until the deadline.
    rows = {id_of[r.expert_token]: r for r in session.execute(select(InvitationRecord)).scalars()}
    assert rows[primaries[3]].state is InvitationState.ACCEPTED
    assert rows[primaries[4]].state is InvitationState.NO_RESPONSE
    calls_to = [c["to"] for c in api.calls.values()]
    assert calls_to.count(_phone(n_of, primaries[3])) == 2
    assert calls_to.count(_phone(n_of, backups[2])) == 0
    # Each accepted expert got exactly one confirmation text; nobody else got one.
    for expert_id in (*primaries, *backups):
        texts = [m["body"] for m in api.messages.values() if m["to"] == _phone(n_of, expert_id)]
        confirmed = sum("评标确认" in body for body in texts)
        assert confirmed == (1 if expert_id in {id_of[i.expert_token] for i in accepted} else 0)
