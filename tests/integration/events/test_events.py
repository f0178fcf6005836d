"""Outbound events: emitted in the transaction of the change, signed, retried with backoff, sent
again after a crash with the same bytes, and never naming or counting who was drawn."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from expertpool.core.db import utcnow
from expertpool.core.pii import PiiCipher
from expertpool.draws import panels, sealing
from expertpool.events import events
from expertpool.events.models import DeliveryStatus, EventDelivery, EventSubscription
from expertpool.outcomes import outcomes
from expertpool.rooms import opening
from expertpool.rooms import sessions as rooms
from tests.conftest import PASSWORD, login_client
from tests.integration.draws.conftest import EVALUATION, NOW, Setup, add_experts, expert_name
from tests.integration.events.conftest import Receiver

pytestmark = pytest.mark.integration


def _cipher(app: Flask) -> PiiCipher:
    return PiiCipher.from_keys(app.extensions["expertpool"].keys)


def _subscribe(setup: Setup, receiver: Receiver, scope: str) -> tuple[EventSubscription, str]:
    return events.subscribe(
        setup.session,
        user=setup.operator,
        token_scopes=None,
        client="gz-trading",
        scope=scope,
        url=receiver.url,
        cipher=_cipher(setup.app),
        allow_http=True,
        now=NOW,
    )


def _deliver(setup: Setup, **kw: Any) -> events.DeliveryReport:
    return events.deliver_once(setup.session, _cipher(setup.app), **kw)


def _open(setup: Setup) -> Any:
    setup.clock.now = EVALUATION
    return opening.open_lot(
        setup.session,
        project_id=setup.project_id,
        lot_id=None,
        actor=setup.operator,
        supervisor_username=setup.supervisor.username,
        supervisor_password=PASSWORD,
        keys=setup.keys,
        settings=rooms.room_settings(setup.config),
        now=EVALUATION,
    )


def test_a_draw_and_its_opening_send_signed_events_with_ids_and_states_only(
    setup: Setup, receiver: Receiver
) -> None:
    secrets = {
        scope: _subscribe(setup, receiver, scope)[1] for scope in ("draws:read", "sessions:read")
    }
    experts = add_experts(setup.app, 12, start=700)
    d = setup.full_draw()
    result = sealing.open_result(d, setup.keys)
    for expert in [int(e) for e in result.groups[0].primaries]:
        panels.record_answer(
            setup.session,
            draw_id=d.draw_id,
            expert_id=expert,
            answer="accepted",
            ctx=setup.notify_ctx,
            now=NOW,
        )
    row = _open(setup)
    # (the session's row is dated by the real clock)
    report = _deliver(setup, now=utcnow() + timedelta(seconds=1))
    assert report.delivered == 3, report
    types = [r.headers["X-ExpertPool-Event"] for r in receiver.received]
    assert types == ["draw.sealed", "panel.opened", "session.opened"]
    names = [expert_name(n) for n in range(700, 712)]
    assert len(experts) == 12
    for r in receiver.received:
        body = json.loads(r.body)
        scope = events.EVENT_SCOPES[body["type"]]
        assert events.verify(
            secrets[scope],
            timestamp=r.headers["X-ExpertPool-Timestamp"],
            body=r.body,
            header=r.headers["X-ExpertPool-Signature"],
            now=int(r.headers["X-ExpertPool-Timestamp"]),
        )
        assert body["id"] == r.headers["X-ExpertPool-Event-Id"]
        assert set(body["data"]) <= events.ALLOWED_FIELDS
        assert body["data"]["project_id"] == setup.project_id
        text = r.body.decode()
        assert not any(name in text for name in names)
        assert "expert" not in text and "count" not in text and "accepted" not in text
    sealed, opened, session_opened = (json.loads(r.body) for r in receiver.received)
    assert sealed["data"] == {
        "project_id": setup.project_id,
        "draw_request_id": d.request_id,
        "draw_id": d.draw_id,
        "status": "sealed",
    }
    assert opened["data"]["status"] == "opened"
    assert session_opened["data"]["room_id"] == row.room_id
    # A wrong secret or a changed body does not verify.
    first = receiver.received[0]
    assert not events.verify(
        "whsec_wrong",
        timestamp=first.headers["X-ExpertPool-Timestamp"],
        body=first.body,
        header=first.headers["X-ExpertPool-Signature"],
        now=int(first.headers["X-ExpertPool-Timestamp"]),
    )
    assert not events.verify(
        secrets["draws:read"],
        timestamp=first.headers["X-ExpertPool-Timestamp"],
        body=first.body + b" ",
        header=first.headers["X-ExpertPool-Signature"],
        now=int(first.headers["X-ExpertPool-Timestamp"]),
    )


def test_a_failed_delivery_is_retried_with_backoff_and_the_same_body(
    setup: Setup, receiver: Receiver
) -> None:
    _subscribe(setup, receiver, "projects:read")
    receiver.statuses = [500, 503]
    outcomes.end_project(
        setup.session,
        actor=setup.operator,
        project_id=setup.project_id,
        outcome="cancelled",
        reason="预算已经取消了",
        ctx=setup.notify_ctx,
        now=NOW,
    )
    assert _deliver(setup, now=NOW).retried == 1
    row = setup.session.execute(select(EventDelivery)).scalar_one()
    assert row.status is DeliveryStatus.PENDING and row.last_status_code == 500
    first_wait = row.next_attempt_at - NOW
    assert first_wait >= timedelta(seconds=2)
    # Not due yet: nothing is sent.
    assert _deliver(setup, now=NOW + timedelta(seconds=1)).claimed == 0
    later = row.next_attempt_at
    assert _deliver(setup, now=later).retried == 1
    row = setup.session.execute(select(EventDelivery)).scalar_one()
    assert row.next_attempt_at - later > first_wait / 2  # the pause grows
    assert _deliver(setup, now=row.next_attempt_at).delivered == 1
    assert len(receiver.received) == 3
    assert len({r.body for r in receiver.received}) == 1
    assert len({r.headers["X-ExpertPool-Event-Id"] for r in receiver.received}) == 1
    body = json.loads(receiver.received[0].body)
    assert body["type"] == "project.closed"
    assert body["data"]["outcome"] == "cancelled"
    row = setup.session.execute(select(EventDelivery)).scalar_one()
    assert row.status is DeliveryStatus.DELIVERED and row.attempts == 3


def test_a_worker_that_dies_mid_delivery_leaves_the_event_to_be_sent_again_unchanged(
    setup: Setup, receiver: Receiver
) -> None:
    _subscribe(setup, receiver, "projects:read")
    outcomes.end_project(
        setup.session,
        actor=setup.operator,
        project_id=setup.project_id,
        outcome="failed",
        failure_kind="too_few_bids",
        reason="投标人不足三家",
        ctx=setup.notify_ctx,
        now=NOW,
    )
    frozen = setup.session.execute(select(EventDelivery.body)).scalar_one()
    # The worker claims the row, then dies before storing any outcome.
    claimed = events._claim(setup.session, now=NOW, worker_id="dead", batch=10)
    assert len(claimed) == 1
    # Another worker leaves a live claim alone, and takes it over once the lease has run out.
    assert _deliver(setup, now=NOW + timedelta(seconds=5)).claimed == 0
    report = _deliver(setup, now=NOW + events.LEASE + timedelta(seconds=1))
    assert report.delivered == 1
    assert [r.body.decode() for r in receiver.received] == [frozen]
    assert json.loads(frozen)["data"]["failure_kind"] == "too_few_bids"


def test_a_change_rolled_back_emits_nothing(setup: Setup, receiver: Receiver) -> None:
    _subscribe(setup, receiver, "projects:read")
    session = setup.session
    events.emit(
        session,
        centre_id=setup.operator.centre_id,
        event_type="project.closed",
        data={"project_id": setup.project_id, "outcome": "cancelled"},
        now=NOW,
    )
    session.rollback()
    assert session.execute(select(EventDelivery)).first() is None


def test_an_event_may_not_carry_a_member_or_a_count(setup: Setup) -> None:
    from expertpool.core.errors import BrokenInvariant

    with pytest.raises(BrokenInvariant):
        events.emit(
            setup.session,
            centre_id=setup.operator.centre_id,
            event_type="panel.opened",
            data={"project_id": 1, "accepted": 5},
            now=NOW,
        )
    setup.session.rollback()


def test_another_centres_subscription_receives_nothing(
    setup: Setup, receiver: Receiver, make_user: Any
) -> None:
    other = make_user(role="centre_staff", centre="440300")
    events.subscribe(
        setup.session,
        user=other,
        token_scopes=None,
        client="sz",
        scope="projects:read",
        url=receiver.url,
        cipher=_cipher(setup.app),
        allow_http=True,
        now=NOW,
    )
    outcomes.end_project(
        setup.session,
        actor=setup.operator,
        project_id=setup.project_id,
        outcome="cancelled",
        reason="项目已经取消",
        ctx=setup.notify_ctx,
        now=NOW,
    )
    assert setup.session.execute(select(EventDelivery)).first() is None


def _token(client: Any, user: Any, scopes: list[str]) -> str:
    resp = client.post(
        "/api/v1/tokens",
        json={"username": user.username, "password": PASSWORD, "client": "gz", "scopes": scopes},
    )
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return str(resp.get_json()["token"])


def test_the_api_registers_lists_shows_deliveries_and_removes(
    setup: Setup, client: Any, receiver: Receiver, make_user: Any
) -> None:
    setup.app.extensions["expertpool"].config.__dict__["events_allow_http"] = True
    try:
        token = _token(client, setup.operator, ["events:subscribe", "projects:read"])
        auth = {"Authorization": f"Bearer {token}"}
        resp = client.post(
            "/api/v1/event-subscriptions",
            json={"scope": "projects:read", "url": receiver.url},
            headers=auth,
        )
        assert resp.status_code == 201, resp.get_data(as_text=True)
        created = resp.get_json()
        assert created["secret"].startswith("whsec_")
        assert created["event_types"] == ["project.closed"]
        # A scope the token does not hold is refused.
        resp = client.post(
            "/api/v1/event-subscriptions",
            json={"scope": "reports:read", "url": receiver.url},
            headers=auth,
        )
        assert resp.status_code == 403
        resp = client.post(
            "/api/v1/event-subscriptions",
            json={"scope": "projects:read", "url": "ftp://x"},
            headers=auth,
        )
        assert resp.status_code == 422 and "url" in resp.get_json()["fields"]
        listed = client.get("/api/v1/event-subscriptions", headers=auth).get_json()["items"]
        assert [s["id"] for s in listed] == [created["id"]]
        assert "secret" not in listed[0]
        outcomes.end_project(
            setup.session,
            actor=setup.operator,
            project_id=setup.project_id,
            outcome="cancelled",
            reason="项目已经取消",
            ctx=setup.notify_ctx,
            now=NOW,
        )
        _deliver(setup, now=NOW)
        items = client.get(
            f"/api/v1/event-subscriptions/{created['id']}/deliveries", headers=auth
        ).get_json()["items"]
        assert [(i["event_type"], i["status"]) for i in items] == [("project.closed", "delivered")]
        # Another centre sees nothing of it.
        other = make_user(role="centre_staff", centre="440300")
        other_auth = {"Authorization": f"Bearer {_token(client, other, ['events:subscribe'])}"}
        path = f"/api/v1/event-subscriptions/{created['id']}/deliveries"
        assert client.get(path, headers=other_auth).status_code == 404
        assert (
            client.delete(f"/api/v1/event-subscriptions/{created['id']}", headers=auth).status_code
            == 204
        )
        assert client.get("/api/v1/event-subscriptions", headers=auth).get_json()["items"] == []
    finally:
        setup.app.extensions["expertpool"].config.__dict__["events_allow_http"] = False


def test_the_page_registers_shows_the_secret_once_and_lists_deliveries(
    setup: Setup, client: Any
) -> None:
    from tests.conftest import csrf_token

    login_client(client, setup.operator)
    token = csrf_token(client, "/events/subscriptions")
    resp = client.post(
        "/events/subscriptions",
        data={"csrf_token": token, "scope": "sessions:read", "url": "http://insecure.example/x"},
    )
    assert resp.status_code == 422 and "https" in resp.get_data(as_text=True)
    resp = client.post(
        "/events/subscriptions",
        data={"csrf_token": token, "scope": "sessions:read", "url": "https://gz.example.cn/ev"},
    )
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert 'data-testid="secret"' in page and "whsec_" in page
    again = client.get("/events/subscriptions").get_data(as_text=True)
    assert "whsec_" not in again and "https://gz.example.cn/ev" in again
    sub = setup.session.execute(select(EventSubscription)).scalar_one()
    assert sub.secret_encrypted is not None and b"whsec_" not in sub.secret_encrypted
    assert client.get(f"/events/subscriptions/{sub.id}").status_code == 200
