"""Secondary venues picked at random and hidden (#19 items 1-2): a remote draw with two remote
groups gets two venues of other cities with enough free seats, recorded verifiably in the
ledger, hidden from main-venue staff (the operator included) until the opening, and every
message names the place where the expert sits."""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from draw import cjson
from expertpool.accounts.models import Centre
from expertpool.core.errors import ValidationFailed
from expertpool.draws import protocol as draws
from expertpool.draws import remote, sealing
from expertpool.draws.models import DrawGroup, DrawLedgerEntry, LedgerKind
from expertpool.notifications import invitations
from expertpool.notifications.models import InvitationRecord, InvitationState
from expertpool.projects import venues
from expertpool.projects.models import Project, Seat, SeatBooking
from tests.conftest import PASSWORD
from tests.integration.draws.conftest import EVALUATION, NOW, Setup, add_experts

pytestmark = pytest.mark.integration

GROUPS = [
    {"specialties": ["A01"], "count": 3, "backups": 1, "regions_in": ["440100"]},
    {"specialties": ["A01"], "count": 2, "backups": 1, "remote": True},
    {"specialties": ["A01"], "count": 2, "backups": 1, "remote": True},
]
CITIES = {"440300": "深圳副场", "440600": "佛山副场", "440400": "珠海副场"}


def _remote_project(setup: Setup) -> None:
    s = setup.session
    project = s.get(Project, setup.project_id)
    project.is_remote = True
    s.commit()
    venues.create_venue(s, actor="t", centre_code="440300", name="深圳副场", seats=4)
    venues.create_venue(s, actor="t", centre_code="440600", name="佛山副场", seats=4)
    # One seat only: never enough for a quota of two.
    venues.create_venue(s, actor="t", centre_code="440400", name="珠海副场", seats=1)
    add_experts(setup.app, 8, start=100, region="440100")
    for i, city in enumerate(CITIES):
        add_experts(setup.app, 5, start=200 + 10 * i, region=city)


def _pick_entry(setup: Setup, request_id: int) -> DrawLedgerEntry:
    found: DrawLedgerEntry = setup.session.execute(
        select(DrawLedgerEntry).where(
            DrawLedgerEntry.request_id == request_id, DrawLedgerEntry.kind == LedgerKind.PICK
        )
    ).scalar_one()
    return found


def test_two_secondary_venues_are_picked_hidden_and_revealed_at_the_opening(
    setup: Setup,
) -> None:
    _remote_project(setup)
    s = setup.session
    request_id = setup.request(groups=GROUPS)
    # The request's rows show opaque groups without their city.
    rows = s.execute(
        select(DrawGroup).where(DrawGroup.request_id == request_id).order_by(DrawGroup.position)
    ).scalars()
    assert [(g.group_key, g.regions_in) for g in rows] == [
        ("g1", ["440100"]),
        ("remote-1", []),
        ("remote-2", []),
    ]
    entry = _pick_entry(setup, request_id)
    payload = json.loads(entry.payload)
    for city, name in CITIES.items():
        assert city not in entry.payload and name not in entry.payload
    pick = remote.open_pick(_request(setup, request_id), setup.keys)
    assert pick is not None
    picked = [g["centre"] for g in pick["groups"]]
    assert len(set(picked)) == 2 and set(picked) <= {"440300", "440600"}  # 珠海 lacks seats
    assert payload["pick_digest"] == cjson.digest(pick)

    d = setup.prepare(request_id)
    for city in CITIES:
        assert city not in d.request_json
    # Main-venue staff, the operator included, see no count of the remote groups.
    seen = draws.draw_view(d, setup.keys, with_counts=True)
    eligible = {e["group"]: e["count"] for e in seen["commit"]["eligible"]}
    assert eligible["g1"] == 8 and eligible["remote-1"] is None and eligible["remote-2"] is None
    preview = draws.preview(s, request_id=request_id, config=setup.config, now=setup.clock.now)
    assert [g["group"] for g in preview.groups] == ["g1"]

    setup.witness(d.draw_id)
    d = setup.run(d.draw_id)
    result = sealing.open_result(d, setup.keys)
    venue_of = {g["group"]: g["name"] for g in pick["groups"]}
    for g in result.groups:
        for expert in (int(e) for e in g.primaries):
            invitation = _invitation(setup, d.draw_id, expert)
            where = venue_of.get(g.group, "广州评标室")
            assert invitation.venue.startswith(where), (g.group, invitation.venue)
            assert invitations.move(
                s, invitation, InvitationState.ACCEPTED, now=NOW, ctx=setup.notify_ctx, via="sms"
            )
            s.commit()
            booking = s.get(SeatBooking, _invitee_booking(setup, d, expert))
            assert s.get(Seat, booking.seat_id).venue.name == where
    assert s.get(Project, setup.project_id).secondary_venues == []

    # The opening reveals the pick in the ledger; the auditor recomputes it.
    setup.clock.now = EVALUATION - timedelta(minutes=10)
    host = setup.operator
    draws.open_draw(
        s,
        draw_id=d.draw_id,
        actor=host,
        supervisor_username=setup.supervisor.username,
        supervisor_password=PASSWORD,
        keys=setup.keys,
        now=setup.clock.now,
    )
    opened = s.execute(
        select(DrawLedgerEntry).where(
            DrawLedgerEntry.draw_id == d.draw_id, DrawLedgerEntry.kind == LedgerKind.OPENED
        )
    ).scalar_one()
    revealed = json.loads(opened.payload)["remote_pick"]
    assert revealed == pick
    assert (
        remote.verify_pick(
            revealed, pick_digest=payload["pick_digest"], nonce_digest=payload["nonce_digest"]
        )
        == []
    )
    tampered = {**revealed, "groups": list(reversed(revealed["groups"]))}
    assert remote.verify_pick(
        tampered, pick_digest=payload["pick_digest"], nonce_digest=payload["nonce_digest"]
    )
    # The sealed copy in the ledger is the same document.
    sealed_copy = sealing.open_value(
        setup.keys.sealing_key(),
        f"request-{request_id}",
        "remote-ledger",
        base64.b64decode(payload["pick_enc"]),
    )
    assert json.loads(sealed_copy) == pick
    s.expire_all()
    assert sorted(c.region_code for c in s.get(Project, setup.project_id).secondary_centres) == (
        sorted(picked)
    )
    after = draws.draw_view(draws.get_draw(s, d.draw_id), setup.keys, with_counts=True)
    assert all(e["count"] is not None for e in after["commit"]["eligible"])


def _request(setup: Setup, request_id: int) -> Any:
    from expertpool.draws.models import DrawRequestRecord

    return setup.session.get(DrawRequestRecord, request_id)


def _invitation(setup: Setup, draw_id: str, expert_id: int) -> InvitationRecord:
    from expertpool.core.tokens import ExpertTokens

    token = ExpertTokens(setup.keys).token(expert_id)
    found: InvitationRecord = setup.session.execute(
        select(InvitationRecord).where(
            InvitationRecord.draw_id == draw_id, InvitationRecord.expert_token == token
        )
    ).scalar_one()
    return found


def _invitee_booking(setup: Setup, d: Any, expert_id: int) -> int:
    from expertpool.core.tokens import ExpertTokens

    token = ExpertTokens(setup.keys).token(expert_id)
    setup.session.refresh(d)
    booking = next(i.seat_booking_id for i in d.invitees if i.expert_token == token)
    assert booking is not None
    return int(booking)


def test_a_quota_no_venue_can_seat_is_refused_and_saves_nothing(setup: Setup) -> None:
    _remote_project(setup)
    too_many = [GROUPS[0], {**GROUPS[1], "count": 6}]  # no venue has six free seats
    with pytest.raises(ValidationFailed) as caught:
        setup.request(groups=too_many)
    assert "groups" in caught.value.fields
    assert setup.session.execute(select(DrawLedgerEntry)).first() is None


def test_remote_groups_need_a_remote_project_and_the_hidden_pick_setting(
    setup: Setup, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        setup.request(groups=GROUPS)
    assert "groups" in caught.value.fields
    _remote_project(setup)
    st = app.extensions["expertpool"]
    monkeypatch.setattr(
        st, "config", dataclasses.replace(st.config, remote_hide_secondary_venue=False)
    )
    with pytest.raises(ValidationFailed) as caught:
        setup.request(groups=GROUPS)
    assert "groups" in caught.value.fields
    sz = setup.session.execute(select(Centre).where(Centre.region_code == "440300")).scalar_one()
    assert sz is not None


def test_a_venue_host_sees_the_free_seats_of_their_own_centre_only(
    setup: Setup, app: Flask, make_user: Any
) -> None:
    from tests.conftest import login_client

    _remote_project(setup)
    s = setup.session
    sz = venues.list_venues(
        s,
        centre_id=s.execute(select(Centre.id).where(Centre.region_code == "440300")).scalar_one(),
    )[0]
    token = "f" * 32
    venues.book_seats(
        s,
        [venues.BookingWish(sz.seats[0].id, token, EVALUATION, EVALUATION + timedelta(hours=2))],
    )
    s.commit()
    host = app.test_client()
    login_client(host, make_user(role="centre_staff", centre="440300"))
    at = f"{EVALUATION:%Y-%m-%dT%H:%M}"
    page = host.get(f"/venues/availability?at={at}&hours=4")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "深圳副场" in body and "佛山副场" not in body and "珠海副场" not in body
    assert "<td>4</td><td>3</td>" in body  # four seats, one booked over the window
    later = host.get(f"/venues/availability?at={EVALUATION + timedelta(hours=3):%Y-%m-%dT%H:%M}")
    assert "<td>4</td><td>4</td>" in later.get_data(as_text=True)
    bad = host.get("/venues/availability?at=tomorrow&hours=99")
    assert bad.status_code == 422


def test_a_supplementary_draw_for_a_secondary_venue_keeps_its_city_and_venue(
    setup: Setup,
) -> None:
    from expertpool.draws import panels
    from expertpool.draws.models import DrawRequestRecord, InviteeStatus

    _remote_project(setup)
    s = setup.session
    groups = [
        {"specialties": ["A01"], "count": 1, "backups": 0, "remote": True},
        {"specialties": ["A01"], "count": 4, "backups": 1, "regions_in": ["440100"]},
    ]
    d = setup.full_draw(groups=groups)
    parent = _request(setup, d.request_id)
    pick = remote.open_pick(parent, setup.keys)
    assert pick is not None
    city = pick["groups"][0]["centre"]
    (primary,) = sealing.open_result(d, setup.keys).group("remote-1").primaries
    panels.record_answer(
        s,
        draw_id=d.draw_id,
        expert_id=int(primary),
        answer=InviteeStatus.DECLINED.value,
        ctx=setup.notify_ctx,
        now=NOW,
    )
    child = s.execute(
        select(DrawRequestRecord).where(DrawRequestRecord.parent_id == parent.id)
    ).scalar_one()
    assert [(g.group_key, g.regions_in) for g in child.groups] == [("remote-1", [])]
    assert remote.venue_of_group(child, setup.keys, "remote-1") == pick["groups"][0]["venue_id"]
    again = setup.prepare(child.id)
    request = sealing.open_request(again, setup.keys)
    assert request["groups"][0]["regions_in"] == [city]
    assert city not in again.request_json


def test_the_request_form_marks_a_group_as_a_secondary_venues_and_shows_it_opaque(
    setup: Setup, app: Flask
) -> None:
    from expertpool.projects import terminals
    from tests.conftest import csrf_token, login_client

    _remote_project(setup)
    client = app.test_client()
    login_client(client, setup.operator)
    client.set_cookie(terminals.COOKIE, setup.terminal_token)
    form_url = f"/projects/{setup.project_id}/draw-requests/new"
    assert 'data-testid="group-remote"' in client.get(form_url).get_data(as_text=True)
    resp = client.post(
        form_url,
        data={
            "group0_specialties": "A01",
            "group0_count": "4",
            "group0_regions_in": "440100",
            "group1_specialties": "A01",
            "group1_count": "1",
            "group1_remote": "1",
            "csrf_token": csrf_token(client, form_url),
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "副场1" in page and not any(name in page for name in CITIES.values())
    assert not any(f"<td>{city}</td>" in page for city in CITIES)
    project_page = client.get(f"/projects/{setup.project_id}").get_data(as_text=True)
    assert 'data-testid="secondary-hidden"' in project_page
