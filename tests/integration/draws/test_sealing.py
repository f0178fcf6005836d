"""The draw's own sealing: tokens in the rows, counts for the operator and witness only, a preview
no sealed draw moves, and a transcript that waits for every draw that shaped it."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text

import draw
from expertpool.core.errors import Conflict
from expertpool.core.models import AuditEntry
from expertpool.core.tokens import ExpertTokens
from expertpool.draws import panels, sealing
from expertpool.draws import protocol as draws
from expertpool.draws.models import Draw
from expertpool.projects import projects
from tests.conftest import PASSWORD
from tests.integration.draws.conftest import (
    BIDDERS,
    EVALUATION,
    NOW,
    Setup,
    add_experts,
    make_setup,
)

pytestmark = pytest.mark.integration

LINK_TABLES = ("draw_invitee", "seat_booking", "invitation")


def _accept_all(setup: Setup, d: Draw) -> list[int]:
    result = sealing.open_result(d, setup.keys)
    primaries = [int(e) for e in result.groups[0].primaries]
    for expert in primaries:
        panels.record_answer(
            setup.session,
            draw_id=d.draw_id,
            expert_id=expert,
            answer="accepted",
            ctx=setup.notify_ctx,
            now=NOW,
        )
    return primaries


def _open(setup: Setup, d: Draw) -> None:
    setup.clock.now = EVALUATION
    draws.open_draw(
        setup.session,
        draw_id=d.draw_id,
        actor=setup.operator,
        supervisor_username=setup.supervisor.username,
        supervisor_password=PASSWORD,
        keys=setup.keys,
        now=EVALUATION,
    )


def test_invitee_booking_and_invitation_rows_name_experts_by_token_only(setup: Setup) -> None:
    add_experts(setup.app, 9, start=700)
    before = setup.session.execute(select(AuditEntry.seq)).scalars().all()
    d = setup.full_draw()
    drawn = _accept_all(setup, d)
    session = setup.session
    tokens = ExpertTokens(setup.keys)
    for table in LINK_TABLES:
        columns = set(session.execute(text(f"SELECT * FROM {table} LIMIT 0")).keys())
        assert "expert_id" not in columns and "expert_token" in columns, table
        stored = set(session.execute(text(f"SELECT expert_token FROM {table}")).scalars())
        assert {tokens.token(e) for e in drawn} <= stored, table
    # The audit entries of the draw name its experts by the draw's pseudonyms, never by id.
    new = session.execute(select(AuditEntry).where(AuditEntry.seq > max(before))).scalars().all()
    texts = [e.before + e.after for e in new]
    assert not any('"expert_id"' in t for t in texts)
    assert any(tokens.pseudonym(d.draw_id, drawn[0]) in t for t in texts)
    # The draw's own records are sealed: no count, digest list or candidate is readable in clear.
    assert b"eligible" not in d.commit_enc and b"candidates" not in d.snapshot


def test_the_preview_stays_the_same_whatever_a_sealed_draw_booked_or_invited(
    setup: Setup,
) -> None:
    add_experts(setup.app, 12)
    later = setup.request(groups=[{"specialties": ["A01"], "count": 5, "backups": 3}])
    before = draws.preview(setup.session, request_id=later, config=setup.config, now=NOW)
    d = setup.full_draw()
    _accept_all(setup, d)
    after = draws.preview(setup.session, request_id=later, config=setup.config, now=NOW)
    assert after == before
    # Bookings, recent invitations and this project's invitees never enter a preview's counts.
    assert all(after.excluded.get(k, 0) == 0 for k in ("unavailable", "excluded", "frequency_cap"))


def test_only_the_operator_and_the_witness_see_the_counts_and_the_sealed_record(
    setup: Setup, make_user: Callable[..., Any], login: Callable[..., Any]
) -> None:
    add_experts(setup.app, 9)
    d = setup.full_draw()
    commit = sealing.open_commit(d, setup.keys)
    counts = f'"count": {commit["eligible"][0]["count"]}'
    witness = login(setup.app.test_client(), setup.supervisor)
    other = login(setup.app.test_client(), make_user(role="supervisor"))
    staff = login(setup.app.test_client(), make_user(role="centre_staff", centre="440300"))
    seen = html.unescape(witness.get(f"/draws/{d.draw_id}").get_data(as_text=True))
    assert 'data-testid="sealed-record"' in seen and counts in seen
    assert staff.get(f"/draws/{d.draw_id}").status_code == 403  # another centre's draw
    for client in (other,):
        page = client.get(f"/draws/{d.draw_id}")
        body = html.unescape(page.get_data(as_text=True))
        assert page.status_code == 200 and d.commit_digest in body
        assert 'data-testid="sealed-record"' not in body and counts not in body
        assert 'data-testid="progress"' not in body


def test_a_refused_prepare_is_a_ledger_entry_whose_numbers_are_sealed(setup: Setup) -> None:
    from expertpool.draws import ledger as draw_ledger
    from expertpool.draws.models import DrawLedgerEntry, LedgerKind

    add_experts(setup.app, 3)
    rid = setup.request(groups=[{"specialties": ["A01"], "count": 5, "backups": 0}])
    with pytest.raises(Conflict) as refused:
        setup.prepare(rid)
    assert refused.value.code == "insufficient_pool" and "3" in refused.value.message
    entry = setup.session.execute(
        select(DrawLedgerEntry).where(DrawLedgerEntry.kind == LedgerKind.REFUSED)
    ).scalar_one()
    payload = json.loads(entry.payload)
    assert payload["code"] == "insufficient_pool" and "eligible" not in entry.payload
    assert draw_ledger.verify_ledger(setup.session) == []


def test_a_transcript_waits_until_every_draw_that_shaped_it_is_closed(
    app: Flask, make_user: Callable[..., Any]
) -> None:
    first = make_setup(app, make_user)
    add_experts(app, 12)
    a = first.full_draw()
    _accept_all(first, a)  # these experts are now booked for the evaluation window
    second = make_setup(app, make_user, project_code="GZ-2026-777")
    b = second.full_draw()
    assert b.status.value == "sealed"
    _open(first, a)
    _open(second, b)
    with pytest.raises(Conflict) as withheld:
        draws.transcript(second.session, draw_id=b.draw_id, actor="test", keys=second.keys)
    assert withheld.value.code == "transcript_withheld"
    projects.mark_awarded(
        first.session,
        actor="test",
        project_id=first.project_id,
        awarded_on=EVALUATION.date().isoformat(),
        winner_code=BIDDERS[0],
        now=EVALUATION,
    )
    doc = draws.transcript(second.session, draw_id=b.draw_id, actor="test", keys=second.keys)
    assert draw.verify_transcript(doc) == []
    booked = [c for c in doc["candidates"] if not c["available"]]
    assert len(booked) == 5  # the transcript now shows what the first draw booked


def test_at_opening_the_supervisors_check_the_panel_against_the_sealed_record(
    setup: Setup, login: Callable[..., Any]
) -> None:
    from tests.integration.draws.conftest import expert_name

    ids = add_experts(setup.app, 9)
    d = setup.full_draw()
    result = sealing.open_result(d, setup.keys)
    _open(setup, d)
    page = login(setup.app.test_client(), setup.supervisor).get(f"/draws/{d.draw_id}/panel")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-testid="opened-check"' in body
    check = draws.opened_check(setup.session, draws.get_draw(setup.session, d.draw_id), setup.keys)
    assert check["matches"] and check["result_digest"] in body
    number = {expert_id: n for n, expert_id in enumerate(ids, start=1)}
    drawn = [expert_name(number[int(e)]) for e in result.groups[0].primaries]
    assert check["groups"][0]["primaries"] == drawn and "、".join(drawn) in body


def test_after_the_award_the_contact_record_maps_the_audit_pseudonyms_to_the_experts(
    setup: Setup,
) -> None:
    from expertpool.draws import contact_record

    add_experts(setup.app, 9)
    d = setup.full_draw()
    drawn = _accept_all(setup, d)
    _open(setup, d)
    projects.mark_awarded(
        setup.session,
        actor="test",
        project_id=setup.project_id,
        awarded_on=EVALUATION.date().isoformat(),
        winner_code=BIDDERS[0],
        now=EVALUATION,
    )
    record = contact_record.draw_contact_record(
        setup.session, d.draw_id, ctx=setup.notify_ctx, actor="auditor"
    )
    named = {i.pseudonym: i.expert_id for i in record.invitees}
    queued = [
        json.loads(e.after)["expert"]
        for e in setup.session.execute(
            select(AuditEntry).where(AuditEntry.action == "invitation.queued")
        ).scalars()
    ]
    assert sorted(named[p] for p in queued) == sorted(drawn)
