"""The draw protocol on the real database: snapshot, preview, commit, witnesses, seal, open."""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import draw
from expertpool.core.errors import Conflict, Forbidden, ValidationFailed
from expertpool.core.tokens import ExpertTokens
from expertpool.draws import ledger as draw_ledger
from expertpool.draws import panels, sealing
from expertpool.draws import protocol as draws
from expertpool.draws.models import (
    Draw,
    DrawInvitee,
    DrawRequestRecord,
    DrawRequestStatus,
    DrawStatus,
    InviteeStatus,
    LedgerKind,
)
from expertpool.draws.snapshot import SnapshotWindow, build_candidates
from expertpool.experts.models import ExpertAvoidance, ExpertEmployment, ExpertLeave
from expertpool.projects import venues
from expertpool.projects.models import ProjectStatus, SeatBooking
from tests.conftest import PASSWORD
from tests.integration.draws.conftest import (
    BIDDERS,
    EVALUATION,
    NOW,
    Setup,
    add_experts,
    project_of,
)

pytestmark = pytest.mark.integration


def _window(s: Setup) -> SnapshotWindow:
    return SnapshotWindow(
        starts_at=EVALUATION,
        ends_at=EVALUATION + timedelta(hours=4),
        now_at=NOW,
        lookback_years=3,
        frequency_window_days=90,
    )


def test_the_snapshot_marks_leave_bookings_conflicts_and_recent_draws(setup: Setup) -> None:
    ids = add_experts(setup.app, 6)
    s = setup.session
    s.add(ExpertLeave(expert_id=ids[0], start_on=date(2026, 6, 5), end_on=date(2026, 6, 5)))
    s.add(
        ExpertLeave(expert_id=ids[1], start_on=date(2026, 6, 6), end_on=date(2026, 6, 9))
    )  # after the window
    s.add(
        ExpertEmployment(
            expert_id=ids[2],
            org_code=BIDDERS[0],
            org_name="x",
            start_on=date(2020, 1, 1),
            end_on=date(2024, 1, 1),
        )
    )  # inside three years
    s.add(
        ExpertEmployment(
            expert_id=ids[3],
            org_code=BIDDERS[1],
            org_name="x",
            start_on=date(2010, 1, 1),
            end_on=date(2022, 1, 1),
        )
    )  # outside
    s.add(ExpertAvoidance(expert_id=ids[4], org_code=BIDDERS[1], org_name="x", kind="relative"))
    s.commit()
    seat = venues.free_seats(
        s, venues.list_venues(s)[0].id, EVALUATION, EVALUATION + timedelta(hours=1)
    )[0]
    venues.book_seats(
        s,
        [
            venues.BookingWish(
                seat.id,
                ExpertTokens(setup.keys).token(ids[5]),
                EVALUATION + timedelta(hours=3),
                EVALUATION + timedelta(hours=6),
            )
        ],
    )
    s.commit()
    pool = {c.id: c for c in build_candidates(s, _window(setup), tokens=ExpertTokens(setup.keys))}
    assert [pool[str(i)].available for i in ids] == [False, True, True, True, True, False]
    assert pool[str(ids[2])].avoid_orgs == (BIDDERS[0],)  # the former employer, and only it
    assert BIDDERS[1] not in pool[str(ids[3])].avoid_orgs
    assert BIDDERS[1] in pool[str(ids[4])].avoid_orgs
    assert {c.recent_draws for c in pool.values()} == {0}
    assert pool[str(ids[0])].specialties == ("A0101",) and pool[str(ids[0])].region == "440300"


def test_the_preview_counts_per_group_and_reason_without_names(setup: Setup) -> None:
    add_experts(setup.app, 8)
    add_experts(setup.app, 2, start=100, employer=lambda n: BIDDERS[0])
    rid = setup.request(groups=[{"specialties": ["A01"], "count": 7, "backups": 3}])
    p = draws.preview(setup.session, request_id=rid, config=setup.config, now=NOW)
    assert (p.candidates, p.excluded["employer_conflict"], p.groups[0]["eligible"]) == (10, 2, 8)
    assert p.is_feasible and "fewer backups" in p.warnings[0]
    rid2 = setup.request(groups=[{"specialties": ["A01"], "count": 9, "backups": 0}])
    p2 = draws.preview(setup.session, request_id=rid2, config=setup.config, now=NOW)
    assert not p2.is_feasible
    assert p2.problems[0] == "group g1 needs 9 experts but only 8 are eligible"
    assert "测试专家" not in json.dumps(p2.__dict__, ensure_ascii=False)


def test_a_whole_draw_commits_seals_invites_in_rank_order_and_opens(setup: Setup) -> None:
    add_experts(setup.app, 12)
    d = setup.prepare(setup.request())
    assert d.status is DrawStatus.COMMITTED and len(draws.commit_digest(d)) == 64
    secret = sealing.open_secret(d, setup.keys)
    assert b"secret" not in d.secret_enc and secret.encode() not in d.commit_enc
    # Stored sealed: the snapshot, the commitment and its counts read only with the key files.
    commit = sealing.open_commit(d, setup.keys)
    assert draw.canonical_digest(commit) == d.commit_digest
    assert b"eligible" not in d.commit_enc
    with pytest.raises(zlib.error):  # sealed, not a bare zlib stream of the candidates
        zlib.decompress(d.snapshot)
    setup.witness(d.draw_id)
    d = setup.run(d.draw_id)
    assert d.status is DrawStatus.SEALED, d.reason
    assert project_of(setup).status is ProjectStatus.DRAWN
    kinds = [e.kind for e in draw_ledger.entries_for(setup.session, d.draw_id)]
    assert kinds == [LedgerKind.COMMIT, LedgerKind.SEALED]
    sealed = sealing.open_sealed(d, setup.keys)
    assert draw.verify_sealed(sealed, d.public_key, d.commit_signature, d.sealed_signature) == []
    result = sealing.open_result(d, setup.keys)
    invitees = (
        setup.session.execute(
            select(DrawInvitee).where(DrawInvitee.draw_pk == d.id).order_by(DrawInvitee.id)
        )
        .scalars()
        .all()
    )
    tokens = ExpertTokens(setup.keys)
    assert [i.expert_token for i in invitees] == [
        tokens.token(e) for e in result.groups[0].primaries
    ]
    assert draws.progress(d) == [{"group": "g1", "seats": 5, "accepted": 0, "invited": 5}]
    from expertpool.notifications.models import InvitationRecord

    queued = (
        setup.session.execute(
            select(InvitationRecord)
            .where(InvitationRecord.draw_id == d.draw_id)
            .order_by(InvitationRecord.rank)
        )
        .scalars()
        .all()
    )
    assert [(i.expert_token, i.rank) for i in queued] == [
        (tokens.token(e), n) for n, e in enumerate(result.groups[0].primaries)
    ]
    with pytest.raises(Forbidden):
        panels.panel(setup.session, draw_id=d.draw_id, viewer=setup.supervisor, keys=setup.keys)
    setup.clock.now = EVALUATION - timedelta(minutes=10)
    draws.open_draw(
        setup.session,
        draw_id=d.draw_id,
        actor=setup.operator,
        supervisor_username=setup.supervisor.username,
        supervisor_password=PASSWORD,
        keys=setup.keys,
        now=setup.clock.now,
    )
    rows = panels.panel(setup.session, draw_id=d.draw_id, viewer=setup.supervisor, keys=setup.keys)
    assert len(rows) == 5 and all(r["name"].startswith("测试专家") for r in rows)
    assert draw_ledger.verify_ledger(setup.session) == []


def test_an_exported_transcript_verifies_offline_and_a_tampered_one_fails(
    setup: Setup, tmp_path: Path
) -> None:
    add_experts(setup.app, 9)
    d = setup.full_draw()
    with pytest.raises(Conflict):
        draws.transcript(setup.session, draw_id=d.draw_id, actor="auditor", keys=setup.keys)
    setup.clock.now = EVALUATION
    draws.open_draw(
        setup.session,
        draw_id=d.draw_id,
        actor=setup.operator,
        supervisor_username=setup.supervisor.username,
        supervisor_password=PASSWORD,
        keys=setup.keys,
        now=setup.clock.now,
    )
    doc = draws.transcript(setup.session, draw_id=d.draw_id, actor="auditor", keys=setup.keys)
    path = tmp_path / "t.json"
    path.write_bytes(draw.canonical_json(doc))
    key = setup.keys.draw_public_keys()[d.key_id]
    ok = subprocess.run(
        [sys.executable, "-m", "draw", "verify", str(path), "--public-key", key],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0 and ok.stdout.startswith("OK"), ok.stdout + ok.stderr
    doc["witnesses"][0] = "999999"
    path.write_bytes(draw.canonical_json(doc))
    bad = subprocess.run(
        [sys.executable, "-m", "draw", "verify", str(path), "--public-key", key],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1


def test_witness_digits_must_be_six_to_sixty_four_digits_and_differ(setup: Setup) -> None:
    add_experts(setup.app, 9)
    d = setup.prepare(setup.request())
    for digits in ("12345", "12a456", "1" * 65, ""):
        with pytest.raises(ValidationFailed):
            draws.witness_operator(
                setup.session,
                draw_id=d.draw_id,
                actor=setup.operator,
                terminal=setup.terminal,
                digits=digits,
                now=NOW,
            )
    draws.witness_operator(
        setup.session,
        draw_id=d.draw_id,
        actor=setup.operator,
        terminal=setup.terminal,
        digits="123456",
        now=NOW,
    )
    with pytest.raises(ValidationFailed):
        draws.witness_supervisor(
            setup.session,
            draw_id=d.draw_id,
            terminal=setup.terminal,
            username=setup.supervisor.username,
            password=PASSWORD,
            digits="123456",
            now=NOW,
        )


def test_a_supervisor_with_a_wrong_password_or_the_operator_is_refused(
    setup: Setup, make_user: Any
) -> None:
    add_experts(setup.app, 9)
    d = setup.prepare(setup.request())
    with pytest.raises(Forbidden) as err:
        draws.witness_supervisor(
            setup.session,
            draw_id=d.draw_id,
            terminal=setup.terminal,
            username=setup.supervisor.username,
            password="wrong",
            digits="654321",
            now=NOW,
        )
    assert err.value.code == "supervisor_refused"
    with pytest.raises(Forbidden) as err:
        draws.witness_supervisor(
            setup.session,
            draw_id=d.draw_id,
            terminal=setup.terminal,
            username=setup.operator.username,
            password=PASSWORD,
            digits="654321",
            now=NOW,
        )
    assert err.value.code == "supervisor_refused"
    other_staff = make_user(role="centre_staff", centre="440100")
    with pytest.raises(Forbidden) as err:
        draws.witness_supervisor(
            setup.session,
            draw_id=d.draw_id,
            terminal=setup.terminal,
            username=other_staff.username,
            password=PASSWORD,
            digits="654321",
            now=NOW,
        )
    assert err.value.code == "supervisor_refused"
    assert setup.session.get(Draw, d.id).supervisor_digits is None


def test_drawing_before_the_witnesses_and_reusing_a_commitment_are_refused(setup: Setup) -> None:
    add_experts(setup.app, 9)
    rid = setup.request()
    d = setup.prepare(rid)
    with pytest.raises(Conflict) as err:
        setup.run(d.draw_id)
    assert err.value.code == "witnesses_missing"
    setup.witness(d.draw_id)
    setup.run(d.draw_id)
    with pytest.raises(Conflict) as err:
        setup.run(d.draw_id)
    assert err.value.code == "commitment_reused"
    with pytest.raises(Conflict) as err:
        setup.prepare(rid)
    assert err.value.code in ("request_used", "project_not_ready")
    with pytest.raises(Conflict):
        draws.witness_operator(
            setup.session,
            draw_id=d.draw_id,
            actor=setup.operator,
            terminal=setup.terminal,
            digits="111111",
            now=NOW,
        )


def test_a_draw_from_another_centres_terminal_is_refused(setup: Setup) -> None:
    from expertpool.projects import terminals

    add_experts(setup.app, 9)
    rid = setup.request()
    _token, foreign = terminals.register_terminal(
        setup.session, actor="t", centre_code="440300", name="深圳终端"
    )
    with pytest.raises(Forbidden) as err:
        draws.prepare_draw(
            setup.session,
            actor=setup.operator,
            terminal=foreign,
            request_id=rid,
            keys=setup.keys,
            config=setup.config,
            now=NOW,
        )
    assert err.value.code == "terminal_other_centre"
    assert draws.draw_for_request(setup.session, rid) is None


def test_an_insufficient_pool_is_refused_with_numbers_and_nothing_committed(setup: Setup) -> None:
    add_experts(setup.app, 4)
    rid = setup.request()
    with pytest.raises(Conflict) as err:
        setup.prepare(rid)
    assert (
        err.value.code == "insufficient_pool"
        and "needs 5" in err.value.message
        and "only 4" in err.value.message
    )
    assert draws.draw_for_request(setup.session, rid) is None
    assert setup.session.get(DrawRequestRecord, rid).status is DrawRequestStatus.FAILED


def test_an_infeasible_draw_fails_and_stays_in_the_ledger_with_its_reason(setup: Setup) -> None:
    add_experts(setup.app, 9, employer=lambda n: f"ORG{n % 3}")  # nine experts, three employers
    d = setup.full_draw(distinct_employers=True)
    assert d.status is DrawStatus.FAILED and d.reason.startswith("infeasible")
    entries = draw_ledger.entries_for(setup.session, d.draw_id)
    assert [e.kind for e in entries] == [LedgerKind.COMMIT, LedgerKind.FAILED]
    assert "3 employers" in json.loads(entries[1].payload)["reason"]


def test_a_snapshot_changed_after_the_commitment_makes_the_draw_fail(setup: Setup) -> None:
    add_experts(setup.app, 9)
    d = setup.prepare(setup.request())
    pool = [c.to_json() for c in draws.load_snapshot(d, setup.keys)]
    pool[0]["employer"] = ""
    raw = __import__("zlib").compress(draw.canonical_json(pool))
    d.snapshot = sealing.seal_record(d, setup.keys, "snapshot", raw)
    setup.session.commit()
    setup.witness(d.draw_id)
    d = setup.run(d.draw_id)
    assert d.status is DrawStatus.FAILED and "pool_digest" in d.reason


def test_a_draw_too_early_is_refused(setup: Setup) -> None:
    add_experts(setup.app, 9)
    rid = setup.request()
    setup.clock.now = NOW - timedelta(days=7)
    with pytest.raises(ValidationFailed) as err:
        setup.prepare(rid)
    assert "too early" in err.value.fields["evaluation_start"]


def test_an_abandoned_commitment_stays_in_the_ledger(setup: Setup) -> None:
    add_experts(setup.app, 9)
    d = setup.prepare(setup.request())
    draws.abandon_draw(
        setup.session, draw_id=d.draw_id, actor=setup.operator, reason="停电", now=NOW
    )
    entries = draw_ledger.entries_for(setup.session, d.draw_id)
    assert [e.kind for e in entries] == [LedgerKind.COMMIT, LedgerKind.ABANDONED]
    assert json.loads(entries[1].payload)["reason"] == "停电"
    with pytest.raises(Conflict):
        setup.witness(d.draw_id)


def test_a_decline_invites_the_next_backup_and_exhaustion_requests_a_supplement(
    setup: Setup,
) -> None:
    add_experts(setup.app, 7)
    d = setup.full_draw(groups=[{"specialties": ["A01"], "count": 5, "backups": 1}])
    result = sealing.open_result(d, setup.keys)
    primary = int(result.groups[0].primaries[0])
    backup = int(result.groups[0].backups[0])
    new = panels.record_answer(
        setup.session,
        draw_id=d.draw_id,
        expert_id=primary,
        answer="declined",
        ctx=setup.notify_ctx,
        now=NOW,
    )
    tokens = ExpertTokens(setup.keys)
    assert new is not None and new.expert_token == tokens.token(backup) and not new.is_primary
    again = panels.record_answer(
        setup.session,
        draw_id=d.draw_id,
        expert_id=backup,
        answer="no_response",
        ctx=setup.notify_ctx,
        now=NOW,
    )
    assert again is None
    child = setup.session.execute(
        select(DrawRequestRecord).where(DrawRequestRecord.parent_id == d.request_id)
    ).scalar_one()
    assert (child.expert_count, child.groups[0].count, child.status) == (
        1,
        1,
        DrawRequestStatus.VALIDATED,
    )
    add_experts(setup.app, 3, start=50)
    c = setup.prepare(child.id)
    request_doc = sealing.open_request(c, setup.keys)
    # The clear column names nobody: the excluded (already invited) experts are sealed.
    assert "excluded_experts" not in json.loads(c.request_json)
    assert {str(primary), str(backup)} <= set(request_doc["excluded_experts"])
    setup.witness(c.draw_id, "111111", "222222")
    c = setup.run(c.draw_id)
    assert c.status is DrawStatus.SEALED and c.draw_id != d.draw_id


def test_acceptance_books_a_seat_and_an_expert_booked_meanwhile_is_replaced(setup: Setup) -> None:
    add_experts(setup.app, 8)
    d = setup.full_draw(groups=[{"specialties": ["A01"], "count": 5, "backups": 3}])
    result = sealing.open_result(d, setup.keys)
    first, second = (int(e) for e in result.groups[0].primaries[:2])
    inv = panels.record_answer(
        setup.session,
        draw_id=d.draw_id,
        expert_id=first,
        answer="accepted",
        ctx=setup.notify_ctx,
        now=NOW,
    )
    assert inv is not None and inv.status is InviteeStatus.ACCEPTED
    booking = setup.session.get(SeatBooking, inv.seat_booking_id)
    tokens = ExpertTokens(setup.keys)
    assert booking.expert_token == tokens.token(first) and booking.draw_id == d.draw_id
    # The second primary is booked elsewhere meanwhile: accepting closes it and calls a backup.
    s = setup.session
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
    closed = panels.record_answer(
        s, draw_id=d.draw_id, expert_id=second, answer="accepted", ctx=setup.notify_ctx, now=NOW
    )
    assert closed is not None and closed.status is InviteeStatus.UNAVAILABLE
    invited = (
        s.execute(select(DrawInvitee.expert_token).where(DrawInvitee.draw_pk == d.id))
        .scalars()
        .all()
    )
    assert tokens.token(result.groups[0].backups[0]) in invited
