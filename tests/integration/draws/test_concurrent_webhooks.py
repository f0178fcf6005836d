"""Twenty draws for one slot at once on PostgreSQL, answered through signed SMS webhooks (#19):
every confirmed expert holds exactly the seat they were confirmed for, nobody is confirmed twice
and nobody is booked twice (the bug was fourteen confirmations for one seat)."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from expertpool.accounts import users
from expertpool.accounts.models import Centre
from expertpool.core.tokens import ExpertTokens
from expertpool.departments import members
from expertpool.draws import protocol as draws
from expertpool.draws import sealing
from expertpool.draws.models import DrawStatus
from expertpool.draws.rules import DrawRules
from expertpool.notifications.models import (
    InvitationRecord,
    InvitationState,
    OutboxKind,
    OutboxMessage,
)
from expertpool.notifications.notifier import services_of
from expertpool.projects import projects, terminals, venues
from expertpool.projects.models import SeatBooking
from notify.twilio_fake import sign_webhook
from tests.conftest import PASSWORD
from tests.fakes.twilio_api import FAKE_AUTH_TOKEN, FakeTwilioApi, fake_twilio_api
from tests.integration.draws.conftest import BIDDERS, NOW, add_experts, expert_phone
from tests.integration.draws.test_concurrency import DRAWS, _in_threads
from tests.integration.notifications.conftest import PUBLIC_BASE_URL, wire_twilio
from tests.integration.projects.conftest import project_payload

__all__ = ["fake_twilio_api"]  # the fixture, imported for this module
pytestmark = [pytest.mark.integration, pytest.mark.needs_postgres, pytest.mark.slow]
EXPERTS = 30


def _draws_for_one_slot(app: Flask) -> list[str]:
    """Twenty projects evaluated at the same time, each drawn to the point of running."""
    from expertpool.draws import requests as draw_requests

    st = app.extensions["expertpool"]
    s = st.sessions()
    operator = users.create_user(
        s,
        actor="t",
        username="operator1",
        display_name="操作员",
        password=PASSWORD,
        role="centre_staff",
        centre_code="440100",
    )
    users.create_user(
        s,
        actor="t",
        username="supervisor1",
        display_name="监督",
        password=PASSWORD,
        role="supervisor",
        centre_code=None,
    )
    members.assign(
        s,
        actor="t",
        username="supervisor1",
        department_id=members.by_code(s, "440000-coordination").id,
    )
    centre_id = s.execute(select(Centre.id).where(Centre.region_code == "440100")).scalar_one()
    venues.create_venue(s, actor="t", centre_code="440100", name="大厅", seats=DRAWS * 5)
    _token, terminal = terminals.register_terminal(s, actor="t", centre_code="440100", name="T1")
    out = []
    for i in range(DRAWS):
        p = projects.create_project(
            s,
            actor="t",
            owner_centre_id=centre_id,
            data=project_payload(code=f"GZ-W-{i:02d}"),
            now=NOW,
        )
        projects.add_bidder(s, actor="t", project_id=p.id, credit_code=BIDDERS[0], name="b")
        projects.mark_ready(s, actor="t", project_id=p.id)
        req = draw_requests.create_draw_request(
            s,
            actor=operator,
            terminal=terminal,
            project_id=p.id,
            data={"groups": [{"specialties": ["A01"], "count": 5, "backups": 5}]},
            rules=DrawRules.from_config(st.config),
            now=NOW,
            keys=st.keys,
        )
        d = draws.prepare_draw(
            s,
            actor=operator,
            terminal=terminal,
            request_id=req.id,
            keys=st.keys,
            config=st.config,
            now=NOW,
        )
        draws.witness_operator(
            s, draw_id=d.draw_id, actor=operator, terminal=terminal, digits=f"{i:06d}1", now=NOW
        )
        draws.witness_supervisor(
            s,
            draw_id=d.draw_id,
            terminal=terminal,
            username="supervisor1",
            password=PASSWORD,
            digits=f"{i:06d}2",
            now=NOW,
        )
        out.append(d.draw_id)
    op_id, term_id = operator.id, terminal.id

    def runner(draw_id: str) -> Any:
        def job(session: Any) -> None:
            from expertpool.accounts.models import User
            from expertpool.projects.models import Terminal

            draws.run_draw(
                session,
                draw_id=draw_id,
                actor=session.get(User, op_id),
                terminal=session.get(Terminal, term_id),
                keys=st.keys,
                config=st.config,
                now=NOW,
                ctx=services_of(app).ctx,
            )

        return job

    assert _in_threads(app, [runner(x) for x in out]) == []
    return out


def test_twenty_draws_for_one_slot_answered_by_webhooks_confirm_each_seat_once(
    pg_app: Flask, fake_twilio_api: FakeTwilioApi
) -> None:
    restore = wire_twilio(pg_app, fake_twilio_api)
    try:
        _check(pg_app)
    finally:
        restore()


def _check(app: Flask) -> None:
    st = app.extensions["expertpool"]
    ids = add_experts(app, EXPERTS)
    phone_of = {e: "+86" + expert_phone(n) for n, e in enumerate(ids, start=1)}
    draw_ids = _draws_for_one_slot(app)
    s = st.sessions()
    s.expire_all()
    tokens = ExpertTokens(st.keys)
    # Every primary of every draw replies "1 <code>" to its own invitation: most experts were
    # drawn by several of the twenty projects, so each holds several open invitations at once.
    replies: dict[str, list[tuple[str, str]]] = {}
    for draw_id in draw_ids:
        d = draws.get_draw(s, draw_id)
        assert d.status is DrawStatus.SEALED
        out = []
        for e in sealing.open_result(d, st.keys).groups[0].primaries:
            invitation = s.execute(
                select(InvitationRecord).where(
                    InvitationRecord.draw_id == draw_id,
                    InvitationRecord.expert_token == tokens.token(int(e)),
                )
            ).scalar_one()
            assert invitation.reply_code
            out.append((phone_of[int(e)], f"1 {invitation.reply_code}"))
        replies[draw_id] = out
    s.rollback()
    url = PUBLIC_BASE_URL + "/webhooks/twilio/sms"
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def answering(draw_id: str) -> Any:
        def job(_session: Any) -> None:
            client = app.test_client()
            for n, (phone, body) in enumerate(replies[draw_id]):
                sid = f"SM{draw_id[-8:]}{n:024d}"
                params = {"MessageSid": sid, "From": phone, "To": "+15005550006", "Body": body}
                resp = client.post(
                    "/webhooks/twilio/sms",
                    data=params,
                    base_url=PUBLIC_BASE_URL,
                    headers={"X-Twilio-Signature": sign_webhook(FAKE_AUTH_TOKEN, url, params)},
                )
                with lock:
                    statuses[resp.status_code] += 1

        return job

    assert _in_threads(app, [answering(x) for x in draw_ids]) == []
    assert statuses == Counter({200: DRAWS * 5}), statuses
    s.expire_all()
    live = s.execute(select(SeatBooking).where(SeatBooking.released_at.is_(None))).scalars().all()
    seats_of: dict[str, int] = defaultdict(int)
    for b in live:
        seats_of[b.expert_token] += 1
    assert live and max(seats_of.values()) == 1  # nobody is booked twice
    confirmations: dict[str, int] = defaultdict(int)
    rows = s.execute(
        select(InvitationRecord, OutboxMessage)
        .join(OutboxMessage, OutboxMessage.invitation_id == InvitationRecord.id)
        .where(OutboxMessage.kind == OutboxKind.CONFIRMATION_SMS)
    ).all()
    for invitation, _message in rows:
        assert invitation.state is InvitationState.ACCEPTED
        confirmations[invitation.expert_token] += 1
    # Each confirmation is for a seat held, one per expert: never more than the seats they hold.
    assert confirmations == seats_of, (confirmations, seats_of)
    # Every acceptance that could not be seated was told it is no longer needed.
    states = Counter(
        i.state for i in s.execute(select(InvitationRecord)).scalars() if i.answered_via == "sms"
    )
    assert states[InvitationState.ACCEPTED] == len(live)
    assert states[InvitationState.ACCEPTED] + states[InvitationState.NOT_NEEDED] == DRAWS * 5, (
        states
    )
